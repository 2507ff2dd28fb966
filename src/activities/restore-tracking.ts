/**
 * Restore tracking for `restore-and-copy` campaigns (`src/restore-tracking/`): create the tracking set from the
 * restore job manifests, turn restore events from SQS into durable facts, and advance the set one checkpointed step
 * at a time (events, HEAD sweep, expiry guard, copy wave). All state is in S3; these activities heartbeat their
 * progress, resume from it, honour cancellation and raise `ApplicationFailure`s of the shared types.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { ApplicationFailure, Context } from '@temporalio/activity';

import { toApplicationFailure } from '../aws/errors';
import { createLogger } from '../logging';
import { decodeManifestKey } from '../inventory/key-encoding';
import { CsvManifestError } from '../manifest/csv-manifest';
import { readManifestRows } from '../manifest/read';
import {
  advanceTracking,
  consumeRestoreEvents as consumeEvents,
  ConsumeInputError,
  createTracking,
  StaleWriterError,
  TrackingExistsError,
  TrackingInputError,
  TrackingNotFoundError,
} from '../restore-tracking';
import { TrackingFileError } from '../restore-tracking/rows';
import { ConditionalWriteConflict } from '../restore-tracking/store';
import { FailureType } from '../shared/errors';
import type {
  AdvanceRestoreTrackingInput,
  AdvanceRestoreTrackingResult,
  ConsumeRestoreEventsInput,
  ConsumeRestoreEventsResult,
  CreateRestoreTrackingInput,
  CreateRestoreTrackingResult,
  ListWaveObjectsInput,
  ListWaveObjectsResult,
  TrackingLocation,
} from '../shared/restore-tracking-types';

/** A long HEAD sweep of one shard heartbeats its last progress this often (ms), well inside any heartbeat timeout. */
const HEARTBEAT_EVERY_MS = 10_000;

/** Our errors and the SDK's, as the shared failure types; a cancelled activity rethrows its cancellation. */
function toFailure(err: unknown, what: string): unknown {
  const ctx = Context.current();
  if (ctx.cancellationSignal.aborted) return ctx.cancellationSignal.reason ?? err;
  if (err instanceof ApplicationFailure) return err;
  const message = `${what}: ${(err as Error).message}`;
  if (err instanceof StaleWriterError) {
    return err.retryable
      ? ApplicationFailure.retryable(message, FailureType.Transient)
      : ApplicationFailure.nonRetryable(message, FailureType.StaleWriter);
  }
  if (err instanceof TrackingNotFoundError) return ApplicationFailure.nonRetryable(message, FailureType.NotFound);
  if (err instanceof TrackingExistsError) return ApplicationFailure.nonRetryable(message, FailureType.AlreadyExists);
  if (
    err instanceof TrackingInputError ||
    err instanceof ConsumeInputError ||
    err instanceof CsvManifestError ||
    err instanceof TrackingFileError
  ) {
    return ApplicationFailure.nonRetryable(message, FailureType.InvalidInput);
  }
  if (err instanceof ConditionalWriteConflict) return ApplicationFailure.retryable(message, FailureType.Transient);
  return toApplicationFailure(err, what);
}

/**
 * Runs `fn` with a heartbeat of its latest progress: at once on each report, and again every
 * {@link HEARTBEAT_EVERY_MS} while a long step sends none.
 */
async function withHeartbeats<T>(fn: (report: (details: unknown) => void) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  let last: unknown;
  const report = (details: unknown) => {
    last = details;
    ctx.heartbeat(details);
  };
  const timer = setInterval(() => ctx.heartbeat(last), HEARTBEAT_EVERY_MS);
  try {
    return await fn(report);
  } finally {
    clearInterval(timer);
  }
}

const where = (t: TrackingLocation) => `s3://${t.bucket}/${t.prefix}/tracking`;

/**
 * @param deps.s3 reads and writes the tracking set, HEADs and restores objects
 * @param deps.sqs reads restore events; only `consumeRestoreEvents` needs it
 */
export function createRestoreTrackingActivities(deps: { s3: S3Client; sqs?: SQSClient }) {
  return {
    /** Creates the tracking set of the objects in the restore job manifests (idempotent for the same manifests). */
    async createRestoreTracking(input: CreateRestoreTrackingInput): Promise<CreateRestoreTrackingResult> {
      const ctx = Context.current();
      const log = createLogger('restore-tracking', { attrs: { tracking: where(input.tracking) } });
      try {
        return await withHeartbeats((report) =>
          createTracking(deps.s3, input, {
            signal: ctx.cancellationSignal,
            log,
            onProgress: report,
            resume: ctx.info.heartbeatDetails,
          }),
        );
      } catch (err) {
        throw toFailure(err, `creating the tracking set ${where(input.tracking)}`);
      }
    },

    /** One tracking step: events, sweep, expiry guard and wave over every shard; resumes where an attempt died. */
    async advanceRestoreTracking(input: AdvanceRestoreTrackingInput): Promise<AdvanceRestoreTrackingResult> {
      const ctx = Context.current();
      const log = createLogger('restore-tracking', { attrs: { tracking: where(input.tracking), step: input.stepId } });
      try {
        return await withHeartbeats((report) =>
          advanceTracking(deps.s3, input, {
            signal: ctx.cancellationSignal,
            attempt: ctx.info.attempt,
            resume: ctx.info.heartbeatDetails,
            onProgress: report,
            log,
          }),
        );
      } catch (err) {
        throw toFailure(err, `advancing the tracking set ${where(input.tracking)} (step ${input.stepId})`);
      }
    },

    /**
     * The objects of a (small) wave manifest, keys decoded: the large objects a workflow copies one activity each.
     * Refuses more than `maxRows` rows (InvalidInput), so an answer never floods the workflow's history.
     */
    async listWaveObjects(input: ListWaveObjectsInput): Promise<ListWaveObjectsResult> {
      const objects: ListWaveObjectsResult['objects'] = [];
      try {
        for await (const row of readManifestRows(deps.s3, input.bucket, input.key)) {
          if (objects.length >= input.maxRows) {
            throw ApplicationFailure.nonRetryable(
              `wave manifest s3://${input.bucket}/${input.key} has more than ${input.maxRows} rows`,
              FailureType.InvalidInput,
            );
          }
          const o: ListWaveObjectsResult['objects'][number] = {
            bucket: row.bucket,
            key: decodeManifestKey(row.rawKey),
          };
          if (row.versionId) o.versionId = row.versionId;
          objects.push(o);
        }
      } catch (err) {
        throw toFailure(err, `reading the wave manifest s3://${input.bucket}/${input.key}`);
      }
      return { objects };
    },

    /** Moves restore events from the SQS queue into per-shard event files, deleting each message once written. */
    async consumeRestoreEvents(input: ConsumeRestoreEventsInput): Promise<ConsumeRestoreEventsResult> {
      const ctx = Context.current();
      if (!deps.sqs) {
        throw ApplicationFailure.nonRetryable(
          'consumeRestoreEvents needs an SQS client: this worker was built without one',
          FailureType.InvalidInput,
        );
      }
      const sqs = deps.sqs;
      const log = createLogger('restore-tracking', { attrs: { tracking: where(input.tracking) } });
      try {
        return await withHeartbeats((report) =>
          consumeEvents(deps.s3, sqs, input, {
            signal: ctx.cancellationSignal,
            attempt: ctx.info.attempt,
            onProgress: report,
            log,
          }),
        );
      } catch (err) {
        throw toFailure(err, `reading restore events from ${input.queue.queueUrl} into ${where(input.tracking)}`);
      }
    },
  };
}
