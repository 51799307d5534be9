// Deterministic pseudo-random numbers for the corpus: the same seed always gives the same bytes, so runs on
// different days (and on the original and ours) are comparable.

/** sfc32 seeded through splitmix32: fast, good enough statistically, and stable across Node versions. */
export function createRng(seed) {
  let s = seed >>> 0;
  const split = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = split();
  let b = split();
  let c = split();
  let d = split();
  const next = () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) next();
  const rng = {
    /** uniform float in [0, 1) */
    float: () => next() / 4294967296,
    /** integer in [min, max] */
    int: (min, max) => min + Math.floor((next() / 4294967296) * (max - min + 1)),
    /** one element of a non-empty array */
    pick: (list) => list[Math.floor((next() / 4294967296) * list.length)],
    /** true with probability p */
    chance: (p) => next() / 4294967296 < p,
    /** element chosen by weight: pairs [value, weight] */
    weighted: (pairs) => {
      let total = 0;
      for (const [, w] of pairs) total += w;
      let x = (next() / 4294967296) * total;
      for (const [v, w] of pairs) {
        x -= w;
        if (x < 0) return v;
      }
      return pairs[pairs.length - 1][0];
    },
    hex: (len) => {
      let out = '';
      while (out.length < len) out += next().toString(16).padStart(8, '0');
      return out.slice(0, len);
    },
    /** an independent generator derived from this one (for per-file streams) */
    fork: () => createRng(next()),
  };
  return rng;
}
