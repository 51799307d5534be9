// Small statistics for the report: medians, and verdicts on how time and memory grow with input size.

export function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** Least-squares slope of log(y) against log(x): 1 means y ∝ x, 0 means constant. */
export function logLogSlope(points) {
  const pts = points.filter((p) => p.x > 0 && p.y > 0);
  if (pts.length < 2) return null;
  const xs = pts.map((p) => Math.log(p.x));
  const ys = pts.map((p) => Math.log(p.y));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? null : num / den;
}

/**
 * How a cost grows with x (records, files), from points sorted by x. The cost at the smallest x is the fixed
 * part (process start-up, imports, a baseline heap); the rest is what the input adds. The verdict is read on
 * the added part over the points where it is large enough to measure (≥ `minSignal` and ≥ 25% of the fixed
 * part) — smaller differences are within run-to-run noise — from the log-log slope and the ratio over the last decade:
 * - time: linear when the slope is within 0.85–1.15 (and the last 10x multiplies the added time by 7–13);
 * - memory: bounded when the last decade adds less than `flatBelow` (in the cost's unit).
 * @param {{ x: number, y: number|null }[]} points
 */
export function growthVerdict(points, { kind, minSignal, flatBelow = 0 }) {
  const pts = points.filter((p) => typeof p.y === 'number' && Number.isFinite(p.y)).sort((a, b) => a.x - b.x);
  if (pts.length < 3) return { verdict: 'not enough points', slope: null, perDecade: [] };
  const base = pts[0].y;
  const added = pts.map((p) => ({ x: p.x, y: p.y - base }));
  const perDecade = [];
  for (let i = 1; i < pts.length; i++) {
    const a = added[i - 1];
    const b = added[i];
    perDecade.push({
      from: a.x,
      to: b.x,
      factor: b.x / a.x,
      addedFrom: a.y,
      addedTo: b.y,
      ratio: a.y > 0 ? b.y / a.y : null,
    });
  }
  const threshold = Math.max(minSignal, Math.abs(base) * 0.25);
  // Points whose added cost is small next to the largest one carry mostly noise on a shared machine; the
  // shape is read where the input dominates.
  const largestAdded = Math.max(...added.map((p) => p.y));
  const significant = added.filter((p) => p.y >= threshold && p.y >= largestAdded * 0.1);
  const last = added[added.length - 1];
  const prev = added[added.length - 2];
  if (kind === 'memory') {
    const lastStep = last.y - Math.max(prev.y, 0);
    if (last.y < flatBelow || lastStep < flatBelow) {
      return { verdict: 'bounded (flat)', slope: logLogSlope(significant), perDecade, base, added: last.y };
    }
  }
  if (significant.length < 2 && last.y >= threshold && prev.y > 0) {
    // one point clearly above the noise: read the growth off the last step alone
    const slope = Math.log(last.y / prev.y) / Math.log(last.x / prev.x);
    const shape =
      slope > 1.15
        ? `superlinear (≈ n^${slope.toFixed(2)})`
        : slope >= 0.85
          ? 'linear'
          : `sublinear (≈ n^${slope.toFixed(2)})`;
    return { verdict: `${shape}, from the last step only`, slope, perDecade, base, added: last.y };
  }
  if (significant.length < 2) {
    return {
      verdict:
        last.y < threshold
          ? 'flat: the fixed cost dominates at every size measured'
          : 'one measurable point only',
      slope: null,
      perDecade,
      base,
      added: last.y,
    };
  }
  const slope = logLogSlope(significant);
  let verdict;
  if (slope === null) verdict = 'undetermined';
  else if (slope > 1.15) verdict = `superlinear (≈ n^${slope.toFixed(2)})`;
  else if (slope >= 0.85) verdict = 'linear';
  else verdict = `sublinear (≈ n^${slope.toFixed(2)})`;
  return { verdict, slope, perDecade, base, added: last.y };
}
