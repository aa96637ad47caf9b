import { RingBuffer } from './ring-buffer';

describe('RingBuffer', () => {
  it('returns items oldest first, in batches', () => {
    const b = new RingBuffer<number>(5);
    [1, 2, 3, 4].forEach((n) => b.push(n));
    expect(b.take(3)).toEqual([1, 2, 3]);
    b.push(5);
    b.push(6);
    expect(b.size).toBe(3);
    expect(b.take(10)).toEqual([4, 5, 6]);
    expect(b.take(10)).toEqual([]);
    expect(b.dropped).toBe(0);
  });

  it('drops the oldest items when full and counts them', () => {
    const b = new RingBuffer<number>(3);
    for (let n = 1; n <= 10; n++) b.push(n);
    expect(b.size).toBe(3);
    expect(b.dropped).toBe(7);
    expect(b.take(3)).toEqual([8, 9, 10]);
  });

  it('rejects a capacity below 1', () => {
    expect(() => new RingBuffer(0)).toThrow(RangeError);
  });
});
