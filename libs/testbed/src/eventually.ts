/**
 * Polls `probe` until `ok` holds, as tests do while controllers and OVN converge. A probe that throws counts as
 * "not yet" (its error is the last value). Bounded: the error names what it waited for and the last value seen.
 */
export async function eventually<T>(
  probe: () => Promise<T>,
  ok: (value: T) => boolean,
  what: string,
  timeoutMs = 60_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch((e: Error) => e as unknown as T);
    if (ok(value)) return value;
    if (Date.now() > deadline) {
      const last = value instanceof Error ? value.message : JSON.stringify(value);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${last}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
