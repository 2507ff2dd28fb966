/**
 * What the demo prints while a restore-and-copy campaign runs: one line per thing that happened between two answers
 * of the status query (a phase, a restore job, restored objects, a copy wave starting or ending, large objects
 * copied). Pure: the demo polls and prints, the unit test feeds it statuses.
 */
import type { CampaignStatus, ChildCampaignRun } from '../shared/campaign';

const PHASE_TEXT: Partial<Record<CampaignStatus['phase'], string>> = {
  BuildingManifest: 'reading the inventory report and writing the manifest',
  Sorting: 'sorting the objects: one HEAD each tells which need a restore',
  Tracking: 'restores requested; waiting for each object to be restored, copying them in waves as they are',
  Reporting: 'writing the report',
};

function waveName(w: ChildCampaignRun): string {
  return `wave ${w.waveId ?? '?'}`;
}

function bytesText(n: number): string {
  return n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(0)} MiB` : `${n} B`;
}

/** The lines that say what changed from `prev` (undefined: nothing seen yet) to `cur`. */
export function narrate(prev: CampaignStatus | undefined, cur: CampaignStatus): string[] {
  const out: string[] = [];
  if (cur.phase !== prev?.phase && PHASE_TEXT[cur.phase]) out.push(`${cur.phase}: ${PHASE_TEXT[cur.phase]}`);
  const rac = cur.restoreAndCopy;
  if (!rac) return out;
  const was = prev?.restoreAndCopy;
  if (rac.sorted && !was?.sorted) {
    const c = rac.sorted.counts;
    out.push(
      `sorted ${rac.sorted.objects} objects: ${c.requested} need a restore, ${c['skipped-restored']} readable now ` +
        `(STANDARD or already restored)${c.failed ? `, ${c.failed} missing` : ''}`,
    );
  }
  for (const r of rac.restores) {
    const before = was?.restores.find((p) => p.workflowId === r.workflowId);
    if (!before) out.push(`restore job started: ${r.manifest.rows} objects (${r.workflowId})`);
    if (r.result && !before?.result) {
      out.push(
        `restore job ${r.result.outcome}: ${r.result.succeeded} restores requested, ${r.result.failed} failed; ` +
          'S3 now restores each object in its own time',
      );
    }
  }
  const counts = rac.counts;
  const stillRequested = was?.counts?.requested ?? rac.sorted?.counts.requested;
  if (counts && stillRequested !== undefined && counts.requested < stillRequested) {
    out.push(
      `tracking: ${stillRequested - counts.requested} more objects seen restored by a HEAD sweep, ` +
        `${counts.requested} still being restored`,
    );
  }
  for (const w of rac.waves) {
    const before = was?.waves.find((p) => p.workflowId === w.workflowId);
    if (!before) {
      out.push(
        `${waveName(w)} started: a Batch Operations copy job over ${w.manifest.rows} restored objects` +
          (counts ? ` (${counts.requested} still being restored)` : ''),
      );
    }
    if (w.result && !before?.result) {
      out.push(`${waveName(w)} ${w.result.outcome}: ${w.result.succeeded} copied, ${w.result.failed} failed`);
    }
  }
  const large = rac.large;
  if (large.copied > (was?.large.copied ?? 0)) {
    out.push(
      `large objects: ${large.copied} copied by the worker (multipart UploadPartCopy, ${bytesText(large.bytes)})`,
    );
  }
  if (large.failed > (was?.large.failed ?? 0)) out.push(`large objects: ${large.failed} failed`);
  return out;
}
