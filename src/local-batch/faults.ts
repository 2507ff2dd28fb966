import type { OperationName, TaskOutcome, TaskRef } from './types';

/** What a fault rule can match a job on. */
export interface FaultContext {
  jobId: string;
  description?: string;
  operation: OperationName;
  manifestBucket: string;
}

/** One fault-injection rule. */
export interface FaultRule {
  id?: string;
  match?: {
    jobId?: string;
    description?: string;
    operation?: OperationName;
    bucket?: string;
    keyPrefix?: string;
    keyRegex?: string;
  };
  errorCode?: string;
  httpStatus?: number;
  message?: string;
  times?: number;
  rate?: number;
  seed?: number;
  latencyMs?: number;
  preparingDelayMs?: number;
}

/** A fault rule failed validation. */
export class FaultRuleError extends Error {
  override name = 'FaultRuleError';
}

/** Injects task failures, latency and Preparing delays into the local engine's jobs. */
export class FaultInjector {
  private rules: FaultRule[];

  constructor(rules: FaultRule[] = []) {
    this.rules = [...rules];
  }

  static fromFile(path: string): FaultInjector {
    throw new FaultRuleError(`fault files are not implemented yet (${path})`);
  }

  list(): FaultRule[] {
    return [...this.rules];
  }

  add(rule: unknown): FaultRule {
    this.rules.push(rule as FaultRule);
    return rule as FaultRule;
  }

  replace(rules: unknown): FaultRule[] {
    this.rules = [...(rules as FaultRule[])];
    return this.list();
  }

  clear(): void {
    this.rules = [];
  }

  remove(id: string): boolean {
    const before = this.rules.length;
    this.rules = this.rules.filter((r) => r.id !== id);
    return this.rules.length !== before;
  }

  async beforeTask(ctx: FaultContext, task: TaskRef): Promise<TaskOutcome | undefined> {
    void ctx;
    void task;
    return undefined;
  }

  preparingDelayMs(ctx: FaultContext): number {
    void ctx;
    return 0;
  }
}
