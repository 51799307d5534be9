/**
 * Date formatting shared by every report type. The original prints aggregate begin/end dates in the
 * process's local time zone and the newer interval/arrival fields in UTC, both as "YYYY-MM-DD HH:MM:SS".
 */

const pad = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** Unix seconds → "YYYY-MM-DD HH:MM:SS" in the process's local time zone (honours TZ). */
export function formatLocal(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Unix seconds → "YYYY-MM-DD HH:MM:SS" in UTC. */
export function formatUtc(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}
