/**
 * SQS queues on the run's moto (it serves SQS on the S3 port), for tests of S3 event notifications.
 */
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';

import { LOCAL_CREDENTIALS } from '../../src/stack';
import { stackEndpoints, uniqueName } from '../helpers';

export interface TestQueue {
  url: string;
  arn: string;
  /** Every message body received so far (parsed JSON), in arrival order. */
  received: unknown[];
  /**
   * Receives (and deletes) messages until `done(received)` holds, then for `quietMs` more so that a message that
   * should not come has the time to; returns `received`.
   * @throws when `done` does not hold within `timeoutMs`.
   */
  drain(done: (received: unknown[]) => boolean, opts?: { quietMs?: number; timeoutMs?: number }): Promise<unknown[]>;
}

/** Runs `fn` with a fresh queue; deletes it and the client afterwards. */
export async function withQueue<T>(fn: (queue: TestQueue) => Promise<T>): Promise<T> {
  const e = stackEndpoints();
  const sqs = new SQSClient({ endpoint: e.s3Endpoint, region: e.region, credentials: LOCAL_CREDENTIALS });
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('restores') }));
  const url = QueueUrl!;
  try {
    const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
    const received: unknown[] = [];
    const receiveOnce = async () => {
      const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));
      const messages = out.Messages ?? [];
      for (const m of messages) received.push(JSON.parse(m.Body ?? 'null'));
      if (messages.length > 0) {
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: url,
            Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
          }),
        );
      }
      return messages.length;
    };
    const queue: TestQueue = {
      url,
      arn: attrs.Attributes!.QueueArn!,
      received,
      async drain(done, { quietMs = 1000, timeoutMs = 20_000 } = {}) {
        const deadline = Date.now() + timeoutMs;
        while (!done(received)) {
          if (Date.now() > deadline) {
            throw new Error(`the queue did not get the expected messages; got ${JSON.stringify(received)}`);
          }
          if ((await receiveOnce()) === 0) await new Promise((r) => setTimeout(r, 100));
        }
        const quietUntil = Date.now() + quietMs;
        while (Date.now() < quietUntil) {
          if ((await receiveOnce()) === 0) await new Promise((r) => setTimeout(r, 100));
        }
        return received;
      },
    };
    return await fn(queue);
  } finally {
    await sqs.send(new DeleteQueueCommand({ QueueUrl: url })).catch(() => undefined);
    sqs.destroy();
  }
}
