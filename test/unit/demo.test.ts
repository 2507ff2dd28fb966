/**
 * The demo's pieces that need no server: the lines it prints as a restore-and-copy campaign moves (from successive
 * status answers), and the local examples naming only what `dev` seeds.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import {
  DEMO_DATA_BUCKET,
  DEMO_INVENTORY_DESTINATION,
  DEMO_REPORT_BUCKET,
  DEMO_TARGET_BUCKET,
} from '../../src/demo/data';
import { narrate } from '../../src/demo/narrate';
import {
  newRestoreAndCopyState,
  type CampaignStatus,
  type ChildCampaignRun,
  type RestoreAndCopyState,
} from '../../src/shared/campaign';
import { parseCampaignSpec } from '../../src/shared/campaign-spec';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from '../../src/stack';

const counts = (requested: number, queued: number) => ({
  requested,
  restored: 0,
  queued,
  expired: 0,
  failed: 0,
  'skipped-restored': 0,
});

function child(id: string, rows: number, waveId?: number, succeeded?: number): ChildCampaignRun {
  return {
    workflowId: id,
    manifest: { bucket: 'b', key: `${id}.csv`, etag: 'e', rows },
    startedAt: '2026-12-06T00:00:00Z',
    waveId,
    result:
      succeeded === undefined
        ? undefined
        : { campaignId: id, outcome: 'Succeeded', objects: rows, succeeded, failed: rows - succeeded, jobs: 1 },
  };
}

function status(phase: CampaignStatus['phase'], rac: Partial<RestoreAndCopyState>): CampaignStatus {
  return {
    phase,
    restoreAndCopy: { ...newRestoreAndCopyState([]), ...rac },
  } as unknown as CampaignStatus;
}

describe('narrate', () => {
  const sorted = {
    objects: 41,
    counts: { ...counts(26, 0), 'skipped-restored': 15 },
    restoreManifests: [],
    headRequests: 41,
  };
  test('a campaign from its sort to its last wave, one line per thing that happened', () => {
    const steps = [
      status('AwaitingApproval', { sorted }),
      status('Tracking', { sorted, restores: [child('c--restore-1', 26)] }),
      status('Tracking', {
        sorted,
        restores: [child('c--restore-1', 26, undefined, 26)],
        waves: [child('c--wave-1', 15, 1)],
        counts: counts(26, 15),
      }),
      status('Tracking', {
        sorted,
        restores: [child('c--restore-1', 26, undefined, 26)],
        waves: [child('c--wave-1', 15, 1, 15)],
        counts: counts(26, 15),
      }),
      status('Tracking', {
        sorted,
        restores: [child('c--restore-1', 26, undefined, 26)],
        waves: [child('c--wave-1', 15, 1, 15), child('c--wave-2', 24, 2)],
        counts: counts(0, 39),
        large: { batches: 1, objects: 2, copied: 2, failed: 0, bytes: 12 * 2 ** 20, failureKeys: [] },
      }),
    ];
    const lines = steps.flatMap((s, i) => narrate(steps[i - 1], s));
    expect(lines).toEqual([
      'sorted 41 objects: 26 need a restore, 15 readable now (STANDARD or already restored)',
      'Tracking: restores requested; waiting for each object to be restored, copying them in waves as they are',
      'restore job started: 26 objects (c--restore-1)',
      'restore job Succeeded: 26 restores requested, 0 failed; S3 now restores each object in its own time',
      'wave 1 started: a Batch Operations copy job over 15 restored objects (26 still being restored)',
      'wave 1 Succeeded: 15 copied, 0 failed',
      'tracking: 26 more objects seen restored by a HEAD sweep, 0 still being restored',
      'wave 2 started: a Batch Operations copy job over 24 restored objects (0 still being restored)',
      'large objects: 2 copied by the worker (multipart UploadPartCopy, 12 MiB)',
    ]);
  });

  test('nothing new, nothing printed', () => {
    const s = status('Tracking', { sorted, waves: [child('c--wave-1', 15, 1)], counts: counts(26, 15) });
    expect(narrate(s, s)).toEqual([]);
  });
});

describe('examples/local', () => {
  const dir = path.join(__dirname, '..', '..', 'examples', 'local');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  const demoBuckets = new Set([DEMO_DATA_BUCKET, DEMO_REPORT_BUCKET, DEMO_TARGET_BUCKET]);

  test.each(files)('%s is a valid spec naming only the local account and the demo buckets', (file) => {
    const spec = parseCampaignSpec(JSON.parse(readFileSync(path.join(dir, file), 'utf8')));
    expect(spec.accountId).toBe(LOCAL_ACCOUNT_ID);
    expect(spec.region).toBe(LOCAL_REGION);
    expect(demoBuckets.has(spec.report.bucket)).toBe(true);
    if (spec.source.type === 'inventory-latest') expect(spec.source.destination).toBe(DEMO_INVENTORY_DESTINATION);
    if (spec.source.type === 'keys') expect(spec.source.bucket).toBe(DEMO_DATA_BUCKET);
    if ('targetBucket' in spec.operation) expect(spec.operation.targetBucket).toBe(DEMO_TARGET_BUCKET);
  });
});
