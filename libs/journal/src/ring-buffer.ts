/**
 * Bounded FIFO over a fixed array. `push` is O(1) and never fails: when full, the oldest item is
 * overwritten and counted in `dropped`.
 */
export class RingBuffer<T> {
  private readonly items: (T | undefined)[];
  private head = 0;
  private count = 0;
  private droppedTotal = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be >= 1, got ${capacity}`);
    this.items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Items overwritten because the buffer was full, since construction. */
  get dropped(): number {
    return this.droppedTotal;
  }

  push(item: T): void {
    const tail = (this.head + this.count) % this.capacity;
    this.items[tail] = item;
    if (this.count === this.capacity) {
      this.head = (this.head + 1) % this.capacity;
      this.droppedTotal++;
    } else {
      this.count++;
    }
  }

  /** Removes and returns up to `max` items, oldest first. */
  take(max: number): T[] {
    const n = Math.min(max, this.count);
    const out = new Array<T>(n);
    for (let i = 0; i < n; i++) {
      const idx = (this.head + i) % this.capacity;
      out[i] = this.items[idx] as T;
      this.items[idx] = undefined;
    }
    this.head = (this.head + n) % this.capacity;
    this.count -= n;
    return out;
  }
}
