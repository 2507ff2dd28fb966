/**
 * `pollInterval: "auto"` end to end: the campaign polls at once after the approval and on a cancel, waits within the
 * documented bounds in between, and records the `adaptive-poll-interval` patch (so its history replays as it ran).
 */
import { DescribeJobCommand } from '@aws-sdk/client-s3-control';
import { WorkflowFailedError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

import { AUTO_POLL } from '../../src/campaign/poll-interval';
import { approveUpdate } from '../../src/shared/campaign';
import { controlClient, uniqueName, withBucket } from '../helpers';
import {
  addFault,
  putObjects,
  removeFault,
  startCampaign,
  testSpec,
  waitForPhase,
  waitForStatus,
  withCampaignWorker,
} from '../support/campaign';

const { EventType } = temporal.api.enums.v1;

test('auto polls: at once after the approval and on a cancel, 5 s to 1 min apart while the job starts', async () => {
  await withBucket(async (bucket, s3) => {
    const keys = Array.from({ length: 100 }, (_, i) => `p/${i}.txt`);
    await putObjects(s3, bucket, keys);
    const slow = await addFault({ match: { bucket }, latencyMs: 2000 });
    try {
      await withCampaignWorker(async (h) => {
        const spec = testSpec(h, bucket, { source: { type: 'keys', bucket, keys }, approval: { required: true } });
        delete (spec as { pollInterval?: string }).pollInterval; // the default: "auto"
        const handle = await startCampaign(h, uniqueName('wf-auto-poll'), spec);
        await waitForPhase(handle, 'AwaitingApproval');
        await handle.executeUpdate(approveUpdate, { args: [{ by: 'test' }] });
        // The job runs for a while (every task takes 2 s): the cancel finds it running.
        const running = await waitForStatus(handle, (s) => s.phase === 'Running', 'phase Running');
        await handle.cancel();
        await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
        const job = await controlClient().send(
          new DescribeJobCommand({ AccountId: h.accountId, JobId: running.jobs[0]!.jobId! }),
        );
        expect(job.Job?.Status).toBe('Cancelled');

        const events = (await handle.fetchHistory()).events ?? [];
        // What the workflow did, in order: activities by type, timers by duration, the cancel request.
        const steps = events.flatMap((e): string[] => {
          if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
            const a = e.activityTaskScheduledEventAttributes!;
            return [a.activityType!.name!];
          }
          if (e.eventType === EventType.EVENT_TYPE_TIMER_STARTED) {
            // Poll waits only ("next poll in …", "wait … for cancelled jobs"), not the approval deadline's timer.
            const summary = Buffer.from(e.userMetadata?.summary?.data ?? []).toString('utf8');
            if (!/next poll|cancelled jobs/.test(summary)) return [];
            const t = e.timerStartedEventAttributes!.startToFireTimeout!;
            return [`timer ${Number(t.seconds ?? 0) * 1000 + Math.round((t.nanos ?? 0) / 1e6)}`];
          }
          if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED) return ['cancel requested'];
          return [];
        });
        const timers = steps.filter((s) => s.startsWith('timer ')).map((s) => Number(s.slice(6)));
        expect(timers.length).toBeGreaterThan(0);
        expect(timers[0]).toBe(AUTO_POLL.floorMs);
        for (const ms of timers) {
          expect(ms).toBeGreaterThanOrEqual(AUTO_POLL.floorMs);
          expect(ms).toBeLessThanOrEqual(AUTO_POLL.eventfulCapMs);
        }
        // The approval's UpdateJobStatus is followed by a DescribeJob, with no wait in between.
        const approved = steps.indexOf('updateBatchJobStatus');
        expect(steps[approved + 1]).toBe('describeBatchJobs');
        // The cancel interrupts the wait: the next thing the campaign does is cancel the job.
        const cancelled = steps.indexOf('cancel requested');
        expect(steps[cancelled + 1]).toBe('updateBatchJobStatus');
        const markers = events
          .filter((e) => e.eventType === EventType.EVENT_TYPE_MARKER_RECORDED)
          .map((e) => JSON.stringify(e.markerRecordedEventAttributes?.details ?? {}));
        expect(markers.some((m) => m.includes(Buffer.from('"adaptive-poll-interval"').toString('base64')))).toBe(true);
      });
    } finally {
      await removeFault(slow);
    }
  });
});
