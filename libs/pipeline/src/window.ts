export interface WindowBounds<T> {
  /** Most items in flight. */
  maxItems: number;
  /** Most total weight in flight (at least one item is always let through). */
  maxWeight: number;
  weight(item: T): number;
}

/**
 * Maps items through an async function with a bounded number (and weight) in flight, yielding results in
 * input order. The weight bound keeps memory flat when items are big (a 2,000-record part of a huge
 * report weighs 2,000; a small report 1): many small reports overlap their DNS lookups, huge ones do not
 * pile up.
 */
export async function* orderedWindow<T, U>(
  source: AsyncIterable<T>,
  fn: (item: T) => Promise<U>,
  bounds: WindowBounds<T> | number,
): AsyncGenerator<U> {
  if (typeof bounds === 'number') bounds = { maxItems: bounds, maxWeight: Infinity, weight: () => 1 };
  const pending: { promise: Promise<U>; weight: number }[] = [];
  let weight = 0;
  for await (const item of source) {
    const promise = fn(item);
    // Avoid an unhandled rejection while the promise waits its turn; it is awaited (and rethrown) below.
    promise.catch(() => undefined);
    const itemWeight = bounds.weight(item);
    pending.push({ promise, weight: itemWeight });
    weight += itemWeight;
    while (pending.length > 0 && (pending.length >= bounds.maxItems || weight > bounds.maxWeight)) {
      const next = pending.shift()!;
      weight -= next.weight;
      yield await next.promise;
    }
  }
  while (pending.length > 0) yield await pending.shift()!.promise;
}
