import { BIG_INT_MARK, JsonSplitter, stringifyJson } from './json-splitter';

const msgs = [
  { id: 1, result: { s: 'a}b{c"d\\"e', n: [1, -2.5, 3e2] }, error: null },
  { method: 'update3', params: ['m', 'x', { T: { u: { modify: { s: 'é✓𝄞 日本' } } } }], id: null },
  { id: 'echo', method: 'echo', params: [] },
  { id: 2, result: [{ big: '__big__', real: 1234567890123456.5 }], error: null },
];

function wire(): Buffer {
  return Buffer.from(msgs.map((m) => JSON.stringify(m).replace('"__big__"', '9007199254740993')).join(''));
}

describe('JsonSplitter', () => {
  test('splits concatenated messages with no delimiter, in one chunk', () => {
    const text = Buffer.from('{"a":1}{"b":"}"}  \n{"c":[{"d":"\\\\"}]}');
    expect(new JsonSplitter().push(text)).toEqual([{ a: 1 }, { b: '}' }, { c: [{ d: '\\' }] }]);
  });

  test('gives the same messages when split at every byte boundary (UTF-8 included)', () => {
    const all = wire();
    const expected = new JsonSplitter().push(all);
    expect(expected).toHaveLength(4);
    for (let cut = 1; cut < all.length; cut++) {
      const s = new JsonSplitter();
      const got = [...s.push(all.subarray(0, cut)), ...s.push(all.subarray(cut))];
      expect(got).toEqual(expected);
      expect(s.pending).toBe(false);
    }
  });

  test('byte-at-a-time feeding decodes multi-byte characters', () => {
    const all = wire();
    const s = new JsonSplitter();
    const got: unknown[] = [];
    for (let i = 0; i < all.length; i++) got.push(...s.push(all.subarray(i, i + 1)));
    expect((got[1] as { params: unknown[] }).params[2]).toEqual({ T: { u: { modify: { s: 'é✓𝄞 日本' } } } });
  });

  test('keeps integers above 2^53 exact as marked strings; reals stay numbers', () => {
    const [m] = new JsonSplitter().push(
      Buffer.from('{"a":[9007199254740993,-12345678901234567890,12,1234567890123456.5,1e300]}'),
    );
    expect(m).toEqual({
      a: [BIG_INT_MARK + '9007199254740993', BIG_INT_MARK + '-12345678901234567890', 12, 1234567890123456.5, 1e300],
    });
  });

  test('a message in many chunks is joined once, not once per chunk (linear in its size)', () => {
    // Re-joining the held chunks on every push was the quadratic failure mode (a 14 MB initial monitor reply);
    // counting the joins says so without a wall clock on a shared machine.
    const rows: Record<string, unknown> = {};
    for (let i = 0; i < 20000; i++)
      rows[`uuid-${i}`] = {
        initial: { name: `lb-${i}`, vips: ['map', [['10.0.0.1:80', '10.1.0.1:8080,10.1.0.2:8080']]] },
      };
    const big = Buffer.from(JSON.stringify({ id: 7, result: [false, 'x', { Load_Balancer: rows }], error: null }));
    expect(big.length).toBeGreaterThan(2_000_000);
    const doubled = Buffer.concat([big, big]);
    const s = new JsonSplitter();
    const concat = jest.spyOn(Buffer, 'concat');
    try {
      const messages: unknown[] = [];
      for (let off = 0; off < doubled.length; off += 65536)
        messages.push(...s.push(doubled.subarray(off, off + 65536)));
      expect(messages).toHaveLength(2);
      expect(messages[1]).toEqual(JSON.parse(big.toString()));
      expect(concat).toHaveBeenCalledTimes(2);
      const joined = concat.mock.calls.reduce((sum, [list]) => sum + list.reduce((a, b) => a + b.length, 0), 0);
      expect(joined).toBe(doubled.length);
    } finally {
      concat.mockRestore();
    }
  });

  test('rejects garbage between messages and unbalanced brackets', () => {
    expect(() => new JsonSplitter().push(Buffer.from('{"a":1} x'))).toThrow(/unexpected byte/);
    expect(() => new JsonSplitter().push(Buffer.from(']'))).toThrow(/unbalanced/);
    expect(() => new JsonSplitter().push(Buffer.from('{"a":tru}'))).toThrow();
  });

  test('stringifyJson writes bigints as exact integer literals', () => {
    expect(stringifyJson({ a: 2n ** 64n, b: 'x', c: [1n] })).toBe('{"a":18446744073709551616,"b":"x","c":[1]}');
  });
});
