/**
 * The worker's copy of objects above a campaign's `largeObjectThreshold` (S3PutObjectCopy stops at 5 GB): a multipart
 * copy (CreateMultipartUpload, UploadPartCopy of byte ranges, CompleteMultipartUpload) with the Batch Operations
 * copy's semantics (`copyObjectInput` maps the operation; src/large-copy/requests.ts adds what multipart does not copy).
 *
 * The source is read once with HEAD before anything is written: an archived source without a completed restore fails
 * NotRestored (non-retryable) and no upload is started. moto copies parts of such a source without complaint where
 * AWS refuses, so this check is the only guard in local runs. Every part is pinned to that HEAD's ETag.
 *
 * Resume. The activity heartbeats `LargeCopyProgress` ({ uploadId, completedParts, sourceETag }) after the upload is
 * created, after every part (the SDK throttles what reaches the server) and every HEARTBEAT_EVERY_MS while parts run.
 * A retried attempt takes the uploadId from the last heartbeat and asks ListParts which parts exist (the heartbeat's
 * count may lag), and copies only the others. If the upload is gone because an earlier attempt completed it before
 * dying, the target is accepted when it verifies; else the copy starts over. If the source's ETag changed, the old
 * upload is aborted and the copy starts over.
 *
 * Identity. A crash between CreateMultipartUpload and the first heartbeat reaching Temporal leaves an upload no
 * heartbeat names. The marker that tells this activity's uploads from others is the one S3 lists for every upload:
 * the exact target key plus an Initiated time no earlier than the activity's first scheduling (`scheduledTimestampMs`,
 * the same for all attempts) less UPLOAD_CLOCK_SKEW_MS. Of those, an attempt without a live heartbeat upload adopts the
 * newest one created with the same storage class and checksum algorithm (and copies all its parts again: nothing
 * recorded which source version they came from); every other one is aborted. So attempts converge on one upload.
 * Older uploads on the key are not this activity's and are left alone; `abortAbandonedUploads` cleans them up.
 *
 * Failures. Non-retryable failures and a cancellation the workflow requested abort the upload. Retryable failures,
 * timeouts and worker shutdowns keep it for the next attempt. An upload whose last attempt failed retryably stays
 * until `abortAbandonedUploads`, as do uploads of a worker that died while the workflow was cancelled.
 *
 * Activity options for callers: `heartbeatTimeout` of 30 s or more; `startToCloseTimeout` for the largest object at
 * the worker's throughput (UploadPartCopy runs inside S3, typically 100+ MB/s per part); retries with the default
 * policy, since every failure type this activity raises says whether it is retryable.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  type CompleteMultipartUploadCommandInput,
  type CompletedPart,
  CreateMultipartUploadCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  type MultipartUpload,
  PutObjectLegalHoldCommand,
  PutObjectRetentionCommand,
  type S3Client,
  type Tag,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { ApplicationFailure, Context, log } from '@temporalio/activity';

import { toApplicationFailure } from '../aws/errors';
import { partBytes, partRange, planParts, type PartPlan } from '../large-copy/parts';
import {
  createMultipartUploadInput,
  failedConstraint,
  planChecksum,
  unquote,
  unrestoredArchive,
  verifyTarget,
} from '../large-copy/requests';
import { bucketFromArn } from '../local-batch/failures';
import { requestRestore, sdkTier } from '../restore-tracking/object-ops';
import { parseRestoreHeader } from '../restore-tracking/restore-header';
import { copyObjectInput } from '../local-batch/operations';
import { FailureType } from '../shared/errors';
import type {
  AbortAbandonedUploadsInput,
  AbortAbandonedUploadsResult,
  CopyLargeObjectInput,
  CopyLargeObjectResult,
  LargeCopyVerification,
} from '../shared/large-copy';

/** Heartbeat while parts run, so that a part of several GB does not outlast the heartbeat timeout. */
export const HEARTBEAT_EVERY_MS = 5_000;
/** UploadPartCopy requests in flight at once by default: S3 copies in parallel; eight keep a few Gbit/s busy. */
export const DEFAULT_CONCURRENCY = 8;
/** The SDK's HTTP agent keeps 50 sockets per client; leave room for the worker's other activities. */
export const MAX_CONCURRENCY = 32;
/**
 * How far S3's clock (an upload's Initiated) may lag Temporal's (the activity's scheduled time) before an upload this
 * activity created would look older than the activity. Both are NTP-synced; a minute is generous.
 */
export const UPLOAD_CLOCK_SKEW_MS = 60_000;

/** The heartbeat details of `copyLargeObject`. */
export interface LargeCopyProgress {
  uploadId: string;
  /** Parts this attempt knows are copied (progress only: a retry asks ListParts). */
  completedParts: number;
  /** The source ETag every part is pinned to; a retry that finds another one starts over. */
  sourceETag: string;
}

function progressFrom(details: unknown): LargeCopyProgress | undefined {
  const d = details as Partial<LargeCopyProgress> | undefined;
  return d && typeof d.uploadId === 'string' && typeof d.sourceETag === 'string'
    ? { uploadId: d.uploadId, completedParts: Number(d.completedParts) || 0, sourceETag: d.sourceETag }
    : undefined;
}

const PART_CHECKSUMS = [
  'ChecksumCRC32',
  'ChecksumCRC32C',
  'ChecksumCRC64NVME',
  'ChecksumSHA1',
  'ChecksumSHA256',
  'ChecksumSHA512',
  'ChecksumMD5',
  'ChecksumXXHASH64',
  'ChecksumXXHASH3',
  'ChecksumXXHASH128',
] as const satisfies readonly (keyof CompletedPart)[];

/** A part as CompleteMultipartUpload takes it: its ETag and, for uploads with a checksum, the part's checksum. */
function completedPart(partNumber: number, from: Partial<Record<'ETag' | keyof CompletedPart, unknown>>) {
  const part: CompletedPart = { PartNumber: partNumber, ETag: String(from.ETag) };
  for (const name of PART_CHECKSUMS) if (typeof from[name] === 'string') part[name] = from[name];
  return part;
}

const errorName = (err: unknown) => (err as { name?: string } | undefined)?.name;

const invalidInput = (message: string) => ApplicationFailure.nonRetryable(message, FailureType.InvalidInput);

/** The large-object copy activities, on the worker's S3 client (passed in, never built here). */
export function createLargeCopyActivities(deps: { s3: S3Client }) {
  const { s3 } = deps;

  /** Aborts an upload; failures are logged, not raised: this runs on paths that already fail or clean up. */
  async function abortQuietly(bucket: string, key: string, uploadId: string, why: string): Promise<void> {
    try {
      await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
      log.info('multipart upload aborted', { bucket, key, uploadId, why });
    } catch (err) {
      if (errorName(err) === 'NoSuchUpload') return;
      log.warn('aborting a multipart upload failed', { bucket, key, uploadId, why, error: String(err) });
    }
  }

  return {
    /**
     * Copies one object with a multipart copy, with the semantics of the S3PutObjectCopy `input.operation`. Resumes
     * from the last heartbeat (see the module comment) and verifies the target before it returns.
     * @throws ApplicationFailure NotRestored (archived source, no completed restore; nothing was written),
     *   PreconditionFailed (Modified/UnModifiedSinceConstraint), CopyVerificationFailed (retryable: the target does not
     *   match, or the source changed during the copy), InvalidInput, and the AWS error types of src/aws/errors.ts.
     */
    async copyLargeObject(input: CopyLargeObjectInput): Promise<CopyLargeObjectResult> {
      const ctx = Context.current();
      const signal = ctx.cancellationSignal;
      const op = input.operation;
      const concurrency = input.concurrency ?? DEFAULT_CONCURRENCY;
      if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY) {
        throw invalidInput(`concurrency ${concurrency} is not a whole number from 1 to ${MAX_CONCURRENCY}`);
      }
      if (!bucketFromArn(op.TargetResource)) {
        throw invalidInput(`operation.TargetResource ${op.TargetResource} is not a bucket ARN`);
      }
      const { source } = input;
      const copy = copyObjectInput(op, { index: 0, ...source, rawKey: source.key });
      const Bucket = copy.Bucket!;
      const Key = copy.Key!;
      if (input.target && (input.target.bucket !== Bucket || input.target.key !== Key)) {
        throw invalidInput(
          `target s3://${input.target.bucket}/${input.target.key} is not where the operation copies ` +
            `s3://${source.bucket}/${source.key} (s3://${Bucket}/${Key})`,
        );
      }
      const from = `s3://${source.bucket}/${source.key}${source.versionId ? ` (version ${source.versionId})` : ''}`;
      const to = `s3://${Bucket}/${Key}`;
      const requestPayer = copy.RequestPayer;
      const prior = progressFrom(ctx.info.heartbeatDetails);
      const since = ctx.info.scheduledTimestampMs - UPLOAD_CLOCK_SKEW_MS;
      const fail = (err: unknown, doing: string) =>
        toApplicationFailure(err, `${doing} of the copy of ${from} to ${to}`);

      let head: HeadObjectCommandOutput;
      let plan: PartPlan;
      try {
        head = await s3.send(
          new HeadObjectCommand({
            Bucket: source.bucket,
            Key: source.key,
            VersionId: source.versionId,
            ChecksumMode: 'ENABLED',
            RequestPayer: requestPayer,
          }),
          { abortSignal: signal },
        );
        const archived = unrestoredArchive(head);
        if (archived) {
          throw ApplicationFailure.nonRetryable(
            `${from} is in ${archived} and not restored (x-amz-restore: ${head.Restore ?? 'none'}): restore it before copying`,
            FailureType.NotRestored,
          );
        }
        const constraint = failedConstraint(op, head.LastModified);
        if (constraint) {
          throw ApplicationFailure.nonRetryable(`${from} is ${constraint}`, FailureType.PreconditionFailed);
        }
        try {
          plan = planParts(head.ContentLength ?? 0, input.partSizeBytes);
        } catch (err) {
          throw invalidInput(`${from}: ${(err as Error).message}`);
        }
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        const failure = fail(err, 'reading the source');
        // A permanent failure: the upload of an earlier attempt will never be resumed.
        if (failure.nonRetryable && prior) await abortQuietly(Bucket, Key, prior.uploadId, failure.message);
        throw failure;
      }
      // The copy's own expiry guard: no tracking step runs while a batch of large copies does.
      let restoreExtended = false;
      const restore = parseRestoreHeader(head.Restore);
      const ext = input.extendRestore;
      if (ext && restore.state === 'restored' && restore.expiresAt) {
        const left = restore.expiresAt.getTime() - Date.now();
        if (left < ext.marginMs) {
          const ref = { ...source, versionId: source.versionId ?? '' };
          const outcome = await requestRestore(s3, ref, ext.days, sdkTier(ext.tier), signal).catch((err: unknown) => {
            if (signal.aborted) throw signal.reason;
            log.warn('could not extend the source restore before its copy', { source: from, error: String(err) });
            return undefined;
          });
          restoreExtended = outcome === 'restored' || outcome === 'started';
          log.info('source restore extended before its copy', { source: from, expiresInMs: left, outcome });
        }
      }
      const sourceETag = head.ETag ?? '';
      const checksum = planChecksum(op.ChecksumAlgorithm, head);
      const result = (
        fields: Pick<CopyLargeObjectResult, 'targetETag' | 'targetVersionId' | 'resumedParts' | 'completedEarlier'>,
        verification: LargeCopyVerification,
      ): CopyLargeObjectResult => ({
        bytes: plan.objectBytes,
        parts: plan.count,
        partSizeBytes: plan.partSizeBytes,
        ...fields,
        verification,
        ...(restoreExtended ? { restoreExtended } : {}),
      });

      /** The parts of an upload that match the plan (size and number), or undefined when the upload is gone. */
      async function listedParts(uploadId: string): Promise<Map<number, CompletedPart> | undefined> {
        const parts = new Map<number, CompletedPart>();
        let marker: string | undefined;
        try {
          do {
            const page = await s3.send(
              new ListPartsCommand({
                Bucket,
                Key,
                UploadId: uploadId,
                PartNumberMarker: marker,
                RequestPayer: requestPayer,
              }),
              { abortSignal: signal },
            );
            for (const p of page.Parts ?? []) {
              const n = p.PartNumber ?? 0;
              if (n >= 1 && n <= plan.count && p.ETag && p.Size === partBytes(plan, n)) {
                parts.set(n, completedPart(n, p));
              }
            }
            marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
          } while (marker);
        } catch (err) {
          if (errorName(err) === 'NoSuchUpload') return undefined;
          throw err;
        }
        return parts;
      }

      /** The in-progress uploads of this activity on the target key (see the module comment), newest first. */
      async function ownUploads(): Promise<MultipartUpload[]> {
        const own: MultipartUpload[] = [];
        let KeyMarker: string | undefined;
        let UploadIdMarker: string | undefined;
        for (;;) {
          const page = await s3.send(
            new ListMultipartUploadsCommand({
              Bucket,
              Prefix: Key,
              KeyMarker,
              UploadIdMarker,
              RequestPayer: requestPayer,
            }),
            { abortSignal: signal },
          );
          const uploads = page.Uploads ?? [];
          for (const u of uploads) {
            if (u.Key === Key && u.UploadId && (u.Initiated?.getTime() ?? 0) >= since) own.push(u);
          }
          // Listed in key order, and the target key sorts first under its own prefix: a longer key ends the search.
          if (!page.IsTruncated || uploads.some((u) => u.Key !== Key)) break;
          KeyMarker = page.NextKeyMarker;
          UploadIdMarker = page.NextUploadIdMarker;
        }
        return own.sort((a, b) => (b.Initiated?.getTime() ?? 0) - (a.Initiated?.getTime() ?? 0));
      }

      /**
       * Sets the operation's Object Lock fields on the copy when its HEAD does not show them. AWS applies them from
       * CreateMultipartUpload (its HEAD shows them, and nothing is sent); moto drops them when it completes the upload.
       */
      async function ensureObjectLock(target: HeadObjectCommandOutput, versionId: string | undefined): Promise<void> {
        const ref = { Bucket, Key, VersionId: versionId, RequestPayer: requestPayer };
        const { ObjectLockMode: Mode, ObjectLockRetainUntilDate: RetainUntilDate, ObjectLockLegalHoldStatus } = copy;
        if ((Mode || RetainUntilDate) && !target.ObjectLockMode && !target.ObjectLockRetainUntilDate) {
          await s3.send(new PutObjectRetentionCommand({ ...ref, Retention: { Mode, RetainUntilDate } }), {
            abortSignal: signal,
          });
        }
        if (ObjectLockLegalHoldStatus && !target.ObjectLockLegalHoldStatus) {
          await s3.send(new PutObjectLegalHoldCommand({ ...ref, LegalHold: { Status: ObjectLockLegalHoldStatus } }), {
            abortSignal: signal,
          });
        }
      }

      /**
       * The target an earlier attempt completed, when it verifies. Without a comparable checksum it must also have
       * this plan's part count and be written since the activity was scheduled, so that an older copy of the same size
       * is not taken for it.
       */
      async function completedEarlier(): Promise<CopyLargeObjectResult | undefined> {
        let target: HeadObjectCommandOutput;
        try {
          target = await s3.send(
            new HeadObjectCommand({ Bucket, Key, ChecksumMode: 'ENABLED', RequestPayer: requestPayer }),
            {
              abortSignal: signal,
            },
          );
        } catch (err) {
          if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
          throw err;
        }
        const check = verifyTarget(target, { bytes: plan.objectBytes, checksum });
        const ours =
          unquote(target.ETag ?? '').endsWith(`-${plan.count}`) &&
          (checksum.expected !== undefined || (target.LastModified?.getTime() ?? 0) >= since);
        if (!check.ok || !ours) {
          log.info('the earlier upload is gone and the target is not its copy: starting over', {
            target: to,
            reason: check.ok ? 'written before this activity' : check.reason,
          });
          return undefined;
        }
        const versionId = target.VersionId === 'null' ? undefined : target.VersionId;
        await ensureObjectLock(target, versionId);
        return result(
          {
            targetETag: target.ETag ?? '',
            targetVersionId: versionId,
            resumedParts: plan.count,
            completedEarlier: true,
          },
          check.verification,
        );
      }

      // Which upload to continue: the heartbeat's, an orphan of an earlier attempt, or a new one.
      let uploadId: string | undefined;
      let parts = new Map<number, CompletedPart>();
      try {
        if (prior && prior.sourceETag !== sourceETag) {
          await abortQuietly(
            Bucket,
            Key,
            prior.uploadId,
            `the source changed (ETag ${prior.sourceETag} → ${sourceETag})`,
          );
        } else if (prior) {
          const listed = await listedParts(prior.uploadId);
          if (listed) {
            uploadId = prior.uploadId;
            parts = listed;
          } else {
            const done = await completedEarlier();
            if (done) {
              log.info('large copy completed by an earlier attempt', { source: from, target: to });
              return done;
            }
          }
        }
        const own = await ownUploads();
        if (!uploadId) {
          const adopt = own.find(
            (u) =>
              (u.StorageClass ?? 'STANDARD') === (copy.StorageClass ?? 'STANDARD') &&
              u.ChecksumAlgorithm === checksum.algorithm,
          );
          if (adopt) {
            uploadId = adopt.UploadId!;
            log.info('adopting an upload an earlier attempt left', { target: to, uploadId });
          }
        }
        for (const u of own) {
          if (u.UploadId !== uploadId) await abortQuietly(Bucket, Key, u.UploadId!, 'left by an earlier attempt');
        }
        if (!uploadId) {
          let sourceTags: Tag[] = [];
          if (copy.TaggingDirective !== 'REPLACE') {
            const tagging = await s3.send(
              new GetObjectTaggingCommand({
                Bucket: source.bucket,
                Key: source.key,
                VersionId: source.versionId,
                RequestPayer: requestPayer,
              }),
              { abortSignal: signal },
            );
            sourceTags = tagging.TagSet ?? [];
          }
          const created = await s3.send(
            new CreateMultipartUploadCommand(createMultipartUploadInput(copy, head, sourceTags, checksum)),
            { abortSignal: signal },
          );
          if (!created.UploadId) throw new Error('CreateMultipartUpload returned no UploadId');
          uploadId = created.UploadId;
          log.info('large copy started', { source: from, target: to, uploadId, parts: plan.count });
        }
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        throw fail(err, 'preparing the multipart upload');
      }

      const id = uploadId;
      const resumedParts = parts.size;
      const beat = () =>
        ctx.heartbeat({ uploadId: id, completedParts: parts.size, sourceETag } satisfies LargeCopyProgress);
      beat();
      const timer = setInterval(beat, HEARTBEAT_EVERY_MS);
      try {
        const missing: number[] = [];
        for (let n = 1; n <= plan.count; n++) if (!parts.has(n)) missing.push(n);
        await copyParts(missing, (n, part) => {
          parts.set(n, part);
          beat();
        });
        const ordered = [...parts.values()].sort((a, b) => a.PartNumber! - b.PartNumber!);
        const completeInput: CompleteMultipartUploadCommandInput = {
          Bucket,
          Key,
          UploadId: id,
          MultipartUpload: { Parts: ordered },
          ChecksumType: checksum.type,
          RequestPayer: requestPayer,
        };
        // The source's full-object checksum: S3 refuses (BadDigest) to complete an object that does not match it.
        if (checksum.expected) completeInput[`Checksum${checksum.expected.algorithm}`] = checksum.expected.value;
        let completed;
        try {
          completed = await s3.send(new CompleteMultipartUploadCommand(completeInput), { abortSignal: signal });
        } catch (err) {
          const name = errorName(err);
          if (name === 'NoSuchUpload') {
            // A zombie attempt may have completed it in the meantime; else it was aborted under us.
            const done = await completedEarlier();
            if (done) return done;
            throw uploadGone();
          }
          if (name === 'BadDigest' || name === 'InvalidPart') {
            await abortQuietly(Bucket, Key, id, `CompleteMultipartUpload answered ${name}`);
            throw ApplicationFailure.retryable(
              `completing ${to}: ${name}: ${(err as Error).message}; the next attempt copies ${from} again`,
              FailureType.CopyVerificationFailed,
            );
          }
          throw err;
        }
        // moto answers "null" for an unversioned bucket, and a HEAD of version "null" there with 400.
        const targetVersionId = completed.VersionId === 'null' ? undefined : completed.VersionId;
        const target = await s3.send(
          new HeadObjectCommand({
            Bucket,
            Key,
            VersionId: targetVersionId,
            ChecksumMode: 'ENABLED',
            RequestPayer: requestPayer,
          }),
        );
        const check = verifyTarget(target, {
          bytes: plan.objectBytes,
          checksum,
          partETags: ordered.map((p) => p.ETag!),
        });
        if (!check.ok) {
          throw ApplicationFailure.retryable(
            `${to} does not match ${from}: ${check.reason}; the next attempt copies it again`,
            FailureType.CopyVerificationFailed,
          );
        }
        await ensureObjectLock(target, targetVersionId);
        log.info('large copy completed', { source: from, target: to, parts: plan.count, resumedParts });
        return result(
          {
            targetETag: completed.ETag ?? target.ETag ?? '',
            targetVersionId,
            resumedParts,
            completedEarlier: false,
          },
          check.verification,
        );
      } catch (err) {
        if (signal.aborted) {
          // Only a cancellation the workflow asked for ends the copy; a timeout or a shutdown leaves it to a retry.
          if (ctx.cancellationDetails?.cancelRequested)
            await abortQuietly(Bucket, Key, id, 'the activity was cancelled');
          throw signal.reason;
        }
        const failure = fail(err, 'completing the upload');
        if (failure.nonRetryable) await abortQuietly(Bucket, Key, id, failure.message);
        throw failure;
      } finally {
        clearInterval(timer);
      }

      /** Copies `partNumbers` with `concurrency` requests in flight; the first failure stops the others. */
      async function copyParts(partNumbers: number[], done: (n: number, part: CompletedPart) => void): Promise<void> {
        const stop = new AbortController();
        const onCancel = () => stop.abort(signal.reason);
        signal.addEventListener('abort', onCancel, { once: true });
        let next = 0;
        let failure: unknown;
        const worker = async () => {
          while (failure === undefined && !stop.signal.aborted && next < partNumbers.length) {
            const n = partNumbers[next++]!;
            try {
              const out = await s3.send(
                new UploadPartCopyCommand({
                  Bucket,
                  Key,
                  UploadId: id,
                  PartNumber: n,
                  CopySource: copy.CopySource,
                  CopySourceRange: partRange(plan, n),
                  // Every part from the version the HEAD saw, even when the source is overwritten meanwhile.
                  CopySourceIfMatch: sourceETag || undefined,
                  RequestPayer: requestPayer,
                }),
                { abortSignal: stop.signal },
              );
              done(n, completedPart(n, out.CopyPartResult ?? {}));
            } catch (err) {
              if (failure === undefined && !stop.signal.aborted) failure = partFailure(err, n);
              stop.abort();
            }
          }
        };
        try {
          await Promise.all(Array.from({ length: Math.min(concurrency, partNumbers.length) }, worker));
        } finally {
          signal.removeEventListener('abort', onCancel);
        }
        if (signal.aborted) throw signal.reason;
        if (failure !== undefined) throw failure;
      }

      function partFailure(err: unknown, n: number): unknown {
        const e = err as { name?: string; $metadata?: { httpStatusCode?: number }; message?: string };
        if (e.name === 'PreconditionFailed' || e.$metadata?.httpStatusCode === 412) {
          return ApplicationFailure.retryable(
            `${from} changed during the copy (its ETag is no longer ${sourceETag}); the next attempt starts over`,
            FailureType.CopyVerificationFailed,
          );
        }
        if (e.name === 'NoSuchUpload') return uploadGone();
        return fail(err, `copying part ${n} of ${plan.count}`);
      }

      function uploadGone(): ApplicationFailure {
        return ApplicationFailure.retryable(
          `upload ${id} of ${to} was aborted by someone else during the copy; the next attempt starts over`,
          FailureType.Transient,
        );
      }
    },

    /**
     * Aborts the multipart uploads under `prefix` in `bucket` initiated before `olderThan`: what copies that will never
     * resume left (a last attempt that failed retryably, a worker that died while its workflow was cancelled). A
     * campaign runs it on its target prefix with its own start time or earlier, so that no running copy is touched.
     */
    async abortAbandonedUploads(input: AbortAbandonedUploadsInput): Promise<AbortAbandonedUploadsResult> {
      const ctx = Context.current();
      const olderThan = new Date(input.olderThan);
      if (Number.isNaN(olderThan.getTime())) throw invalidInput(`olderThan ${input.olderThan} is not an ISO-8601 time`);
      let aborted = 0;
      let kept = 0;
      let KeyMarker: string | undefined;
      let UploadIdMarker: string | undefined;
      try {
        for (;;) {
          const page = await s3.send(
            new ListMultipartUploadsCommand({
              Bucket: input.bucket,
              Prefix: input.prefix || undefined,
              KeyMarker,
              UploadIdMarker,
            }),
            { abortSignal: ctx.cancellationSignal },
          );
          for (const u of page.Uploads ?? []) {
            if (!u.Key || !u.UploadId) continue;
            if (u.Initiated && u.Initiated >= olderThan) {
              kept++;
              continue;
            }
            try {
              await s3.send(
                new AbortMultipartUploadCommand({ Bucket: input.bucket, Key: u.Key, UploadId: u.UploadId }),
              );
              aborted++;
            } catch (err) {
              if (errorName(err) !== 'NoSuchUpload') throw err;
            }
          }
          ctx.heartbeat({ aborted, kept });
          if (!page.IsTruncated) break;
          KeyMarker = page.NextKeyMarker;
          UploadIdMarker = page.NextUploadIdMarker;
        }
      } catch (err) {
        if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
        throw toApplicationFailure(err, `aborting abandoned uploads under s3://${input.bucket}/${input.prefix}`);
      }
      log.info('abandoned uploads aborted', { bucket: input.bucket, prefix: input.prefix, aborted, kept });
      return { aborted, kept };
    },
  };
}
