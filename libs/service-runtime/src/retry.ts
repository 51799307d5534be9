/** Exponential backoff with full jitter, for faults that go away by themselves (a broker or registry away). */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor?: number;
  /** 0..1, share of the delay drawn at random (avoids retry storms). Default 0.2. */
  jitter?: number;
}

export function backoffDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const base = Math.min(options.maxMs, options.initialMs * (options.factor ?? 2) ** attempt);
  const jitter = options.jitter ?? 0.2;
  return Math.round(base * (1 - jitter + jitter * random()));
}

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * Runs `fn` until it succeeds, sleeping with backoff after each failure that `isRetriable` accepts; a
 * non-retriable failure, or an aborted signal, ends the loop by throwing the last error.
 */
export async function retryWithBackoff<T>(
  fn: (attempt: number) => Promise<T>,
  options: BackoffOptions & {
    isRetriable: (error: unknown) => boolean;
    onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
    signal?: AbortSignal;
    maxAttempts?: number;
    /** Give up (throw the last error) rather than sleep past this many ms after the first attempt. */
    maxElapsedMs?: number;
    /** The least wait the error itself asks for (a server's Retry-After), in ms; the backoff when larger. */
    minDelayMs?: (error: unknown) => number;
  },
): Promise<T> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      const last = options.maxAttempts !== undefined && attempt + 1 >= options.maxAttempts;
      if (!options.isRetriable(error) || options.signal?.aborted || last) throw error;
      let delay = Math.max(backoffDelay(attempt, options), options.minDelayMs?.(error) ?? 0);
      if (options.maxElapsedMs !== undefined) {
        const left = options.maxElapsedMs - (Date.now() - started);
        if (left <= 0) throw error;
        delay = Math.min(delay, left);
      }
      options.onRetry?.(error, attempt, delay);
      await sleep(delay, options.signal);
      if (options.signal?.aborted) throw error;
    }
  }
}
