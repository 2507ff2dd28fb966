/**
 * The local stand-in for AWS Lambda in LambdaInvoke jobs: a function ARN maps to a handler the user registers, either
 * a JS module (loaded with `require`, path resolved against the working directory; a single-file `.ts` module is
 * transpiled first) or an HTTP(S) URL that receives
 * the event as a JSON POST. The handler gets the real invocation schema 1.0 / 2.0 event and answers with the real
 * response shape; the task runner interprets it.
 */
import { readFileSync } from 'node:fs';
import Module from 'node:module';
import path from 'node:path';

import type TypeScript from 'typescript';

/** A Lambda "function error": the handler threw or the HTTP handler answered with an error. */
export class LambdaFunctionError extends Error {
  constructor(
    readonly errorMessage: string,
    readonly errorType: string,
  ) {
    super(errorMessage);
    this.name = 'LambdaFunctionError';
  }

  /** The JSON payload Lambda returns for an unhandled error (`{"errorMessage":…,"errorType":…}`). */
  toPayload(): string {
    return JSON.stringify({ errorMessage: this.errorMessage, errorType: this.errorType });
  }
}

/** The handler's response is not JSON (HTTP handlers only; module handlers return values). */
export class LambdaPayloadError extends Error {
  override name = 'LambdaPayloadError';
}

/** Options of the bridge. */
export interface LambdaBridgeOptions {
  /** Longest an invocation may run before it counts as a timeout, in milliseconds. @default 900000 (Lambda's 15 min) */
  timeoutMs?: number;
  /** Directory relative module paths are resolved against. @default process.cwd() */
  cwd?: string;
}

/** Lambda's maximum timeout; a handler that hangs longer is reported as timed out. */
const DEFAULT_TIMEOUT_MS = 900_000;

type ModuleHandler = (event: unknown, context: unknown, callback?: (err: unknown, result?: unknown) => void) => unknown;

const TS_EXTENSIONS = /\.(ts|mts|cts)$/;
const tsModules = new Map<string, unknown>();

/**
 * Loads a single-file TypeScript handler: transpiled (no type check) with the project's `typescript` package and
 * compiled as a CommonJS module next to its source, so its package imports resolve from its own folder. Relative
 * imports of other `.ts` files are not supported; compile such handlers to JS first. Cached like `require`.
 */
function loadTypeScriptModule(file: string): unknown {
  const cached = tsModules.get(file);
  if (cached !== undefined) return cached;
  let ts: typeof TypeScript;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ts = require('typescript') as typeof TypeScript;
  } catch {
    throw new Error('TypeScript handlers need the typescript package (a dev dependency); compile the handler to JS');
  }
  const out = ts.transpileModule(readFileSync(file, 'utf8'), {
    fileName: file,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  });
  const m = new Module(file) as Module & { _compile(code: string, filename: string): void };
  m.filename = file;
  m.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(path.dirname(file));
  m._compile(out.outputText, file);
  tsModules.set(file, m.exports);
  return m.exports;
}

/** `arn:aws:lambda:us-east-1:123456789012:function:name[:qualifier]` → `name`; a bare name stays itself. */
export function lambdaFunctionName(arnOrName: string): string {
  const m = /^arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:]+)(?::.*)?$/.exec(arnOrName);
  if (m) return m[1]!;
  // "name:qualifier" without an ARN
  return arnOrName.split(':')[0]!;
}

function isHttpUrl(target: string): boolean {
  return /^https?:\/\//i.test(target);
}

/**
 * Parses `<function ARN>=<module path | http(s) URL>` (the `--lambda` flag) into `[arn, target]`.
 * @throws Error naming what is wrong when the spec has no `=`, the ARN is not a Lambda function ARN or the target is
 * empty or not a valid URL.
 */
export function parseLambdaMapping(spec: string): [string, string] {
  const i = spec.indexOf('=');
  if (i < 0) {
    throw new Error(
      `invalid Lambda mapping "${spec}": expected <function ARN>=<module path or http(s) URL>, ` +
        `e.g. arn:aws:lambda:us-east-1:123456789012:function:my-fn=./handler.js`,
    );
  }
  const arn = spec.slice(0, i).trim();
  const target = spec.slice(i + 1).trim();
  if (!/^arn:[^:]+:lambda:[^:]*:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9$_-]+)?$/.test(arn)) {
    throw new Error(
      `invalid Lambda mapping "${spec}": "${arn}" is not a Lambda function ARN ` +
        `(arn:aws:lambda:<region>:<12-digit account>:function:<name>[:<version or alias>])`,
    );
  }
  if (target === '') throw new Error(`invalid Lambda mapping "${spec}": the handler after "=" is empty`);
  if (isHttpUrl(target)) {
    try {
      new URL(target);
    } catch {
      throw new Error(`invalid Lambda mapping "${spec}": "${target}" is not a valid URL`);
    }
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
    throw new Error(
      `invalid Lambda mapping "${spec}": only http(s) URLs and module paths are supported, got "${target}"`,
    );
  }
  return [arn, target];
}

/**
 * Maps function ARNs to local handlers and invokes them synchronously, like the service's `RequestResponse` call.
 *
 * A job's `FunctionArn` matches a registered ARN exactly, or else by function name (so a registration for
 * `…:function:fn` serves `…:function:fn:prod` and `…:function:fn:$LATEST`, and the other way round).
 */
export class LambdaBridge {
  private readonly handlers: Map<string, string>;
  private readonly timeoutMs: number;
  private readonly cwd: string;

  constructor(handlers: Record<string, string> = {}, opts: LambdaBridgeOptions = {}) {
    this.handlers = new Map(Object.entries(handlers));
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.cwd = opts.cwd ?? process.cwd();
  }

  /** Whether a handler is registered for `functionArn`. */
  has(functionArn: string): boolean {
    return this.target(functionArn) !== undefined;
  }

  /** The registered target for `functionArn` (module path or URL), if any. */
  target(functionArn: string): string | undefined {
    const exact = this.handlers.get(functionArn);
    if (exact !== undefined) return exact;
    const name = lambdaFunctionName(functionArn);
    for (const [arn, target] of this.handlers) {
      if (lambdaFunctionName(arn) === name) return target;
    }
    return undefined;
  }

  /**
   * Invokes the handler for `functionArn` and returns its response payload (a module's return value, an HTTP
   * handler's parsed JSON body).
   * @throws LambdaFunctionError when the handler throws, times out or (HTTP) answers with an error status;
   * LambdaPayloadError when an HTTP handler's body is not JSON; Error when no handler is registered.
   */
  async invoke(functionArn: string, event: unknown): Promise<unknown> {
    const target = this.target(functionArn);
    if (target === undefined) throw new Error(`no local handler is registered for Lambda function ${functionArn}`);
    return isHttpUrl(target) ? this.invokeHttp(target, event) : this.invokeModule(functionArn, target, event);
  }

  private async invokeModule(functionArn: string, target: string, event: unknown): Promise<unknown> {
    const handler = this.loadModuleHandler(target);
    const deadline = Date.now() + this.timeoutMs;
    const context = {
      functionName: lambdaFunctionName(functionArn),
      functionVersion: '$LATEST',
      invokedFunctionArn: functionArn,
      memoryLimitInMB: '128',
      awsRequestId: globalThis.crypto.randomUUID(),
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new LambdaFunctionError(`Task timed out after ${(this.timeoutMs / 1000).toFixed(2)} seconds`, 'Timeout'),
          ),
        this.timeoutMs,
      );
    });
    const run = new Promise<unknown>((resolve, reject) => {
      // Callback-style handlers declare three parameters; others return a value or a promise.
      const callback = (err: unknown, result?: unknown) => (err ? reject(err) : resolve(result));
      try {
        const r = handler.length >= 3 ? handler(event, context, callback) : handler(event, context);
        if (handler.length < 3 || (r && typeof (r as Promise<unknown>).then === 'function')) {
          Promise.resolve(r).then(resolve, reject);
        }
      } catch (err) {
        reject(err);
      }
    });
    try {
      return await Promise.race([run, timeout]);
    } catch (err) {
      if (err instanceof LambdaFunctionError) throw err;
      const e = err as { message?: unknown; name?: unknown };
      throw new LambdaFunctionError(
        typeof e?.message === 'string' ? e.message : String(err),
        typeof e?.name === 'string' ? e.name : 'Error',
      );
    } finally {
      clearTimeout(timer);
    }
  }

  private loadModuleHandler(target: string): ModuleHandler {
    const file = path.resolve(this.cwd, target);
    let mod: unknown;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      mod = TS_EXTENSIONS.test(file) ? loadTypeScriptModule(file) : require(file);
    } catch (err) {
      throw new LambdaFunctionError(
        `Cannot load Lambda handler module ${file}: ${(err as Error).message}`,
        'Runtime.ImportModuleError',
      );
    }
    const m = mod as { handler?: unknown; default?: unknown };
    const fn =
      typeof m?.handler === 'function'
        ? m.handler
        : typeof m?.default === 'function'
          ? m.default
          : typeof (m?.default as { handler?: unknown } | undefined)?.handler === 'function'
            ? (m.default as { handler: unknown }).handler
            : typeof mod === 'function'
              ? mod
              : undefined;
    if (!fn) {
      throw new LambdaFunctionError(
        `Lambda handler module ${file} exports no function named handler (or a default export)`,
        'Runtime.HandlerNotFound',
      );
    }
    return fn as ModuleHandler;
  }

  private async invokeHttp(url: string, event: unknown): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(event),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const e = err as Error;
      if (e.name === 'TimeoutError') {
        throw new LambdaFunctionError(`Task timed out after ${(this.timeoutMs / 1000).toFixed(2)} seconds`, 'Timeout');
      }
      throw new LambdaFunctionError(`Cannot reach Lambda handler ${url}: ${e.message}`, 'HandlerUnreachable');
    }
    const text = await res.text();
    // Like Lambda's Invoke API: X-Amz-Function-Error or an error status means the function failed.
    const functionError = res.headers.get('x-amz-function-error');
    if (!res.ok || functionError) {
      let message = text || `HTTP ${res.status}`;
      let type = functionError || `HTTP${res.status}`;
      try {
        const body = JSON.parse(text) as { errorMessage?: unknown; errorType?: unknown };
        if (typeof body.errorMessage === 'string') message = body.errorMessage;
        if (typeof body.errorType === 'string') type = body.errorType;
      } catch {
        // a non-JSON error body is used as the message
      }
      throw new LambdaFunctionError(message, type);
    }
    try {
      return JSON.parse(text);
    } catch {
      throw new LambdaPayloadError(`Handler ${url} answered with a body that is not JSON: ${text.slice(0, 200)}`);
    }
  }
}
