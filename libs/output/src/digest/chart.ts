/**
 * The digest's one picture: messages per day as stacked bars (passing DMARC below, failing above), a PNG
 * because mail clients show images where they drop SVG and canvas. No text in the image: the axis labels
 * are in the HTML around it, so it stays sharp and needs no font. Pure: pixels into an RGB buffer, encoded
 * with fflate's zlib.
 */
import { zlibSync } from 'fflate';
import type { DigestDay } from './model.js';

export const chartColors = {
  pass: [0x2e, 0x7d, 0x32],
  fail: [0xc6, 0x28, 0x28],
  grid: [0xe0, 0xe0, 0xe0],
  background: [0xff, 0xff, 0xff],
} as const;

type Rgb = readonly [number, number, number];

const crcTable = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** An 8-bit RGB PNG of `width` x `height` pixels (`rgb` row by row, 3 bytes per pixel). */
export function encodePng(width: number, height: number, rgb: Uint8Array): Uint8Array {
  const raw = new Uint8Array(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    raw[y * (1 + width * 3)] = 0; // filter: none
    raw.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), y * (1 + width * 3) + 1);
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, 2, 0, 0, 0], 8); // 8 bits, truecolor, deflate, no filter, no interlace
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', zlibSync(raw, { level: 9 })),
    chunk('IEND', new Uint8Array(0)),
  ];
  const png = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    png.set(p, at);
    at += p.length;
  }
  return png;
}

export interface DailyChart {
  png: Uint8Array;
  width: number;
  height: number;
  /** The days drawn, left to right (at most `maxDays`, the latest). */
  days: DigestDay[];
  /** The top of the scale: the busiest day's messages. */
  maxMessages: number;
}

/** The calendar days from `first` to `last` (YYYY-MM-DD, UTC). */
function calendarDays(first: string, last: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${first}T00:00:00Z`); t <= Date.parse(`${last}T00:00:00Z`); t += 86_400_000) {
    out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}

/**
 * Stacked daily bars of the `maxDays` calendar days up to the latest day with reports (days without reports
 * drawn empty); null when there is nothing to draw.
 */
export function dailyChart(
  days: readonly DigestDay[],
  size = { width: 600, height: 160, maxDays: 31 },
): DailyChart | null {
  const last = days[days.length - 1]?.day;
  if (last === undefined || Number.isNaN(Date.parse(`${last}T00:00:00Z`))) return null;
  const from = new Date(Date.parse(`${last}T00:00:00Z`) - (size.maxDays - 1) * 86_400_000)
    .toISOString()
    .slice(0, 10);
  const start = days[0]!.day > from ? days[0]!.day : from;
  const byDay = new Map(days.map((d) => [d.day, d]));
  const shown = calendarDays(start, last).map((day) => byDay.get(day) ?? { day, pass: 0, fail: 0 });
  const maxMessages = Math.max(0, ...shown.map((d) => d.pass + d.fail));
  if (shown.length === 0 || maxMessages === 0) return null;
  const { width, height } = size;
  const rgb = new Uint8Array(width * height * 3);
  const fill = (x0: number, y0: number, x1: number, y1: number, color: Rgb) => {
    for (let y = Math.max(0, y0); y < Math.min(height, y1); y++) {
      for (let x = Math.max(0, x0); x < Math.min(width, x1); x++) rgb.set(color, (y * width + x) * 3);
    }
  };
  fill(0, 0, width, height, chartColors.background);
  // Grid lines at a quarter, half and three quarters of the busiest day.
  for (const f of [0.25, 0.5, 0.75]) {
    const y = height - 1 - Math.round(f * (height - 1));
    fill(0, y, width, y + 1, chartColors.grid);
  }
  fill(0, height - 1, width, height, chartColors.grid);
  const slot = width / shown.length;
  const gap = slot >= 6 ? Math.max(1, Math.round(slot * 0.2)) : 0;
  shown.forEach((day, i) => {
    const x0 = Math.round(i * slot + gap / 2);
    const x1 = Math.max(x0 + 1, Math.round((i + 1) * slot - gap / 2));
    const passH = Math.round((day.pass / maxMessages) * (height - 1));
    const totalH = Math.round(((day.pass + day.fail) / maxMessages) * (height - 1));
    fill(x0, height - 1 - passH, x1, height - 1, chartColors.pass);
    fill(x0, height - 1 - totalH, x1, height - 1 - passH, chartColors.fail);
  });
  return { png: encodePng(width, height, rgb), width, height, days: shown, maxMessages };
}
