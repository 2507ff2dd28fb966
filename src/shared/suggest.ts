/**
 * "Did you mean" for unknown fields: the field names a zod schema accepts at a path, and the nearest of them to a
 * misspelt name. Pure and deterministic (campaign specs are also checked in workflow code).
 */
import type { z } from 'zod';

/** The parts of zod's (v4) schema definitions walked here; anything else is a leaf. */
interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  options?: z.ZodType[];
  innerType?: z.ZodType;
  in?: z.ZodType;
  left?: z.ZodType;
  right?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
  getter?: () => z.ZodType;
}

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** The schemas a value of `schema` may be checked against, wrappers and unions taken apart. */
function alternatives(schema: z.ZodType, depth = 0): z.ZodType[] {
  const def = defOf(schema);
  if (depth > 20) return [schema];
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      return def.innerType ? alternatives(def.innerType, depth + 1) : [];
    case 'pipe':
      return def.in ? alternatives(def.in, depth + 1) : [];
    case 'union':
      return (def.options ?? []).flatMap((o) => alternatives(o, depth + 1));
    case 'intersection':
      return [def.left, def.right].flatMap((o) => (o ? alternatives(o, depth + 1) : []));
    case 'lazy':
      return def.getter ? alternatives(def.getter(), depth + 1) : [];
    default:
      return [schema];
  }
}

/**
 * The object alternatives of `schema` that `value` may be: a union's members whose literal fields (a discriminator
 * such as `type`) `value` does not contradict. Not objects, or nothing to tell them apart by: every one.
 */
function objectsFor(schema: z.ZodType, value: unknown): z.ZodType[] {
  const given = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  return alternatives(schema).filter((s) => {
    const def = defOf(s);
    if (def.type !== 'object') return true;
    return Object.entries(def.shape ?? {}).every(([k, field]) => {
      const f = defOf(field) as Def & { values?: unknown[] };
      return f.type !== 'literal' || !(k in given) || (f.values ?? []).includes(given[k]);
    });
  });
}

/**
 * The field names the object at `path` of `input` may have under `schema` and does not: of the alternatives its own
 * discriminators (e.g. an operation's `type`) choose, or of all of them.
 */
function missingFieldsAt(schema: z.ZodType, path: ReadonlyArray<PropertyKey>, input: unknown): string[] {
  let value: unknown = input;
  let current = objectsFor(schema, value);
  for (const step of path) {
    const next: z.ZodType[] = [];
    for (const s of current) {
      const def = defOf(s);
      if (def.type === 'object' && typeof step === 'string' && def.shape?.[step]) next.push(def.shape[step]);
      else if (def.type === 'array' && typeof step === 'number' && def.element) next.push(def.element);
      else if (def.type === 'record' && typeof step === 'string' && def.valueType) next.push(def.valueType);
    }
    value = typeof value === 'object' && value !== null ? (value as Record<PropertyKey, unknown>)[step] : undefined;
    current = next.flatMap((s) => objectsFor(s, value));
  }
  const present = typeof value === 'object' && value !== null ? value : {};
  const names = new Set<string>();
  for (const s of current) {
    const def = defOf(s);
    if (def.type === 'object') for (const k of Object.keys(def.shape ?? {})) names.add(k);
  }
  return [...names].filter((f) => !Object.hasOwn(present, f));
}

/** Edit distance with transpositions (optimal string alignment), case-insensitive. */
function distance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate nearest to `word`, if it is near enough to be what was meant: at most 1 edit for names of up to 4
 * characters, 2 up to 8, 3 beyond; a tie between two candidates suggests neither.
 */
function nearest(word: string, candidates: readonly string[]): string | undefined {
  const limit = word.length <= 4 ? 1 : word.length <= 8 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = limit + 1;
  let tie = false;
  for (const c of candidates) {
    const dist = distance(word, c);
    if (dist < bestDistance) {
      best = c;
      bestDistance = dist;
      tie = false;
    } else if (dist === bestDistance && c !== best) {
      tie = true;
    }
  }
  return best !== undefined && !tie && bestDistance <= limit ? best : undefined;
}

/**
 * `unknown field(s) a (did you mean b?), c` for zod's `unrecognized_keys` issue at `path` of `input`: each unknown
 * field with the nearest field that may be there and is not.
 */
export function unknownFields(
  schema: z.ZodType,
  input: unknown,
  path: ReadonlyArray<PropertyKey>,
  keys: readonly string[],
): string {
  const free = missingFieldsAt(schema, path, input);
  const named = keys.map((k) => {
    const meant = nearest(k, free);
    return meant ? `${k} (did you mean ${meant}?)` : k;
  });
  return `unknown field(s) ${named.join(', ')}`;
}
