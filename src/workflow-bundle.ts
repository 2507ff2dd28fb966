/**
 * Bundles the workflow code in a short-lived child process, so that webpack's memory is returned to the system when
 * the bundle is made. Bundled in the worker itself, webpack's garbage stayed in the main thread's heap (its limit
 * comes from the machine's memory: V8 had no reason to collect it) while the first workflow tasks of every campaign
 * arrived: the main heap stood at ~250 MB in the start burst of bench:campaigns instead of ~120 MB (README, Scale).
 */
import { fork } from 'node:child_process';

/** The argument that makes this module, run as a script, the bundling child. */
const CHILD_ARG = '--s3c-bundle-workflows';

/** What the child sends back: the bundle's code, or why it could not make it. */
type ChildAnswer = { code: string } | { error: string };

/**
 * The workflow bundle of `workflowsPath`, made by `bundleWorkflowCode` (the SDK's, with its defaults: the same bundle
 * `Worker.create({ workflowsPath })` makes) in a child process. Rejects with the child's error.
 */
export async function bundleWorkflowsInChild(workflowsPath: string): Promise<{ code: string }> {
  const child = fork(__filename, [CHILD_ARG, workflowsPath], {
    // The child inherits the parent's Node options (a heap limit, a --require), not its arguments.
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return await new Promise((resolve, reject) => {
    let answer: ChildAnswer | undefined;
    child.on('message', (m) => (answer = m as ChildAnswer));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (answer && 'code' in answer) resolve({ code: answer.code });
      else if (answer) reject(new Error(`bundling the workflow code failed: ${answer.error}`));
      else reject(new Error(`the workflow bundler exited with ${signal ?? `code ${code}`} before it answered`));
    });
  });
}

async function childMain(workflowsPath: string): Promise<void> {
  const { bundleWorkflowCode, DefaultLogger } = await import('@temporalio/worker');
  let answer: ChildAnswer;
  try {
    // webpack's report is build output: warnings and errors only.
    const { code } = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
    answer = { code };
  } catch (err) {
    answer = { error: (err as Error).message };
  }
  process.send?.(answer, () => process.exit(0));
}

if (require.main === module && process.argv[2] === CHILD_ARG && process.argv[3]) {
  void childMain(process.argv[3]);
}
