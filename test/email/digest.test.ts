/**
 * The digest (libs/output/src/digest): its numbers against the reports they come from, its bounds and its
 * escaping of hostile report values; then the HTML as a real browser renders it: headless Chromium
 * (Debian's, tools/chromium) takes a screenshot, kept in test-output/digest/ to look at, and the test
 * reads the screenshot's pixels to see that the chart image was shown.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { unzlibSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import {
  DigestBuilder,
  dailyChart,
  digestLimits,
  renderDigestHtml,
  renderDigestText,
} from '@parsedmarc-ts/output';
import type { AggregateReport, ParsedReport } from '@parsedmarc-ts/parser';
import { repoRoot } from '../cli/helpers.js';
import { testServer } from '../servers.js';
import { monthOfReports } from './window.js';

const digestOf = (reports: ParsedReport[]) => {
  const builder = new DigestBuilder();
  for (const r of reports) builder.add(r);
  return builder.result();
};

/** Decodes an 8-bit RGB or RGBA PNG (what Chromium writes) into rows of RGB pixels. */
function decodePng(png: Buffer): { width: number; height: number; rgb: (x: number, y: number) => number[] } {
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  const colorType = png[25]!;
  const channels = colorType === 6 ? 4 : 3;
  expect(png[24]).toBe(8);
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length;) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    if (type === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + length));
    at += 12 + length;
  }
  const raw = unzlibSync(new Uint8Array(Buffer.concat(idat)));
  const stride = width * channels;
  const pixels = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i]!;
      const a = i >= channels ? pixels[y * stride + i - channels]! : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + i]! : 0;
      const c = i >= channels && y > 0 ? pixels[(y - 1) * stride + i - channels]! : 0;
      const p = a + b - c;
      const paeth =
        Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
          ? a
          : Math.abs(p - b) <= Math.abs(p - c)
            ? b
            : c;
      const predictor = [0, a, b, (a + b) >> 1, paeth][filter]!;
      pixels[y * stride + i] = (x + predictor) & 0xff;
    }
  }
  return {
    width,
    height,
    rgb: (x, y) => [...pixels.subarray(y * stride + x * channels, y * stride + x * channels + 3)],
  };
}

describe('the digest', () => {
  const reports = monthOfReports();
  const digest = digestOf(reports);

  it('counts what the reports hold, per domain and per day', () => {
    const records = reports
      .filter(
        (r): r is { report_type: 'aggregate'; report: AggregateReport } => r.report_type === 'aggregate',
      )
      .flatMap((r) => r.report.records.map((rec) => ({ domain: r.report.policy_published.domain, rec })));
    const sum = (pick: (rec: (typeof records)[number]['rec']) => boolean, domain?: string) =>
      records
        .filter((r) => (!domain || r.domain === domain) && pick(r.rec))
        .reduce((n, r) => n + r.rec.count, 0);
    expect(digest.window).toEqual({ begin: '2026-11-01', end: '2026-11-30' });
    expect(digest.totals).toMatchObject({
      messages: sum(() => true),
      dmarcPass: sum((r) => r.alignment.dmarc),
      spfAligned: sum((r) => r.alignment.spf),
      dkimAligned: sum((r) => r.alignment.dkim),
      aggregateReports: 300,
      smtpTlsReports: 1,
      smtpTlsFailed: 37,
    });
    expect(digest.domains.map((d) => d.domain)).toEqual(['example.com', 'example.org']);
    const com = digest.domains[0]!;
    expect(com.messages).toBe(sum(() => true, 'example.com'));
    expect(com.policy).toEqual({ p: 'quarantine', sp: 'none', pct: '100' });
    expect(com.reporters[0]!.name).toBe('google.com');
    expect(com.failingSources.map((s) => s.ip)).toEqual(['45.155.205.99', '185.70.41.103', '103.151.122.7']);
    // First seen on the window's last day.
    expect(com.newSources.map((s) => s.ip)).toEqual(['103.151.122.7']);
    expect(digest.days).toHaveLength(30);
    expect(digest.days.reduce((n, d) => n + d.pass + d.fail, 0)).toBe(digest.totals.messages);
    expect(digest.smtpTls).toEqual([
      {
        domain: 'example.com',
        successful: 18_420,
        failed: 37,
        failureTypes: [{ type: 'certificate-expired', sessions: 37 }],
      },
    ]);
  });

  it('stays bounded whatever the reports hold, and says so', () => {
    const builder = new DigestBuilder();
    const base = (reports[0] as { report: AggregateReport }).report;
    for (let i = 0; i < digestLimits.domains + 50; i++) {
      builder.add({
        report_type: 'aggregate',
        report: { ...base, policy_published: { ...base.policy_published, domain: `d${i}.example` } },
      });
    }
    const bounded = builder.result();
    expect(bounded.domains).toHaveLength(digestLimits.domains);
    expect(bounded.truncated).toBe(true);
    expect(renderDigestText(bounded, { title: 't' })).toContain('left out');
  });

  it('escapes every report value (reports are attacker-controlled)', () => {
    const base = (reports[0] as { report: AggregateReport }).report;
    const hostile: ParsedReport = {
      report_type: 'aggregate',
      report: {
        ...base,
        report_metadata: { ...base.report_metadata, org_name: '<script>alert(1)</script>' },
        policy_published: { ...base.policy_published, domain: '"><img src=x onerror=alert(2)>' },
        records: base.records.map((r) => ({
          ...r,
          alignment: { spf: false, dkim: false, dmarc: false },
          source: { ...r.source, reverse_dns: '<iframe src=//evil>', country: '\u0000\u001b[31m' },
        })),
      },
    };
    const d = digestOf([hostile]);
    const html = renderDigestHtml(d, { title: 'DMARC results for 2026-12-02', chart: null });
    expect(html).not.toMatch(/<script|<img src=x|<iframe/i);
    expect(html).toContain('&lt;script&gt;');
    const text = renderDigestText(d, { title: 'DMARC results for 2026-12-02' });
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\u0000-\u0008\u001b]/);
  });

  it('renders in a real browser as a readable mail: a screenshot kept to look at, the chart shown', () => {
    const chromium = testServer('chromium', 'PDM_CHROMIUM');
    const chart = dailyChart(digest.days)!;
    expect(chart.days).toHaveLength(30);
    const html = renderDigestHtml(digest, {
      title: 'DMARC results for 2026-12-01',
      chart: { chart, cid: 'chart@test' },
      attachmentName: 'DMARC-2026-12-01.zip',
    });
    // Mail-client safe: no scripts, no style blocks, no external resources; the image has its size and text.
    expect(html).not.toMatch(/<script|<style|<link|https?:\/\//i);
    expect(html).toMatch(/<img src="cid:chart@test" width="600" height="160" alt="[^"]+"/);
    const dir = join(repoRoot, 'test-output', 'digest');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'messages-per-day.png'), chart.png);
    writeFileSync(join(dir, 'digest.html'), html.replace('cid:chart@test', 'messages-per-day.png'));
    writeFileSync(
      join(dir, 'digest.txt'),
      renderDigestText(digest, { title: 'DMARC results for 2026-12-01' }),
    );
    const screenshot = join(dir, 'digest.png');
    execFileSync(
      chromium,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--hide-scrollbars',
        `--screenshot=${screenshot}`,
        '--window-size=760,1600',
        `file://${join(dir, 'digest.html')}`,
      ],
      { stdio: 'ignore', timeout: 60_000 },
    );
    const shot = decodePng(readFileSync(screenshot));
    expect([shot.width, shot.height]).toEqual([760, 1600]);
    // The chart's green and red bars are on screen: the browser loaded and showed the PNG.
    const seen = new Set<string>();
    for (let y = 0; y < shot.height; y += 2)
      for (let x = 0; x < shot.width; x += 2) seen.add(shot.rgb(x, y).join(','));
    expect(seen.has('46,125,50')).toBe(true);
    expect(seen.has('198,40,40')).toBe(true);
  }, 90_000);
});
