/**
 * A small structured logger for the worker, the local engine and the stack (never workflows: they use
 * `@temporalio/workflow`'s `log`). JSON lines when stderr is not a TTY, `time level msg k=v` when it is.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogAttrs = Record<string, unknown>;

export interface Logger {
  debug(msg: string, attrs?: LogAttrs): void;
  info(msg: string, attrs?: LogAttrs): void;
  warn(msg: string, attrs?: LogAttrs): void;
  error(msg: string, attrs?: LogAttrs): void;
  /** A logger that adds `attrs` to every line. */
  child(attrs: LogAttrs): Logger;
}

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function levelFromEnv(): LogLevel {
  const v = (process.env.S3C_LOG_LEVEL ?? 'info').toLowerCase();
  return v in LEVEL_RANK ? (v as LogLevel) : 'info';
}

function errorToJson(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

/** Where log lines go; tests may pass their own sink. */
export type LogSink = (line: string) => void;

export function createLogger(
  component: string,
  opts: { sink?: LogSink; json?: boolean; level?: LogLevel; attrs?: LogAttrs } = {},
): Logger {
  const sink = opts.sink ?? ((line: string) => process.stderr.write(line + '\n'));
  const json = opts.json ?? !process.stderr.isTTY;
  const min = LEVEL_RANK[opts.level ?? levelFromEnv()];
  const base = { component, ...opts.attrs };
  const emit = (level: LogLevel, msg: string, attrs?: LogAttrs) => {
    if (LEVEL_RANK[level] < min) return;
    const all: LogAttrs = { ...base, ...attrs };
    for (const k of Object.keys(all)) all[k] = errorToJson(all[k]);
    if (json) {
      sink(JSON.stringify({ time: new Date().toISOString(), level, msg, ...all }));
    } else {
      const kv = Object.entries(all)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      sink(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${msg} ${kv}`);
    }
  };
  return {
    debug: (m, a) => emit('debug', m, a),
    info: (m, a) => emit('info', m, a),
    warn: (m, a) => emit('warn', m, a),
    error: (m, a) => emit('error', m, a),
    child: (attrs) => createLogger(component, { ...opts, sink, json, attrs: { ...opts.attrs, ...attrs } }),
  };
}
