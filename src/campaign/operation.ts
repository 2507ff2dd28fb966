/**
 * A campaign spec's `operation` → the S3 Control `JobOperation` of a CreateJob request. Pure: shared by the job
 * activity, the cost estimate and the IAM policy generator.
 */
import type { JobOperation, S3Tag } from '@aws-sdk/client-s3-control';

import type { CampaignOperation, RestoreAndCopyOperation } from '../shared/campaign-spec';

type RestoreOperation = Extract<CampaignOperation, { type: 'restore' }>;
type CopyOperation = Extract<CampaignOperation, { type: 'copy' }>;

/** The restore part of a restore-and-copy operation: what its restore jobs (child campaigns) run. */
export function restorePartOf(op: RestoreAndCopyOperation): RestoreOperation {
  return { type: 'restore', tier: op.tier, expirationDays: op.expirationDays };
}

/**
 * The copy part of a restore-and-copy operation: what its copy waves (child campaigns) run and what the worker's
 * large-object copies follow, so that both paths copy with the same fields.
 */
export function copyPartOf(op: RestoreAndCopyOperation): CopyOperation {
  const copy: CopyOperation = { type: 'copy', targetBucket: op.targetBucket, metadataDirective: op.metadataDirective };
  if (op.targetKeyPrefix !== undefined) copy.targetKeyPrefix = op.targetKeyPrefix;
  if (op.storageClass !== undefined) copy.storageClass = op.storageClass;
  if (op.metadata !== undefined) copy.metadata = op.metadata;
  if (op.tags !== undefined) copy.tags = op.tags;
  if (op.cannedAcl !== undefined) copy.cannedAcl = op.cannedAcl;
  return copy;
}

function tagList(tags: Record<string, string>): S3Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

export function toJobOperation(op: CampaignOperation): JobOperation {
  switch (op.type) {
    case 'restore':
      return { S3InitiateRestoreObject: { ExpirationInDays: op.expirationDays, GlacierJobTier: op.tier } };
    case 'copy':
      return {
        S3PutObjectCopy: {
          TargetResource: `arn:aws:s3:::${op.targetBucket}`,
          TargetKeyPrefix: op.targetKeyPrefix,
          StorageClass: op.storageClass,
          MetadataDirective: op.metadataDirective,
          CannedAccessControlList: op.cannedAcl,
          NewObjectTagging: op.tags ? tagList(op.tags) : undefined,
          NewObjectMetadata: op.metadata
            ? {
                ContentType: op.metadata.contentType,
                CacheControl: op.metadata.cacheControl,
                ContentDisposition: op.metadata.contentDisposition,
                ContentEncoding: op.metadata.contentEncoding,
                ContentLanguage: op.metadata.contentLanguage,
                UserMetadata: op.metadata.userMetadata,
              }
            : undefined,
        },
      };
    case 'put-tags':
      return { S3PutObjectTagging: { TagSet: tagList(op.tags) } };
    case 'delete-tags':
      return { S3DeleteObjectTagging: {} };
    case 'acl':
      return { S3PutObjectAcl: { AccessControlPolicy: { CannedAccessControlList: op.cannedAcl } } };
    case 'legal-hold':
      return { S3PutObjectLegalHold: { LegalHold: { Status: op.status } } };
    case 'retention':
      return {
        S3PutObjectRetention: {
          BypassGovernanceRetention: op.bypassGovernance,
          Retention: { Mode: op.mode, RetainUntilDate: op.retainUntil ? new Date(op.retainUntil) : undefined },
        },
      };
    case 'lambda':
      return {
        LambdaInvoke: {
          FunctionArn: op.functionArn,
          InvocationSchemaVersion: op.schemaVersion,
          UserArguments: op.userArguments,
        },
      };
    case 'replicate':
      return { S3ReplicateObject: {} };
    case 'compute-checksum':
      return { S3ComputeObjectChecksum: { ChecksumAlgorithm: op.algorithm, ChecksumType: op.checksumType } };
    case 'restore-and-copy':
      // Never one job: its restore jobs and copy waves are child campaigns of the restore and copy parts.
      throw new Error('a restore-and-copy operation runs as restore and copy jobs: map restorePartOf/copyPartOf');
  }
}
