/**
 * Incremental splitter for the undelimited stream of JSON-RPC messages ovsdb-server sends.
 *
 * Scans each byte exactly once: state (depth, in-string, escape, current number token) survives across
 * chunks, so a 14 MB reply costs one linear pass plus JSON.parse. Works on bytes, not decoded text: every
 * structural character of JSON is ASCII, and UTF-8 continuation bytes are >= 0x80, so a multi-byte character
 * split across two chunks is only decoded once the whole message is assembled.
 *
 * Integer literals longer than 15 digits (possibly above 2^53) are rewritten into marked strings before
 * parsing so that no precision is lost; the codec turns them into numbers or bigints (see {@link BIG_INT_MARK}).
 */
export const BIG_INT_MARK = '\u0000int:';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;

/** A completed message: its parsed value. */
export type JsonValue = unknown;

export class JsonSplitter {
  private chunks: Buffer[] = [];
  /** Bytes held in `chunks` (the message being assembled, starting at chunks[0][0]). */
  private held = 0;
  private depth = 0;
  private inString = false;
  private escape = false;
  /** Absolute offset (within the held message) of the current number token, or -1. */
  private numStart = -1;
  private numDigits = 0;
  private numPlain = true;
  /** Offsets [start, end) of long integer literals in the message being assembled. */
  private bigInts: Array<[number, number]> = [];
  constructor(private readonly maxMessageBytes = 512 * 1024 * 1024) {}

  /** Feeds a chunk; returns the messages it completed, in order. Throws on malformed framing. */
  // eslint-disable-next-line complexity -- the per-byte hot loop stays in one function for speed
  push(chunk: Buffer): JsonValue[] {
    const out: JsonValue[] = [];
    let start = 0; // start in `chunk` of the part that belongs to the current message
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      const c = chunk[i];
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (c === BACKSLASH) this.escape = true;
        else if (c === QUOTE) this.inString = false;
        continue;
      }
      if (this.numStart >= 0) {
        if ((c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45) {
          if (c >= 0x30 && c <= 0x39) this.numDigits++;
          else if (c !== 0x2d || this.numDigits > 0) this.numPlain = false;
          continue;
        }
        this.endNumber(this.held + (i - start));
      }
      if (c === QUOTE) this.inString = true;
      else if (c === LBRACE || c === LBRACKET) this.depth++;
      else if (c === RBRACE || c === RBRACKET) {
        this.depth--;
        if (this.depth === 0) {
          out.push(this.finish(chunk.subarray(start, i + 1)));
          start = i + 1;
        } else if (this.depth < 0) {
          throw new Error('JSON framing error: unbalanced closing bracket');
        }
      } else if (this.depth === 0) {
        if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
          start = i + 1; // whitespace between messages
        } else {
          throw new Error(`JSON framing error: unexpected byte 0x${c.toString(16)} between messages`);
        }
      } else if ((c >= 0x30 && c <= 0x39) || c === 0x2d) {
        this.numStart = this.held + (i - start);
        this.numDigits = c === 0x2d ? 0 : 1;
        this.numPlain = true;
      }
    }
    if (start < n) {
      const rest = chunk.subarray(start);
      this.chunks.push(rest);
      this.held += rest.length;
      if (this.held > this.maxMessageBytes) throw new Error(`JSON message larger than ${this.maxMessageBytes} bytes`);
    }
    return out;
  }

  /** True while a message is partially received. */
  get pending(): boolean {
    return this.held > 0;
  }

  private endNumber(end: number): void {
    if (this.numPlain && this.numDigits > 15) this.bigInts.push([this.numStart, end]);
    this.numStart = -1;
  }

  private finish(tail: Buffer): JsonValue {
    let buf: Buffer;
    if (this.chunks.length === 0) buf = tail;
    else {
      this.chunks.push(tail);
      buf = Buffer.concat(this.chunks, this.held + tail.length);
    }
    this.chunks = [];
    this.held = 0;
    this.numStart = -1;
    let text: string;
    if (this.bigInts.length === 0) text = buf.toString('utf8');
    else {
      const parts: string[] = [];
      let pos = 0;
      for (const [s, e] of this.bigInts) {
        parts.push(buf.toString('utf8', pos, s), JSON.stringify(BIG_INT_MARK + buf.toString('latin1', s, e)));
        pos = e;
      }
      parts.push(buf.toString('utf8', pos));
      text = parts.join('');
      this.bigInts = [];
    }
    return JSON.parse(text);
  }
}

/** Serializes a message; bigints are written as exact integer literals. */
export function stringifyJson(value: unknown): string {
  let sawBig = false;
  const text = JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'bigint') {
      sawBig = true;
      return BIG_INT_MARK + v.toString();
    }
    return v;
  });
  if (!sawBig) return text;
  return text.replace(/"\\u0000int:(-?\d+)"/g, '$1');
}
