import { eventually, waitUntil } from './eventually';

/** A probe answering `values` in turn (the last one from then on), counting its calls. */
function answers<T>(...values: Array<T | Error>) {
  const probe = Object.assign(
    async (): Promise<T> => {
      const v = values[Math.min(probe.calls++, values.length - 1)];
      if (v instanceof Error) throw v;
      return v;
    },
    { calls: 0 },
  );
  return probe;
}

describe('waitUntil', () => {
  it('returns the first value that satisfies the condition', async () => {
    const probe = answers('a', 'b', 'c');
    await expect(waitUntil('c', probe, (v) => v === 'c', 5_000, 1)).resolves.toBe('c');
    expect(probe.calls).toBe(3);
  });

  it('ends at once with the error of a probe that throws', async () => {
    const probe = answers<string>('a', new Error('exec failed'), 'c');
    await expect(waitUntil('c', probe, (v) => v === 'c', 5_000, 1)).rejects.toThrow('exec failed');
    expect(probe.calls).toBe(2);
  });

  it('times out naming what it waited for and the last value', async () => {
    const probe = answers({ replies: { 'web-0': 3 } });
    await expect(waitUntil('both backends', probe, () => false, 20, 5)).rejects.toThrow(
      'timed out after 20 ms waiting for both backends; last: {"replies":{"web-0":3}}',
    );
  });
});

describe('eventually', () => {
  it('takes a probe that throws as "not yet" and keeps polling', async () => {
    const probe = answers<string>(new Error('not up'), 'up');
    await expect(eventually(probe, (v) => v === 'up', 'up', 5_000, 1)).resolves.toBe('up');
    expect(probe.calls).toBe(2);
  });

  it("times out with the last error's message", async () => {
    const probe = answers<string>(new Error('connection refused'));
    await expect(eventually(probe, (v) => v === 'up', 'the server', 20, 5)).rejects.toThrow(
      'timed out after 20 ms waiting for the server; last: connection refused',
    );
  });
});
