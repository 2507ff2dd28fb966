/**
 * A compute-checksum campaign end to end on the local stack: the engine computes each object's checksum and the
 * job's completion report (kept in the campaign's folder, every task) carries it as AWS documents, so an operator
 * finds every object's checksum there.
 */
import { createHash } from 'node:crypto';

import { PutObjectCommand } from '@aws-sdk/client-s3';

import { statusQuery, type CampaignResult } from '../../src/shared/campaign';
import { uniqueName, withBucket } from '../helpers';
import { startCampaign, testSpec, withCampaignWorker } from '../support/campaign';
import { readJobReport } from '../support/engine';

describe('compute-checksum campaign', () => {
  test('SHA256 of every object, in the completion report of the campaign’s job', async () => {
    await withBucket(async (bucket, s3) => {
      const bodies: Record<string, string> = {
        'data/a.bin': 'alpha',
        'data/b c.bin': 'x'.repeat(70_000),
        'data/ü+1.bin': '',
      };
      for (const [key, body] of Object.entries(bodies)) {
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
      }
      await withCampaignWorker(async (h) => {
        const workflowId = uniqueName('wf-checksum');
        const handle = await startCampaign(
          h,
          workflowId,
          testSpec(h, bucket, {
            source: { type: 'keys', bucket, keys: Object.keys(bodies) },
            operation: { type: 'compute-checksum', algorithm: 'SHA256' },
            approval: { required: false },
          }),
        );
        expect((await handle.result()) as CampaignResult).toMatchObject({ outcome: 'Succeeded', objects: 3 });
        const [job] = (await handle.query(statusQuery)).jobs;
        const report = await readJobReport(s3, bucket, `campaigns/${workflowId}/reports`, job!.jobId!);
        const got = Object.fromEntries(
          report.rows.map((r) => {
            const m = JSON.parse(r.resultMessage ?? '{}') as Record<string, string>;
            return [r.decodedKey, [r.taskStatus, m.checksumAlgorithm, m.checksumType, m.checksum_base64]];
          }),
        );
        expect(got).toEqual(
          Object.fromEntries(
            Object.entries(bodies).map(([k, b]) => [
              k,
              ['succeeded', 'SHA256', 'FULL_OBJECT', createHash('sha256').update(b).digest('base64')],
            ]),
          ),
        );
      });
    });
  });
});
