/**
 * Maps Lambda function ARNs to local handlers (a JS module or an HTTP URL) so that LambdaInvoke jobs run locally.
 */
export class LambdaBridge {
  private readonly handlers: Map<string, string>;

  constructor(handlers: Record<string, string> = {}) {
    this.handlers = new Map(Object.entries(handlers));
  }

  /** Whether a handler is registered for `functionArn`. */
  has(functionArn: string): boolean {
    return this.handlers.has(functionArn);
  }

  /** Invokes the handler registered for `functionArn` with `event` and returns its response payload. */
  async invoke(functionArn: string, event: unknown): Promise<unknown> {
    void event;
    throw new Error(`Lambda invocation of ${functionArn} is not implemented yet`);
  }
}

/** Parses `<function ARN>=<module path | http(s) URL>` into `[arn, target]`. */
export function parseLambdaMapping(spec: string): [string, string] {
  const i = spec.indexOf('=');
  if (i <= 0 || i === spec.length - 1) throw new Error(`invalid Lambda mapping "${spec}": expected <function ARN>=<target>`);
  return [spec.slice(0, i), spec.slice(i + 1)];
}
