/**
 * Throttling slows everyone down and fails nothing: an engine that answers 429 TooManyRequestsException above a rate
 * (the `apiRequestsPerSecond` fault), a client whose calls go through the worker's adaptive limiter, and campaigns
 * that all succeed against such an engine without a single failed activity attempt.
 */
import { ListJobsCommand } from '@aws-sdk/client-s3-control';
import { temporal } from '@temporalio/proto';

import { AdaptiveRateLimiter } from '../../src/aws/rate-limiter';
import { limitS3ControlCalls } from '../../src/aws/throttling';
import { createLocalS3ControlClient } from '../../src/local-batch';
import type { CampaignResult } from '../../src/shared/campaign';
import { LOCAL_CREDENTIALS } from '../../src/stack';
import { uniqueName, withBucket } from '../helpers';
import { putObjects, startCampaign, testSpec, withCampaignWorker } from '../support/campaign';
import { withEngine } from '../support/engine';

const ACCOUNT = '111122223333';
const { EventType } = temporal.api.enums.v1;

describe('S3 Control throttling', () => {
  test('the engine refuses calls above the rate; through the limiter every call gets its answer', async () => {
    await withEngine({ faults: [{ apiRequestsPerSecond: 5 }] }, async (engine, raw) => {
      const list = (c: typeof raw) => c.send(new ListJobsCommand({ AccountId: ACCOUNT }));
      const plain = await Promise.allSettled(Array.from({ length: 20 }, () => list(raw)));
      const refused = plain.filter((r) => r.status === 'rejected');
      expect(refused.length).toBeGreaterThanOrEqual(10);
      expect(refused.map((r) => (r as PromiseRejectedResult).reason as { name: string })).toEqual(
        refused.map(() => expect.objectContaining({ name: 'TooManyRequestsException' })),
      );

      // One SDK attempt per call: what gets through is the limiter's doing, not the SDK's retries.
      const limited = createLocalS3ControlClient({
        endpoint: engine.url,
        credentials: LOCAL_CREDENTIALS,
        maxAttempts: 1,
      });
      try {
        const limiter = limitS3ControlCalls(limited, new AdaptiveRateLimiter({ initialRate: 20 }));
        const before = engine.faults.apiThrottled;
        const answers = await Promise.allSettled(Array.from({ length: 20 }, () => list(limited)));
        expect(answers.filter((r) => r.status === 'rejected')).toEqual([]);
        expect(engine.faults.apiThrottled).toBeGreaterThan(before);
        expect(limiter.stats().throttled).toBe(engine.faults.apiThrottled - before);
        expect(limiter.rate).toBeLessThan(20);
      } finally {
        limited.destroy();
      }
    });
  });

  test('campaigns against a throttling engine all succeed, with no failed activity attempt', async () => {
    await withBucket(async (bucket, s3) => {
      const campaigns = 5;
      const keysOf = (c: number) => [`t${c}/a.txt`, `t${c}/b.txt`];
      await putObjects(s3, bucket, Array.from({ length: campaigns }, (_, c) => keysOf(c)).flat());
      // 2 calls/s for the whole account, while five campaigns poll every second (a pollInterval that asks for ~5/s).
      await withEngine({ faults: [{ apiRequestsPerSecond: 2 }] }, async (engine) => {
        await withCampaignWorker(
          async (h) => {
            const handles = await Promise.all(
              Array.from({ length: campaigns }, (_, c) =>
                startCampaign(
                  h,
                  uniqueName('wf-throttled'),
                  testSpec(h, bucket, {
                    source: { type: 'keys', bucket, keys: keysOf(c) },
                    approval: { required: false },
                    pollInterval: '1s',
                  }),
                ),
              ),
            );
            const results = (await Promise.all(handles.map((w) => w.result()))) as CampaignResult[];
            expect(results.map((r) => [r.outcome, r.succeeded, r.failed])).toEqual(
              results.map(() => ['Succeeded', 2, 0]),
            );
            expect(engine.faults.apiThrottled).toBeGreaterThan(0);
            // Every activity ran once: throttling was absorbed by the limiter, not surfaced as a failed attempt.
            const retried: string[] = [];
            for (const w of handles) {
              for (const e of (await w.fetchHistory()).events ?? []) {
                const a = e.activityTaskStartedEventAttributes;
                if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED && (a?.attempt ?? 1) > 1) {
                  retried.push(`${w.workflowId}: attempt ${a?.attempt} (${a?.lastFailure?.message ?? ''})`);
                }
              }
            }
            expect(retried).toEqual([]);
          },
          { engineUrl: engine.url },
        );
      });
    });
  });
});
