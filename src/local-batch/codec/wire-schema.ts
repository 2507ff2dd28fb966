/**
 * Zod building blocks for REST-XML input: the parsed tree holds only strings, objects and arrays, so lists
 * (`<member>`), maps (`<entry><key><value>`), booleans, integers and timestamps are decoded here, and every issue is
 * turned into a message that names the wire field (`Operation.S3PutObjectTagging.TagSet[2].Key must be …`).
 */
import { z } from 'zod';

const isBlank = (v: unknown): boolean => typeof v === 'string' && v.trim() === '';
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** A structure element; `<X/>` is an empty structure. Unknown child elements are rejected, not ignored. */
export function struct<T extends z.ZodRawShape>(shape: T) {
  return z.preprocess((v) => (isBlank(v) ? {} : v), z.strictObject(shape));
}

/** A non-flattened list: `<X><member>…</member>…</X>`; `<X/>` is the empty list. */
export function list<T extends z.ZodType>(item: T) {
  return z.preprocess(
    (v) => {
      if (isBlank(v)) return [];
      if (isPlainObject(v)) {
        const keys = Object.keys(v);
        if (keys.length === 1 && keys[0] === 'member') return Array.isArray(v.member) ? v.member : [v.member];
      }
      return v;
    },
    z.array(item, { error: 'must be a list of <member> elements' }),
  );
}

/** A map: `<X><entry><key>k</key><value>v</value></entry>…</X>`, keys unique. */
export function map(key: z.ZodType<string>, value: z.ZodType<string>, opts: { min: number; max: number }) {
  const entries = z.preprocess(
    (v) => {
      if (isBlank(v)) return [];
      if (isPlainObject(v)) {
        const keys = Object.keys(v);
        if (keys.length === 1 && keys[0] === 'entry') return Array.isArray(v.entry) ? v.entry : [v.entry];
      }
      return v;
    },
    z
      .array(struct({ key, value }), { error: 'must be a map of <entry><key/><value/></entry> elements' })
      .min(opts.min, `must have at least ${opts.min} entries`)
      .max(opts.max, `must have at most ${opts.max} entries`),
  );
  return entries.transform((items, ctx) => {
    const out: Record<string, string> = {};
    for (const { key: k, value: v } of items) {
      if (Object.prototype.hasOwnProperty.call(out, k)) {
        ctx.addIssue({ code: 'custom', message: `has the key "${k}" more than once` });
        return z.NEVER;
      }
      out[k] = v;
    }
    return out;
  });
}

/** Text of `min`–`max` characters (code points, as AWS counts them). */
export function text(min: number, max: number) {
  return z.string().refine(
    (s) => {
      const n = [...s].length;
      return n >= min && n <= max;
    },
    min === max ? `must be ${min} characters long` : `must be ${min}–${max} characters long`,
  );
}

/** `true` / `false`. */
export const bool = z.enum(['true', 'false'], { error: 'must be true or false' }).transform((v) => v === 'true');

/** A decimal integer in [min, max]. */
export function int(min: number, max: number) {
  return z
    .string()
    .regex(/^\s*[+-]?\d+\s*$/, `must be an integer between ${min} and ${max}`)
    .transform(Number)
    .refine((n) => Number.isSafeInteger(n) && n >= min && n <= max, `must be an integer between ${min} and ${max}`);
}

/** An ISO-8601 timestamp, normalised to `YYYY-MM-DDTHH:mm:ss.sssZ`. */
export const timestamp = z
  .string()
  .refine((s) => /^\d{4}-\d{2}-\d{2}T/.test(s) && !Number.isNaN(Date.parse(s)), 'must be an ISO-8601 timestamp')
  .transform((s) => new Date(s).toISOString());

/** `a.b[2].c` from a zod issue path. */
export function renderPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

/** One readable sentence per issue, naming the wire field. */
export function describeIssue(issue: z.core.$ZodIssue, prefix?: string): string {
  const path = renderPath([...(prefix ? [prefix] : []), ...issue.path]);
  const subject = path || 'the request';
  if ((issue.code === 'invalid_type' || issue.code === 'invalid_value') && issue.input === undefined) {
    return `${subject} is required`;
  }
  switch (issue.code) {
    case 'invalid_type':
      if (Array.isArray(issue.input)) return `${subject} appears more than once`;
      if (issue.expected === 'string' && isPlainObject(issue.input)) return `${subject} must be a text value`;
      if (issue.expected === 'object') return `${subject} must contain child elements`;
      return `${subject} ${issue.message}`;
    case 'unrecognized_keys':
      return `${subject} has unknown element${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
    case 'invalid_value':
      // Zod's own wording starts "Invalid option"; a schema's custom message is kept.
      return issue.message.startsWith('Invalid')
        ? `${subject} must be one of ${issue.values.map(String).join(', ')}`
        : `${subject} ${issue.message}`;
    case 'too_small':
    case 'too_big':
    case 'custom':
    case 'invalid_format':
      return `${subject} ${issue.message}`;
    default:
      return `${subject}: ${issue.message}`;
  }
}

/** Parses `input` with `schema`; on failure returns the issues as sentences (at most 5, most useful first). */
export function parseWire<T extends z.ZodType>(
  schema: T,
  input: unknown,
  prefix?: string,
): { ok: true; value: z.output<T> } | { ok: false; message: string } {
  const res = schema.safeParse(input, { reportInput: true });
  if (res.success) return { ok: true, value: res.data };
  const messages = [...new Set(res.error.issues.map((i) => describeIssue(i, prefix)))];
  const shown = messages.slice(0, 5).join('; ');
  return { ok: false, message: messages.length > 5 ? `${shown}; and ${messages.length - 5} more` : shown };
}
