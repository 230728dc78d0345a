/**
 * Runs `work` over `items` with at most `limit` at once, each lane taking the
 * next item as it finishes one. Rejects with the first error, once no lane is
 * still running (the others stop taking new items).
 *
 * @example
 * await mapLimit(payments, 8, (payment) => charge(payment));
 */
export async function mapLimit<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async () => {
    while (!failure && next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failure) throw failure.error;
}
