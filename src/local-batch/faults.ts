/**
 * Fault injection for tests of the local engine: fail matching tasks with a chosen error (always, the first N
 * attempts per object, or a seeded share of objects), slow tasks down, hold jobs in Preparing, fail them there, or
 * fail their completion report. Rules are set per engine (a file, an admin endpoint) and can target one job by id or
 * description.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';

import { z } from 'zod';

import { SUPPORTED_OPERATIONS, type FailureReason, type OperationName, type TaskOutcome, type TaskRef } from './types';

/** What a fault rule can match a job on. */
export interface FaultContext {
  jobId: string;
  /** The job's Description, if any. */
  description?: string;
  operation: OperationName;
  /** The bucket of the job's manifest object. */
  manifestBucket: string;
}

/** Operations a rule can name: those the engine runs (others never reach a task). */
const OPERATION_NAMES = SUPPORTED_OPERATIONS as readonly [OperationName, ...OperationName[]];

/**
 * Key regexes run on V8's linear-time regexp engine (the `l` flag): it never backtracks, so no pattern, not even
 * `^(a+)+$`, can hold a task (and the engine's event loop) for longer than a pass over the key. Node leaves the flag
 * off; turning it on only makes `l` available and changes no other regular expression.
 */
setFlagsFromString('--enable-experimental-regexp-engine');
const LINEAR_FLAG = (() => {
  const flag = 'l'; // a variable: lint checks literal flags against the standard ones
  try {
    new RegExp('a', flag);
    return flag;
  } catch {
    return undefined;
  }
})();

/** Why `source` cannot be a rule's keyRegex, or undefined when it can. */
function keyRegexProblem(source: string): string | undefined {
  try {
    new RegExp(source);
  } catch {
    return 'is not a valid regular expression';
  }
  if (LINEAR_FLAG === undefined) {
    return "needs V8's linear-time regexp engine, which this Node.js does not offer (use keyPrefix)";
  }
  try {
    new RegExp(source, LINEAR_FLAG);
  } catch {
    return 'uses a backreference or lookaround, which cannot be matched in linear time';
  }
  return undefined;
}

/** The schema every rule from a file or the admin endpoint is checked against; unknown fields are refused. */
export const FAULT_RULE_SCHEMA = z
  .object({
    /** Names the rule for `remove`; generated (`rule-<n>`) when absent. */
    id: z.string().min(1).max(128).optional(),
    /** All given conditions must hold; an absent `match` matches every task. */
    match: z
      .object({
        /** Exact job id. */
        jobId: z.string().min(1).optional(),
        /** Substring of the job's Description. */
        description: z.string().min(1).optional(),
        operation: z.enum(OPERATION_NAMES).optional(),
        /** The task's bucket; for the job-level faults (`preparing…`, `reportWriteFails`), the manifest's bucket. */
        bucket: z.string().min(1).optional(),
        /** Prefix of the decoded key. Ignored by the job-level faults. */
        keyPrefix: z.string().optional(),
        /**
         * Regular expression tested on the decoded key, in linear time (no backreferences or lookaround). Ignored by
         * the job-level faults.
         */
        keyRegex: z
          .string()
          .superRefine((source, ctx) => {
            const problem = keyRegexProblem(source);
            if (problem) ctx.addIssue({ code: 'custom', message: problem });
          })
          .optional(),
      })
      .strict()
      .optional(),
    /** @default 'InternalError' */
    errorCode: z.string().min(1).max(64).optional(),
    /** @default 500 */
    httpStatus: z.number().int().min(100).max(599).optional(),
    /** The report's ResultMessage. @default 'Injected fault (rule <id>)' */
    message: z.string().max(1024).optional(),
    /** Fail only the first N attempts per (bucket, key, versionId), counted across jobs. @default always */
    times: z.number().int().min(1).optional(),
    /** Share 0..1 of matching objects that fail, chosen by hash(seed, bucket, key). @default 1 */
    rate: z.number().min(0).max(1).optional(),
    /** @default 0 */
    seed: z.number().int().optional(),
    /** Added to every matching task, in milliseconds. */
    latencyMs: z.number().int().min(0).max(600_000).optional(),
    /** Matching jobs stay this long in Preparing, in milliseconds. */
    preparingDelayMs: z.number().int().min(0).max(3_600_000).optional(),
    /**
     * Matching jobs cannot write their completion report (as when the report bucket vanishes or refuses writes): the
     * job ends Failed with ReportWriteFailed after running its tasks. Matched like `preparingDelayMs`.
     */
    reportWriteFails: z.literal(true).optional(),
    /**
     * Matching jobs fail in Preparing, after their manifest was read and after any `preparingDelayMs` (so a test can
     * hold one job there while its siblings reach Suspended): they end Failed, run no task and write no report, with
     * this one entry in FailureReasons (as when AWS finds a problem with the job before it could be confirmed).
     * Matched like `preparingDelayMs`.
     */
    /**
     * The job API (every S3 Control request: CreateJob, DescribeJob, ListJobs, UpdateJobStatus …) answers
     * 429 TooManyRequestsException above this many requests per second, as S3 Control throttles an account: a token
     * bucket that holds one second of requests (at least one). `match` is ignored; tasks are not affected.
     */
    apiRequestsPerSecond: z.number().positive().max(100_000).optional(),
    preparingFails: z
      .object({
        /** The FailureReasons entry's FailureCode. @default 'InternalError' */
        failureCode: z.string().min(1).max(64).optional(),
        /** The entry's FailureReason. @default 'Injected fault (rule <id>)' */
        failureReason: z.string().min(1).max(256).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/**
 * One fault-injection rule. A rule fails tasks unless it only sets `latencyMs`, `preparingDelayMs`,
 * `reportWriteFails` and/or `preparingFails` (then it only delays, or fails the job or its report); so
 * `{ match: { keyPrefix: 'bad/' } }` alone fails those keys with 500 InternalError.
 */
export type FaultRule = z.infer<typeof FAULT_RULE_SCHEMA>;

/** A fault rule (or a rule file) failed validation; the message names the field. */
export class FaultRuleError extends Error {
  override name = 'FaultRuleError';
}

function describeIssues(error: z.ZodError, base = ''): string {
  return error.issues
    .map((i) => {
      const path = [base, ...i.path.map(String)].filter(Boolean).join('.');
      const keys = (i as { keys?: string[] }).keys;
      const detail = i.code === 'unrecognized_keys' && keys ? `unknown field(s) ${keys.join(', ')}` : i.message;
      return `${path || '(rule)'}: ${detail}`;
    })
    .join('; ');
}

function parseRule(input: unknown, where = ''): FaultRule {
  const r = FAULT_RULE_SCHEMA.safeParse(input);
  if (!r.success) throw new FaultRuleError(`invalid fault rule: ${describeIssues(r.error, where)}`);
  return r.data;
}

/** A value in [0, 1) fixed by the seed and the object, so that the same objects fail on every run. */
export function faultHash(seed: number, bucket: string, key: string): number {
  const h = createHash('sha256').update(`${seed}\0${bucket}\0${key}`).digest();
  return h.readUInt32BE(0) / 2 ** 32;
}

function failsTasks(rule: FaultRule): boolean {
  const delayOnly =
    (rule.latencyMs !== undefined ||
      rule.preparingDelayMs !== undefined ||
      rule.reportWriteFails !== undefined ||
      rule.preparingFails !== undefined ||
      rule.apiRequestsPerSecond !== undefined) &&
    rule.errorCode === undefined &&
    rule.httpStatus === undefined &&
    rule.message === undefined &&
    rule.times === undefined &&
    rule.rate === undefined;
  return !delayOnly;
}

function matchesJob(rule: FaultRule, ctx: FaultContext): boolean {
  const m = rule.match;
  if (!m) return true;
  if (m.jobId !== undefined && m.jobId !== ctx.jobId) return false;
  if (m.description !== undefined && !(ctx.description ?? '').includes(m.description)) return false;
  if (m.operation !== undefined && m.operation !== ctx.operation) return false;
  return true;
}

const regexCache = new Map<string, RegExp>();

function compiled(source: string): RegExp {
  let re = regexCache.get(source);
  if (!re) {
    re = new RegExp(source, LINEAR_FLAG);
    regexCache.set(source, re);
  }
  return re;
}

function matchesTask(rule: FaultRule, task: TaskRef): boolean {
  const m = rule.match;
  if (!m) return true;
  if (m.bucket !== undefined && m.bucket !== task.bucket) return false;
  if (m.keyPrefix !== undefined && !task.key.startsWith(m.keyPrefix)) return false;
  if (m.keyRegex !== undefined && !compiled(m.keyRegex).test(task.key)) return false;
  return true;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Injects task failures, latency and Preparing delays into the local engine's jobs. */
export class FaultInjector {
  private rules: Array<FaultRule & { id: string }> = [];
  /** Attempts seen per rule id, per object (`bucket\0key\0versionId`). In memory: a restart starts over. */
  private attempts = new Map<string, Map<string, number>>();
  private nextId = 1;
  /** Tokens left and the time they were counted, per `apiRequestsPerSecond` rule id. */
  private apiBuckets = new Map<string, { tokens: number; at: number }>();
  /** Job API requests answered 429 since the engine started. */
  private throttledRequests = 0;

  /** @throws FaultRuleError when a rule is invalid. */
  constructor(rules: FaultRule[] = []) {
    this.replace(rules);
  }

  /**
   * Loads rules from a JSON file: an array of rules, or `{ "rules": [...] }`.
   * @throws FaultRuleError naming the file and the bad field.
   */
  static fromFile(path: string): FaultInjector {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new FaultRuleError(`cannot read fault rules from ${path}: ${(err as Error).message}`);
    }
    const rules = Array.isArray(json) ? json : (json as { rules?: unknown })?.rules;
    try {
      return new FaultInjector(rules as FaultRule[]);
    } catch (err) {
      throw new FaultRuleError(`${path}: ${(err as Error).message}`);
    }
  }

  /** The rules, in the order they apply. */
  list(): FaultRule[] {
    return this.rules.map((r) => structuredClone(r));
  }

  /** Validates and appends a rule. @throws FaultRuleError (invalid, or its id is taken) */
  add(rule: unknown): FaultRule {
    const r = parseRule(rule);
    if (r.id !== undefined && this.rules.some((x) => x.id === r.id)) {
      throw new FaultRuleError(`invalid fault rule: id: a rule with id ${JSON.stringify(r.id)} already exists`);
    }
    const withId = { ...r, id: r.id ?? this.freshId() };
    this.rules.push(withId);
    return structuredClone(withId);
  }

  /** Validates a whole list and replaces every rule (attempt counters restart). @throws FaultRuleError */
  replace(rules: unknown): FaultRule[] {
    if (!Array.isArray(rules)) throw new FaultRuleError('invalid fault rules: expected an array of rules');
    const parsed = rules.map((r, i) => parseRule(r, `[${i}]`));
    const ids = new Set<string>();
    for (const [i, r] of parsed.entries()) {
      if (r.id === undefined) continue;
      if (ids.has(r.id))
        throw new FaultRuleError(`invalid fault rules: [${i}].id: duplicate id ${JSON.stringify(r.id)}`);
      ids.add(r.id);
    }
    this.rules = [];
    this.attempts.clear();
    this.apiBuckets.clear();
    for (const r of parsed) {
      let id = r.id;
      while (id === undefined || (r.id === undefined && ids.has(id))) id = this.freshId();
      ids.add(id);
      this.rules.push({ ...r, id });
    }
    return this.list();
  }

  clear(): void {
    this.rules = [];
    this.attempts.clear();
    this.apiBuckets.clear();
  }

  /** Removes the rule with this id; false when there is none. */
  remove(id: string): boolean {
    const before = this.rules.length;
    this.rules = this.rules.filter((r) => r.id !== id);
    this.attempts.delete(id);
    this.apiBuckets.delete(id);
    return this.rules.length !== before;
  }

  private freshId(): string {
    let id: string;
    do id = `rule-${this.nextId++}`;
    while (this.rules.some((r) => r.id === id));
    return id;
  }

  /**
   * Called before each task attempt. Sleeps for the latency of every matching rule, then returns the injected
   * failure of the first matching failing rule (the task is then not run), or undefined to run the task.
   */
  async beforeTask(ctx: FaultContext, task: TaskRef): Promise<TaskOutcome | undefined> {
    const matching = this.rules.filter((r) => matchesJob(r, ctx) && matchesTask(r, task));
    const latency = matching.reduce((sum, r) => sum + (r.latencyMs ?? 0), 0);
    if (latency > 0) await sleep(latency);
    for (const rule of matching) {
      if (!failsTasks(rule)) continue;
      if (rule.rate !== undefined && faultHash(rule.seed ?? 0, task.bucket, task.key) >= rule.rate) continue;
      if (rule.times !== undefined) {
        const perObject = this.attempts.get(rule.id) ?? new Map<string, number>();
        this.attempts.set(rule.id, perObject);
        const objectId = `${task.bucket}\0${task.key}\0${task.versionId ?? ''}`;
        const n = (perObject.get(objectId) ?? 0) + 1;
        perObject.set(objectId, n);
        if (n > rule.times) continue;
      }
      return {
        status: 'failed',
        errorCode: rule.errorCode ?? 'InternalError',
        httpStatus: rule.httpStatus ?? 500,
        resultMessage: rule.message ?? `Injected fault (rule ${rule.id})`,
      };
    }
    return undefined;
  }

  /**
   * Called for each job API request: false when an `apiRequestsPerSecond` rule has no token left (the request is
   * then answered 429 TooManyRequestsException), true to serve it. A refused request takes no token.
   */
  admitApiRequest(nowMs: number = Date.now()): boolean {
    const limits = this.rules.filter((r) => r.apiRequestsPerSecond !== undefined);
    const buckets = limits.map((r) => {
      const perSecond = r.apiRequestsPerSecond!;
      const capacity = Math.max(1, perSecond);
      const b = this.apiBuckets.get(r.id) ?? { tokens: capacity, at: nowMs };
      b.tokens = Math.min(capacity, b.tokens + (Math.max(0, nowMs - b.at) / 1000) * perSecond);
      b.at = nowMs;
      this.apiBuckets.set(r.id, b);
      return b;
    });
    if (buckets.some((b) => b.tokens < 1)) {
      this.throttledRequests++;
      return false;
    }
    for (const b of buckets) b.tokens -= 1;
    return true;
  }

  /** Job API requests refused by `apiRequestsPerSecond` so far. */
  get apiThrottled(): number {
    return this.throttledRequests;
  }

  /** The job-level rules that match a job (a `bucket` condition names the manifest's bucket). */
  private jobRules(ctx: FaultContext): Array<FaultRule & { id: string }> {
    return this.rules.filter(
      (r) => matchesJob(r, ctx) && (r.match?.bucket === undefined || r.match.bucket === ctx.manifestBucket),
    );
  }

  /** How long a job should stay in Preparing: the longest delay among matching rules, in milliseconds. */
  preparingDelayMs(ctx: FaultContext): number {
    return this.jobRules(ctx).reduce((ms, r) => Math.max(ms, r.preparingDelayMs ?? 0), 0);
  }

  /** The FailureReasons entry of the first rule that makes this job fail in Preparing, if any. */
  preparingFailure(ctx: FaultContext): FailureReason | undefined {
    const rule = this.jobRules(ctx).find((r) => r.preparingFails !== undefined);
    if (!rule?.preparingFails) return undefined;
    return {
      FailureCode: rule.preparingFails.failureCode ?? 'InternalError',
      FailureReason: rule.preparingFails.failureReason ?? `Injected fault (rule ${rule.id})`,
    };
  }

  /** The id of a rule that makes this job's completion report fail, if any. */
  reportWriteFault(ctx: FaultContext): string | undefined {
    return (this.jobRules(ctx).find((r) => r.reportWriteFails) as { id?: string } | undefined)?.id;
  }
}
