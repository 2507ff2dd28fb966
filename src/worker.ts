/**
 * Wiring only: config → clients → activities → Worker. `s3-campaigns worker` and `s3-campaigns dev` run this.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type LogEntry,
  type WorkerOptions,
  type WorkerTuner,
} from '@temporalio/worker';

import { createActivities } from './activities';
import { createAwsClients, type AwsClients } from './aws/clients';
import {
  HEAVY_ACTIVITY_MIB,
  HEAVY_GUARANTEED_SLOTS,
  workerSettingsFrom,
  type Config,
  type WorkerSettings,
} from './config';
import { memoryAwareSlotSupplier } from './heavy-slots';
import { createLogger, type Logger } from './logging';
import { runtimeMetricsOptions } from './observability/worker-port';
import { HEAVY_TASK_QUEUE_SUFFIX, heavyTaskQueue } from './shared/task-queue';
import { bundleWorkflowsInChild } from './workflow-bundle';

export interface CreateWorkerOptions {
  config: Config;
  /** Clients to use instead of building them from `config.aws` (tests, the dev stack). */
  clients?: AwsClients;
  /** An open connection to reuse; otherwise one is opened from `config.temporal` and closed with the worker. */
  connection?: NativeConnection;
  /** Overrides for Worker.create (tests bundle workflows once and pass `workflowBundle`). */
  workerOptions?: Partial<WorkerOptions>;
  /**
   * On shutdown, how long running activities may go on before they are cancelled (long ones heartbeat their
   * progress then, and the next worker resumes from it). @default DEFAULT_SHUTDOWN_GRACE_MS
   */
  shutdownGraceMs?: number;
  /** Worker plugins (tracing). */
  plugins?: WorkerOptions['plugins'];
  /** Queues, cache and slots. @default `workerSettingsFrom(process.env)` */
  settings?: WorkerSettings;
}

/**
 * Below Kubernetes' default terminationGracePeriodSeconds (30 s), so that cancelled activities still have time to
 * heartbeat and fail over before the pod is killed.
 */
export const DEFAULT_SHUTDOWN_GRACE_MS = 20_000;

/**
 * The longest the worker holds back an activity's heartbeats (the SDK sends the latest details at most this often).
 * Cancellation reaches an activity only in the answer to a heartbeat: at the SDK's default (60 s for our 2-minute
 * heartbeat timeouts) a cancelled campaign's manifest build ran on for up to a minute, and a retry after a crash resumed
 * from progress up to a minute old. One heartbeat per running activity every 5 s is little load for the server.
 */
const MAX_HEARTBEAT_THROTTLE = '5s';

/** SDK meta that is noise (or an opaque credential-like token) in logs. */
const DROPPED_META = new Set(['taskToken', 'sdkComponent', 'isLocal', 'namespace']);

/**
 * Routes the Temporal SDK's logs (worker, workflow and activity `log.*` calls) through our structured logger: JSON
 * lines off a TTY, each carrying the campaign id (the workflow id) and, where logged, the job id. Call once, before
 * the first connection; later calls are ignored.
 *
 * `shutdownSignals`: the signals on which the SDK shuts its workers down by itself. A caller that stops the worker
 * along with other things on a signal (`dev`) passes `[]` and owns the signals. @default the SDK's (SIGINT, SIGTERM,
 * SIGQUIT, SIGUSR2)
 */
export function installRuntimeLogging(
  log: Logger = createLogger('worker'),
  opts: {
    shutdownSignals?: NodeJS.Signals[];
    /** The SDK's Prometheus exporter's loopback `host:port` (read by the worker's metrics port); none when unset. */
    metricsBindAddress?: string;
  } = {},
): void {
  const write = (entry: LogEntry) => {
    const meta: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(entry.meta ?? {})) if (!DROPPED_META.has(k)) meta[k] = v;
    if (typeof meta.workflowId === 'string') meta.campaign = meta.workflowId;
    // webpack's bundle report is a page of build output: useful only when debugging. The heavy task queue's worker
    // has no workflows by design, and the SDK warns about it at every start: not a warning here.
    const quiet =
      entry.message.startsWith('asset workflow-bundle') ||
      (entry.message.startsWith('No workflows registered') &&
        String(meta.taskQueue ?? '').endsWith(HEAVY_TASK_QUEUE_SUFFIX));
    const level = quiet
      ? 'debug'
      : entry.level === 'ERROR'
        ? 'error'
        : entry.level === 'WARN'
          ? 'warn'
          : entry.level === 'INFO'
            ? 'info'
            : 'debug';
    log[level](entry.message, meta);
  };
  try {
    Runtime.install({
      logger: new DefaultLogger(process.env.S3C_LOG_LEVEL?.toUpperCase() === 'DEBUG' ? 'DEBUG' : 'INFO', write),
      ...(opts.shutdownSignals ? { shutdownSignals: opts.shutdownSignals } : {}),
      ...(opts.metricsBindAddress ? { telemetryOptions: runtimeMetricsOptions(opts.metricsBindAddress) } : {}),
    });
  } catch {
    // A runtime exists already (tests install a quiet one): keep it.
  }
}

export async function connectWorker(temporal: Config['temporal']): Promise<NativeConnection> {
  return await NativeConnection.connect(temporal.connection);
}

/**
 * Runs `create` with V8's heap limit for new isolates set to `heapMiB`: the SDK's workflow thread, started (and
 * initialised) within `Worker.create`, gets it; the main thread keeps its own, and isolates started later get the
 * default again. With the process's limit (from the machine's memory) V8 let evicted workflows' contexts pile up.
 * It also sets `MODULE_BODY_OPTIMIZATION_FILTERS`, which stay set: V8 reads them at each optimisation.
 */
async function withNewThreadHeapLimit<T>(heapMiB: number, create: () => Promise<T>): Promise<T> {
  for (const flag of MODULE_BODY_OPTIMIZATION_FILTERS) v8.setFlagsFromString(flag);
  v8.setFlagsFromString(`--max-old-space-size=${heapMiB}`);
  try {
    return await create();
  } finally {
    v8.setFlagsFromString('--max-old-space-size=0');
  }
}

/**
 * V8 flags that keep the workflow bundle's module bodies out of the optimising compilers. webpack names each module's
 * function by its path (`./node_modules/zod/v4/classic/schemas.cjs`, `./dist/src/workflows/campaign.js`), and with the
 * reusable V8 context the SDK evaluates every module of the bundle again for each workflow it creates (each has its
 * own module cache), so these run-once functions turn hot and TurboFan compiled them: zod's schema module alone took
 * 19.5 s of a compiler thread and ~400 MB of compiler memory (V8's zones, outside its heap) at once, which was the
 * peak of 1,000 campaigns on one worker (README, Scale). Interpreted, a module body costs the same as before the
 * compile. V8 flags are process-wide: no function of the main thread is named `./…`.
 */
export const MODULE_BODY_OPTIMIZATION_FILTERS = ['--turbo-filter=-./*', '--maglev-filter=-./*'];

/** How often the memory guard compares the process's RSS with its budget. */
const MEMORY_GUARD_INTERVAL_MS = 5_000;
/** The share of the budget above which the guard collects the main thread's garbage. */
const MEMORY_GUARD_SHARE = 0.75;

/**
 * Keeps the main thread's garbage within the budget: its V8 heap limit comes from the machine's memory (4 GiB here)
 * and cannot change once Node runs, so V8 let the garbage of activations and activity calls grow far past what was
 * in use. Above 75% of `budgetMiB` of RSS, a full collection runs (at most every 5 s; tens of ms on a heap this size).
 * Returns the function that stops it.
 */
export function startMemoryGuard(budgetMiB: number): () => void {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as (() => void) | undefined;
  if (typeof gc !== 'function') return () => undefined;
  const timer = setInterval(() => {
    if (process.memoryUsage.rss() > budgetMiB * MEMORY_GUARD_SHARE * 2 ** 20) gc();
  }, MEMORY_GUARD_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Where the light worker gets its workflow code: a bundle made in a child process (src/workflow-bundle.ts), or the
 * workflows' path for the SDK to bundle in this process when plugins are set (tracing adds its workflow interceptor
 * modules to the bundle, which the SDK does only when it bundles) or when running from TypeScript sources (tests).
 */
async function workflowCodeOptions(plugins: WorkerOptions['plugins']): Promise<Partial<WorkerOptions>> {
  const workflowsPath = require.resolve('./workflows');
  if ((plugins && plugins.length > 0) || !__filename.endsWith('.js')) return { workflowsPath };
  return { workflowBundle: await bundleWorkflowsInChild(workflowsPath) };
}

/**
 * The heavy worker's slots: activity slots by memory (src/heavy-slots.ts); the other kinds are the SDK's defaults,
 * which a tuner must name (this worker runs no workflows).
 */
function heavyTuner(settings: WorkerSettings): WorkerTuner {
  return {
    activityTaskSlotSupplier: memoryAwareSlotSupplier({
      guaranteed: HEAVY_GUARANTEED_SLOTS,
      max: settings.heavyActivities,
      budgetMiB: settings.memoryBudgetMiB,
      perActivityMiB: HEAVY_ACTIVITY_MIB,
    }),
    workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: 2 },
    localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 100 },
    nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
  };
}

/** One SDK worker of a campaign worker process: the queue it polls and what it runs there. */
export interface QueueWorker {
  /** `light`: the campaign task queue (workflows, short activities); `heavy`: `<taskQueue>-heavy` (activities only). */
  kind: 'light' | 'heavy';
  taskQueue: string;
  worker: Worker;
}

/**
 * The SDK workers of one process, run and stopped together: the light one (workflows and short activities on the
 * campaign task queue) and the heavy one (long activities on `<taskQueue>-heavy`, with slots of their own), or one of
 * them. A heavy activity then never holds a slot a poll of another campaign needs.
 */
export class CampaignWorker {
  constructor(readonly queues: QueueWorker[]) {
    if (queues.length === 0) throw new Error('a campaign worker serves at least one task queue');
  }

  /** RUNNING while every SDK worker runs; otherwise the state of the first that does not. */
  getState(): ReturnType<Worker['getState']> {
    return this.queues.map((q) => q.worker.getState()).find((s) => s !== 'RUNNING') ?? 'RUNNING';
  }

  /** Stops polling on every queue; running activities get the shutdown grace. */
  shutdown(): void {
    for (const q of this.queues) if (q.worker.getState() === 'RUNNING') q.worker.shutdown();
  }

  /** Runs every SDK worker until all have stopped; if one fails, the others are shut down and its error thrown. */
  async run(): Promise<void> {
    const results = await Promise.allSettled(
      this.queues.map((q) =>
        q.worker.run().catch((err: unknown) => {
          this.shutdown();
          throw err;
        }),
      ),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Runs until `promise` settles, then shuts down and waits for the workers to stop (as the SDK's `runUntil`). */
  async runUntil<R>(promise: Promise<R>): Promise<R> {
    const running = this.run();
    try {
      return await Promise.race([
        promise,
        running.then(() => {
          throw new Error('the worker stopped before the awaited work ended');
        }),
      ]);
    } finally {
      this.shutdown();
      await running;
    }
  }
}

/**
 * Builds the campaign worker: by default one SDK worker on the campaign task queue (workflows and light activities)
 * and one on `<taskQueue>-heavy` (heavy activities), sized by `settings`. The caller runs it (`worker.run()`) and
 * shuts it down.
 */
export async function createWorker(
  opts: CreateWorkerOptions,
): Promise<{ worker: CampaignWorker; connection: NativeConnection; close: () => Promise<void> }> {
  const ownsConnection = !opts.connection;
  const connection = opts.connection ?? (await connectWorker(opts.config.temporal));
  const clients = opts.clients ?? createAwsClients(opts.config.aws);
  const settings = opts.settings ?? workerSettingsFrom(process.env);
  const taskQueue = opts.config.temporal.taskQueue;
  // Both SDK workers register every activity: histories from before the heavy queue scheduled heavy activities on the
  // campaign queue, and a campaign replayed from one still does.
  const activities = createActivities(clients);
  const common = {
    connection,
    namespace: opts.config.temporal.namespace,
    activities,
    maxHeartbeatThrottleInterval: MAX_HEARTBEAT_THROTTLE,
    shutdownGraceTime: opts.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS,
    ...(opts.plugins ? { plugins: opts.plugins } : {}),
  } satisfies Partial<WorkerOptions>;
  const queues: QueueWorker[] = [];
  try {
    if (settings.queues !== 'heavy') {
      const workflowCode = opts.workerOptions?.workflowBundle ? {} : await workflowCodeOptions(opts.plugins);
      queues.push({
        kind: 'light',
        taskQueue,
        worker: await withNewThreadHeapLimit(settings.workflowHeapMiB, () =>
          Worker.create({
            ...common,
            taskQueue,
            maxCachedWorkflows: settings.maxCachedWorkflows,
            maxConcurrentActivityTaskExecutions: settings.lightActivities,
            ...workflowCode,
            ...opts.workerOptions,
          }),
        ),
      });
    }
    if (settings.queues !== 'light') {
      // Activities only: the workflow options (bundle, path, cache) are the light worker's.
      const activityOptions: Partial<WorkerOptions> = { ...opts.workerOptions };
      delete activityOptions.workflowBundle;
      delete activityOptions.workflowsPath;
      delete activityOptions.maxCachedWorkflows;
      queues.push({
        kind: 'heavy',
        taskQueue: heavyTaskQueue(taskQueue),
        worker: await Worker.create({
          ...common,
          ...activityOptions,
          taskQueue: heavyTaskQueue(taskQueue),
          ...(settings.heavyAdmission === 'memory'
            ? { tuner: heavyTuner(settings) }
            : { maxConcurrentActivityTaskExecutions: settings.heavyActivities }),
        }),
      });
    }
    return {
      worker: new CampaignWorker(queues),
      connection,
      close: async () => {
        if (ownsConnection) await connection.close();
      },
    };
  } catch (err) {
    if (ownsConnection) await connection.close();
    throw err;
  }
}
