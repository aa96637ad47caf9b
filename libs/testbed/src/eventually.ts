/**
 * Polls `probe` until `ok` holds, as tests do while controllers and OVN converge. A probe that throws counts as
 * "not yet" (its error is the last value). Bounded: the error names what it waited for and the last value seen.
 */
export function eventually<T>(
  probe: () => Promise<T>,
  ok: (value: T) => boolean,
  what: string,
  timeoutMs = 60_000,
  intervalMs = 200,
): Promise<T> {
  return waitUntil(what, () => probe().catch((e: Error) => e as unknown as T), ok, timeoutMs, intervalMs);
}

/**
 * Polls `probe` until `ok` holds and returns that value: the e2e tests' wait for the controller, node agents and
 * OVN to converge. Unlike `eventually`, a probe that throws ends the wait at once with its error: e2e probes report
 * the outcomes they expect (an exit code, `error …`, an empty answer) as values, so a throw is a broken test or
 * sandbox, better seen now than after the timeout. Bounded: the error names what it waited for and the last value.
 */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs = 60_000,
  intervalMs = 400,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline) {
      const last = value instanceof Error ? value.message : JSON.stringify(value);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${last}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
