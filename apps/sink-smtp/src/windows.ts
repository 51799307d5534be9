/**
 * Digest windows: fixed spans of message time (the Kafka timestamp the report was published with), so a
 * message falls in the same window however often it is consumed again. A window is mailed once the clock
 * has passed its end plus the grace for late reports, and every partition is past it: caught up with its
 * end offset, or already at a message stamped after the window.
 */
export interface DigestWindow {
  /** The window's start, ISO 8601 (its key in the state topic). */
  id: string;
  startMs: number;
  endMs: number;
}

export function windowOf(timestampMs: number, windowHours: number): DigestWindow {
  const span = windowHours * 3_600_000;
  const startMs = Math.floor(timestampMs / span) * span;
  return { id: new Date(startMs).toISOString(), startMs, endMs: startMs + span };
}

export interface PartitionProgress {
  /** The highest timestamp consumed. */
  maxTimestampMs: number;
  /** Consumed up to the partition's end offset at the last fetch. */
  caughtUp: boolean;
}

/** Whether `window` may be mailed now: past its end and grace, and no partition may still bring some of it. */
export function isWindowClosed(
  window: DigestWindow,
  nowMs: number,
  graceMs: number,
  partitions: Iterable<PartitionProgress>,
): boolean {
  if (nowMs < window.endMs + graceMs) return false;
  for (const p of partitions) if (!p.caughtUp && p.maxTimestampMs < window.endMs + graceMs) return false;
  return true;
}
