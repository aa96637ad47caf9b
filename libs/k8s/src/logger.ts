/** Log levels, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Fields attached to a log line. Errors are serialized with message, name and stack. */
export type LogFields = Record<string, unknown>;

export interface LoggerOptions {
  /** Lines below this level are dropped. Default `info`. */
  level?: LogLevel;
  /** Fields on every line (e.g. `{ component: 'service-controller' }`). */
  fields?: LogFields;
  /** Where a finished JSON line goes (without newline). Default: stderr. */
  sink?: (line: string) => void;
  /** Clock, for tests. */
  now?: () => Date;
}

/** Parses a level name (e.g. from an app's config); unknown values give `fallback`. */
export function parseLogLevel(value: string | undefined, fallback: LogLevel = 'info'): LogLevel {
  const v = (value ?? '').toLowerCase();
  return v in LEVEL_RANK ? (v as LogLevel) : fallback;
}

function serializeValue(value: unknown): unknown {
  if (value instanceof Error) {
    const out: LogFields = { name: value.name, message: value.message };
    const extra = value as Error & { statusCode?: unknown; reason?: unknown; cause?: unknown };
    if (extra.statusCode !== undefined) out.statusCode = extra.statusCode;
    if (extra.reason !== undefined) out.reason = extra.reason;
    if (value.stack) out.stack = value.stack;
    if (extra.cause !== undefined) out.cause = serializeValue(extra.cause);
    return out;
  }
  return value;
}

const stderrSink = (line: string): void => {
  process.stderr.write(line + '\n');
};

/**
 * A tiny structured logger: one JSON object per line (`time`, `level`, `msg`, then fields), stderr by default.
 * `child()` adds fields (controller name, key, reconcile id) without copying the sink or level.
 */
export class Logger {
  private readonly minRank: number;
  private readonly fields: LogFields;
  private readonly sink: (line: string) => void;
  private readonly now: () => Date;

  constructor(options: LoggerOptions = {}) {
    this.minRank = LEVEL_RANK[options.level ?? 'info'];
    this.fields = options.fields ?? {};
    this.sink = options.sink ?? stderrSink;
    this.now = options.now ?? (() => new Date());
  }

  /** A logger that writes nothing (for tests and defaults). */
  static silent(): Logger {
    return new Logger({ level: 'error', sink: () => undefined });
  }

  /** A logger with extra fields on every line. */
  child(fields: LogFields): Logger {
    const child = Object.create(Logger.prototype) as Logger;
    Object.assign(child, this, { fields: { ...this.fields, ...fields } });
    return child;
  }

  isEnabled(level: LogLevel): boolean {
    return LEVEL_RANK[level] >= this.minRank;
  }

  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }

  log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (!this.isEnabled(level)) return;
    const line: LogFields = { time: this.now().toISOString(), level, msg };
    for (const [k, v] of Object.entries(this.fields)) line[k] = serializeValue(v);
    if (fields) for (const [k, v] of Object.entries(fields)) line[k] = serializeValue(v);
    let text: string;
    try {
      text = JSON.stringify(line);
    } catch {
      // Circular or BigInt fields must not break the caller: keep the message.
      text = JSON.stringify({ time: line.time, level, msg, logError: 'unserializable fields' });
    }
    try {
      this.sink(text);
    } catch {
      // A broken sink (closed stderr) must never throw into the caller.
    }
  }
}
