/**
 * Response documents of the S3 Control job API. Lists are written with `<member>` items, maps with
 * `<entry><key><value>`, absent values are left out, timestamps are ISO-8601.
 */
import type { JobOperation, JobRecord, JobStatus, ProgressSummary, S3Tag } from '../types';
import type { XmlOut } from '../xml';
import { buildXmlDocument } from '../xml';
import type { ApiError } from './errors';
import { encodeGeneratedManifestDescriptor, encodeManifestGenerator } from './manifest-generator';

/** Model members that are maps (`<entry><key/><value/></entry>`); every other array is a `<member>` list. */
const MAP_MEMBERS = new Set(['UserArguments', 'UserMetadata']);

/** Turns a model value into builder input following the REST-XML list and map conventions. */
export function toWire(value: unknown, name = ''): XmlOut {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value.length === 0 ? '' : { member: value.map((v) => toWire(v)) };
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (MAP_MEMBERS.has(name)) {
      return entries.length === 0 ? '' : { entry: entries.map(([key, v]) => ({ key, value: String(v) })) };
    }
    const out: Record<string, XmlOut> = {};
    for (const [k, v] of entries) {
      const w = toWire(v, k);
      if (w !== undefined) out[k] = w;
    }
    return Object.keys(out).length === 0 ? '' : out;
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return String(value);
}

/** `{ type: 'S3PutObjectTagging', TagSet }` → `<S3PutObjectTagging><TagSet>…` */
export function encodeOperation(op: JobOperation): XmlOut {
  const { type, ...params } = op;
  return { [type]: toWire(params) };
}

function encodeProgress(p: ProgressSummary): XmlOut {
  return {
    TotalNumberOfTasks: p.TotalNumberOfTasks,
    NumberOfTasksSucceeded: p.NumberOfTasksSucceeded,
    NumberOfTasksFailed: p.NumberOfTasksFailed,
    Timers: { ElapsedTimeInActiveSeconds: p.Timers.ElapsedTimeInActiveSeconds },
  };
}

/** What DescribeJob and ListJobs show of a job: its record plus live progress. */
export interface JobView {
  record: JobRecord;
  progress: ProgressSummary;
}

/** DescribeJobResult. */
export function encodeDescribeJob({ record: r, progress }: JobView): string {
  return buildXmlDocument('DescribeJobResult', {
    Job: {
      JobId: r.JobId,
      ConfirmationRequired: r.spec.ConfirmationRequired,
      Description: r.spec.Description,
      JobArn: r.JobArn,
      Status: r.Status,
      Manifest: toWire(r.spec.Manifest),
      Operation: encodeOperation(r.spec.Operation),
      Priority: r.Priority,
      ProgressSummary: encodeProgress(progress),
      StatusUpdateReason: r.StatusUpdateReason,
      FailureReasons: toWire(r.FailureReasons),
      Report: toWire(r.spec.Report),
      CreationTime: r.CreationTime,
      TerminationDate: r.TerminationDate,
      RoleArn: r.spec.RoleArn,
      SuspendedDate: r.SuspendedDate,
      SuspendedCause: r.SuspendedCause,
      ManifestGenerator: r.spec.ManifestGenerator && encodeManifestGenerator(r.spec.ManifestGenerator),
      GeneratedManifestDescriptor:
        r.GeneratedManifestDescriptor && encodeGeneratedManifestDescriptor(r.GeneratedManifestDescriptor),
    },
  });
}

/** ListJobsResult; `NextToken` only when there are more jobs. */
export function encodeListJobs(jobs: JobView[], nextToken?: string): string {
  return buildXmlDocument('ListJobsResult', {
    NextToken: nextToken,
    Jobs:
      jobs.length === 0
        ? ''
        : {
            member: jobs.map(({ record: r, progress }) => ({
              JobId: r.JobId,
              Description: r.spec.Description,
              Operation: r.spec.Operation.type,
              Priority: r.Priority,
              Status: r.Status,
              CreationTime: r.CreationTime,
              TerminationDate: r.TerminationDate,
              ProgressSummary: encodeProgress(progress),
            })),
          },
  });
}

export const encodeCreateJob = (jobId: string) => buildXmlDocument('CreateJobResult', { JobId: jobId });

export const encodeUpdateJobStatus = (jobId: string, status: JobStatus, reason?: string) =>
  buildXmlDocument('UpdateJobStatusResult', { JobId: jobId, Status: status, StatusUpdateReason: reason });

export const encodeUpdateJobPriority = (jobId: string, priority: number) =>
  buildXmlDocument('UpdateJobPriorityResult', { JobId: jobId, Priority: priority });

export const encodeGetJobTagging = (tags: S3Tag[]) => buildXmlDocument('GetJobTaggingResult', { Tags: toWire(tags) });

export const encodePutJobTagging = () => buildXmlDocument('PutJobTaggingResult', {});

export const encodeDeleteJobTagging = () => buildXmlDocument('DeleteJobTaggingResult', {});

/** `<ErrorResponse><Error><Code/><Message/></Error><RequestId/><HostId/></ErrorResponse>` */
export function encodeError(err: Pick<ApiError, 'code' | 'message'>, requestId: string, hostId: string): string {
  return buildXmlDocument('ErrorResponse', {
    Error: { Code: err.code, Message: err.message },
    RequestId: requestId,
    HostId: hostId,
  });
}
