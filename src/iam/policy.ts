/**
 * Least-privilege IAM policies for exactly one campaign: the permissions and trust policies of the role its Batch
 * Operations jobs run as, and the policy of the worker's own credentials. Pure (no Node built-ins, no AWS SDK): the
 * CLI reads what the spec does not say (the inventory's source bucket, a CSV manifest's buckets) and passes it in.
 *
 * Sources: "Granting permissions for Batch Operations" and "Configuring IAM policies for Batch Replication"
 * (Amazon S3 User Guide), the Service Authorization Reference for Amazon S3 (resource types, condition keys), and
 * what the worker's code calls. Where AWS documents nothing (S3ComputeObjectChecksum), the result says so.
 */
import { campaignFailuresLocation } from '../manifest/campaign-failures';
import type { CampaignSpec, RestoreAndCopyOperation } from '../shared/campaign-spec';

/** The service principal of S3 Batch Operations. */
export const BATCH_OPERATIONS_PRINCIPAL = 'batchoperations.s3.amazonaws.com';
/** The job tag every campaign job carries (see the campaign workflow); the worker may only manage jobs that have it. */
export const CAMPAIGN_JOB_TAG = 's3-campaigns:campaign';

/** One statement of an IAM policy document. */
export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Principal?: { Service: string };
  Action: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, string | number | string[]>>;
}

/** An IAM policy document. */
export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

/** What `batchRolePolicies` needs besides the spec. */
export interface BatchRolePolicyOptions {
  /**
   * Buckets of the objects the jobs act on. Inventory sources: the inventory's `sourceBucket` (in its
   * manifest.json); csv sources: the distinct buckets of the manifest. Ignored for keys sources (the spec names the
   * bucket). @default unknown: the policy allows every bucket (`*`) and says so in `warnings`
   */
  sourceBuckets?: string[];
  /** KMS keys that encrypt the objects, the manifests or the reports: adds kms:Decrypt and kms:GenerateDataKey. */
  kmsKeyArns?: string[];
  /**
   * Whether the manifests carry version IDs (an inventory with a VersionId column, a 3-column CSV). Version-specific
   * actions are only needed then. @default true, except for keys sources, whose manifests never do
   */
  versioned?: boolean;
}

/** The two policies of the Batch Operations role, and why they are broader than they could be, if they are. */
export interface BatchRolePolicies {
  permissionsPolicy: PolicyDocument;
  trustPolicy: PolicyDocument;
  /** Sentences for people: what could not be scoped, and what is reasoned rather than documented. */
  warnings: string[];
}

/** What `workerPolicy` needs besides the spec. */
export interface WorkerPolicyOptions {
  /** KMS keys of the inventory, the CSV manifest or the report bucket: adds kms:Decrypt and kms:GenerateDataKey. */
  kmsKeyArns?: string[];
  /**
   * restore-and-copy only (the worker HEADs, extends and copies source objects itself): as in
   * `BatchRolePolicyOptions`. @default unknown: every bucket (`*`)
   */
  sourceBuckets?: string[];
  /** restore-and-copy only: as in `BatchRolePolicyOptions`. @default true, except for keys sources */
  versioned?: boolean;
}

/** `aws`, `aws-cn`, `aws-us-gov`: taken from the role ARN so every ARN is in the campaign's partition. */
function partitionOf(spec: CampaignSpec): string {
  return /^arn:([^:]+):/.exec(spec.roleArn)?.[1] ?? 'aws';
}

/**
 * Escapes a key or prefix for an IAM resource: `*`, `?` and `$` are wildcards or variables there, and IAM spells
 * them literally as `${*}`, `${?}` and `${$}`.
 */
export function iamLiteral(text: string): string {
  return text.replace(/[*?$]/g, (c) => `\${${c}}`);
}

const bucketArn = (p: string, bucket: string) => `arn:${p}:s3:::${bucket}`;
/** Objects under `prefix` (raw, escaped here) in `bucket` (`*` for any bucket). */
const objectsArn = (p: string, bucket: string, prefix = '') => `arn:${p}:s3:::${bucket}/${iamLiteral(prefix)}*`;

/** The campaign's folder in the report bucket: manifests, completion reports, the final report, watermarks. */
function campaignFolder(spec: CampaignSpec, p: string): string {
  return objectsArn(p, spec.report.bucket, `${spec.report.prefix}/`);
}

/**
 * The S3 Batch Operations operation names of a spec's operation's jobs (as `s3:RequestJobOperation` sees them): one,
 * except for restore-and-copy, whose campaign creates restore jobs and copy jobs.
 */
export function jobOperationNames(type: CampaignSpec['operation']['type']): string[] {
  return type === 'restore-and-copy'
    ? [jobOperationName('restore'), jobOperationName('copy')]
    : [jobOperationName(type)];
}

/** The S3 Batch Operations operation name of a single-job operation (as `s3:RequestJobOperation` sees it). */
export function jobOperationName(type: Exclude<CampaignSpec['operation']['type'], 'restore-and-copy'>): string {
  const names: Record<Exclude<CampaignSpec['operation']['type'], 'restore-and-copy'>, string> = {
    restore: 'S3InitiateRestoreObject',
    copy: 'S3PutObjectCopy',
    'put-tags': 'S3PutObjectTagging',
    'delete-tags': 'S3DeleteObjectTagging',
    acl: 'S3PutObjectAcl',
    'legal-hold': 'S3PutObjectLegalHold',
    retention: 'S3PutObjectRetention',
    lambda: 'LambdaInvoke',
    replicate: 'S3ReplicateObject',
    'compute-checksum': 'S3ComputeObjectChecksum',
  };
  return names[type];
}

function kmsStatements(kmsKeyArns: string[] | undefined): PolicyStatement[] {
  if (!kmsKeyArns?.length) return [];
  return [
    {
      Sid: 'UseKmsKeys',
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: [...new Set(kmsKeyArns)],
    },
  ];
}

/**
 * The ARNs of the objects a campaign acts on (scoped to the filter's key prefixes) and of their buckets; `unscoped`
 * when the buckets are unknown and every bucket (`*`) is allowed.
 */
function sourceResources(
  spec: CampaignSpec,
  p: string,
  known: string[] | undefined,
): { sourceObjects: string[]; sourceBuckets: string[]; unscoped: boolean } {
  let buckets: string[];
  if (spec.source.type === 'keys' || spec.source.type === 'bucket') buckets = [spec.source.bucket];
  else if (known?.length) buckets = [...new Set(known)].sort();
  else buckets = ['*'];
  const prefixes =
    spec.source.type === 'bucket'
      ? listedPrefixes(spec.source.prefix ?? '', spec.filter?.keyPrefixes)
      : spec.filter?.keyPrefixes?.length
        ? [...spec.filter.keyPrefixes]
        : [''];
  return {
    sourceObjects: buckets.flatMap((b) => prefixes.map((prefix) => objectsArn(p, b, prefix))),
    sourceBuckets: buckets.map((b) => bucketArn(p, b)),
    unscoped: buckets[0] === '*',
  };
}

/**
 * The key prefixes a bucket source's objects can have: its `prefix`, narrowed by the filter's key prefixes (a filter
 * prefix outside the source prefix selects nothing).
 */
function listedPrefixes(sourcePrefix: string, keyPrefixes: string[] | undefined): string[] {
  if (!keyPrefixes?.length) return [sourcePrefix];
  const inside = keyPrefixes
    .map((k) => (k.startsWith(sourcePrefix) ? k : sourcePrefix.startsWith(k) ? sourcePrefix : undefined))
    .filter((k): k is string => k !== undefined);
  // A prefix inside another one adds nothing.
  const kept = [...new Set(inside)].filter((k) => !inside.some((o) => o !== k && k.startsWith(o)));
  return kept.length > 0 ? kept : [sourcePrefix];
}

/** Read the objects a copy copies: the documented copy policy reads the ACL too; tags only when the copies take them. */
function copySourceActions(op: { tags?: Record<string, string> }, v: (action: string) => string[]): string[] {
  return [
    's3:GetObject',
    ...v('s3:GetObjectVersion'),
    's3:GetObjectAcl',
    ...v('s3:GetObjectVersionAcl'),
    ...(op.tags ? [] : ['s3:GetObjectTagging', ...v('s3:GetObjectVersionTagging')]),
  ];
}

/** Write the copies: tags are written either way (the source's, or operation.tags); an ACL only when one is set. */
function copyTargetActions(op: { cannedAcl?: string }): string[] {
  return ['s3:PutObject', 's3:PutObjectTagging', ...(op.cannedAcl ? ['s3:PutObjectAcl'] : [])];
}

/**
 * A bucket source with `generator: "s3"`: the job's role lists the source bucket and S3 builds the list with its
 * inventory machinery, which is why AWS's policies for generated manifests (Batch Replication's among them) grant
 * `s3:PutInventoryConfiguration` on the source bucket. The generated manifest goes to the campaign's folder, which
 * ReadCampaignManifests and WriteCompletionReports already cover.
 */
function generatorStatements(spec: CampaignSpec, p: string): PolicyStatement[] {
  const src = spec.source;
  if (src.type !== 'bucket' || src.generator !== 's3') return [];
  return [
    {
      Sid: 'GenerateManifestFromSourceBucket',
      Effect: 'Allow',
      Action: ['s3:ListBucket', 's3:PutInventoryConfiguration'],
      Resource: bucketArn(p, src.bucket),
    },
  ];
}

/**
 * The permissions and trust policies of the role the campaign's jobs run as (`spec.roleArn`), for exactly this
 * campaign: read its manifests and write its completion reports under `<report.bucket>/<report.prefix>/`, and the
 * operation's actions on the source objects (scoped to the inventory filter's key prefixes when there are any).
 */
export function batchRolePolicies(spec: CampaignSpec, opts: BatchRolePolicyOptions = {}): BatchRolePolicies {
  const p = partitionOf(spec);
  const warnings: string[] = [];
  const op = spec.operation;
  const isKeys = spec.source.type === 'keys';
  const versioned = isKeys ? false : spec.source.type === 'bucket' ? spec.source.versions : (opts.versioned ?? true);
  const v = (action: string) => (versioned ? [action] : []);

  const { sourceObjects, sourceBuckets, unscoped } = sourceResources(spec, p, opts.sourceBuckets);
  if (unscoped) {
    const unknown =
      spec.source.type === 'csv'
        ? 'The CSV manifest’s buckets are unknown'
        : spec.source.type === 'campaign-failures'
          ? `The buckets of campaign ${spec.source.campaignId}’s failures are unknown`
          : 'The inventory’s source bucket is unknown';
    warnings.push(
      `${unknown}: the operation is allowed on objects in every bucket (*). Pass --source-bucket to scope it.`,
    );
  }

  const statements: PolicyStatement[] = [
    {
      Sid: 'ReadCampaignManifests',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:GetObjectVersion'],
      Resource: campaignFolder(spec, p),
    },
    { Sid: 'WriteCompletionReports', Effect: 'Allow', Action: 's3:PutObject', Resource: campaignFolder(spec, p) },
    {
      Sid: 'ReportBucketLocation',
      Effect: 'Allow',
      Action: 's3:GetBucketLocation',
      Resource: bucketArn(p, spec.report.bucket),
    },
  ];
  const onObjects = (Sid: string, Action: string[]) =>
    statements.push({ Sid, Effect: 'Allow', Action, Resource: sourceObjects });
  // Batch Operations reads the bucket's Object Lock configuration before it processes any key.
  const lockConfig = () =>
    statements.push({
      Sid: 'ReadObjectLockConfiguration',
      Effect: 'Allow',
      Action: 's3:GetBucketObjectLockConfiguration',
      Resource: sourceBuckets,
    });

  switch (op.type) {
    case 'restore':
      onObjects('RestoreObjects', ['s3:RestoreObject']);
      break;
    case 'put-tags':
      onObjects('PutObjectTags', ['s3:PutObjectTagging', ...v('s3:PutObjectVersionTagging')]);
      break;
    case 'delete-tags':
      onObjects('DeleteObjectTags', ['s3:DeleteObjectTagging', ...v('s3:DeleteObjectVersionTagging')]);
      break;
    case 'acl':
      onObjects('PutObjectAcls', ['s3:PutObjectAcl', ...v('s3:PutObjectVersionAcl')]);
      break;
    case 'legal-hold':
      onObjects('PutObjectLegalHolds', ['s3:PutObjectLegalHold']);
      lockConfig();
      break;
    case 'retention':
      onObjects('PutObjectRetention', [
        's3:PutObjectRetention',
        ...(op.bypassGovernance ? ['s3:BypassGovernanceRetention'] : []),
      ]);
      lockConfig();
      break;
    case 'copy':
    case 'restore-and-copy':
      // restore-and-copy: the role runs the restore jobs and the copy waves (the worker copies large objects itself).
      if (op.type === 'restore-and-copy') onObjects('RestoreObjects', ['s3:RestoreObject']);
      // The documented copy policy reads the source ACL as well as the object. The source tags are read only when
      // the copies take them (no operation.tags: CopyObject's tagging directive is COPY).
      onObjects('ReadCopySources', copySourceActions(op, v));
      statements.push({
        Sid: 'WriteCopies',
        Effect: 'Allow',
        Action: copyTargetActions(op),
        Resource: objectsArn(p, op.targetBucket, op.targetKeyPrefix ?? ''),
      });
      break;
    case 'lambda':
      // The function does the work with its own execution role; the job only invokes it.
      statements.push({
        Sid: 'InvokeFunction',
        Effect: 'Allow',
        Action: 'lambda:InvokeFunction',
        Resource: op.functionArn,
      });
      break;
    case 'replicate':
      // With a manifest the campaign supplies, AWS documents s3:InitiateReplication only;
      // s3:GetReplicationConfiguration and s3:PutInventoryConfiguration are for manifests S3 generates.
      onObjects('InitiateReplication', ['s3:InitiateReplication']);
      break;
    case 'compute-checksum':
      onObjects('ReadObjectsForChecksums', ['s3:GetObject', ...v('s3:GetObjectVersion')]);
      warnings.push(
        'AWS documents no permission list for S3ComputeObjectChecksum: the policy grants s3:GetObject' +
          (versioned ? ' and s3:GetObjectVersion' : '') +
          ' on the objects, the read that computing a checksum needs (reasoned, not documented).',
      );
      break;
  }
  statements.push(...generatorStatements(spec, p));
  statements.push(...kmsStatements(opts.kmsKeyArns));

  return {
    permissionsPolicy: { Version: '2012-10-17', Statement: statements },
    trustPolicy: {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'BatchOperationsAssumesRole',
          Effect: 'Allow',
          Principal: { Service: BATCH_OPERATIONS_PRINCIPAL },
          Action: 'sts:AssumeRole',
          // Only jobs of this account may use the role (confused-deputy protection).
          Condition: { StringEquals: { 'aws:SourceAccount': spec.accountId } },
        },
      ],
    },
    warnings,
  };
}

/** `a/b/c/2026-11-24T00-00Z/manifest.json` → `a/b/c/`: the inventory configuration's folder (reports and data). */
function inventoryConfigFolder(manifestKey: string): string {
  const parts = manifestKey.split('/');
  return parts.length >= 3
    ? `${parts.slice(0, -2).join('/')}/`
    : `${parts.slice(0, -1).join('/')}${parts.length > 1 ? '/' : ''}`;
}

function parseS3(uri: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  return { bucket: m?.[1] ?? '', key: m?.[2] ?? '' };
}

/**
 * The policy of the worker's own credentials for this campaign: create its jobs (this operation, at most this
 * priority, carrying the campaign tag), describe them, approve or cancel and re-prioritise only campaign jobs, pass
 * `spec.roleArn` to Batch Operations only, read the source (inventory or CSV manifest, or list a bucket source) and
 * read/write the campaign's folder.
 */
export function workerPolicy(spec: CampaignSpec, opts: WorkerPolicyOptions = {}): PolicyDocument {
  const p = partitionOf(spec);
  const jobs = `arn:${p}:s3:${spec.region}:${spec.accountId}:job/*`;
  const statements: PolicyStatement[] = [
    {
      Sid: 'CreateCampaignJobs',
      Effect: 'Allow',
      Action: 's3:CreateJob',
      // CreateJob has no resource type: conditions do the scoping.
      Resource: '*',
      Condition: {
        StringEquals: {
          's3:RequestJobOperation': ((names) => (names.length === 1 ? names[0]! : names))(
            jobOperationNames(spec.operation.type),
          ),
        },
        NumericLessThanEquals: { 's3:RequestJobPriority': spec.priority },
        Null: { [`aws:RequestTag/${CAMPAIGN_JOB_TAG}`]: 'false' },
      },
    },
    { Sid: 'ListJobs', Effect: 'Allow', Action: 's3:ListJobs', Resource: '*' },
    { Sid: 'ReadJobs', Effect: 'Allow', Action: ['s3:DescribeJob', 's3:GetJobTagging'], Resource: jobs },
    {
      Sid: 'ManageCampaignJobs',
      Effect: 'Allow',
      Action: ['s3:UpdateJobStatus', 's3:UpdateJobPriority', 's3:PutJobTagging'],
      Resource: jobs,
      Condition: { Null: { [`aws:ResourceTag/${CAMPAIGN_JOB_TAG}`]: 'false' } },
    },
    {
      Sid: 'PassBatchOperationsRole',
      Effect: 'Allow',
      Action: 'iam:PassRole',
      Resource: spec.roleArn,
      Condition: { StringEquals: { 'iam:PassedToService': BATCH_OPERATIONS_PRINCIPAL } },
    },
    {
      Sid: 'ReadWriteCampaignFolder',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
      Resource: campaignFolder(spec, p),
    },
    {
      // Without s3:ListBucket, reading a key that does not exist yet (a watermark before the first run) answers 403
      // instead of 404, and a condition on s3:prefix does not apply to that check: the listing stays unconditioned.
      // The manifest writer lists its own unfinished multipart uploads to abort stale ones.
      Sid: 'ListReportBucket',
      Effect: 'Allow',
      Action: ['s3:ListBucket', 's3:ListBucketMultipartUploads'],
      Resource: bucketArn(p, spec.report.bucket),
    },
  ];
  const src = spec.source;
  if (src.type === 'inventory') {
    const { bucket, key } = parseS3(src.manifest);
    statements.push({
      Sid: 'ReadInventory',
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: objectsArn(p, bucket, inventoryConfigFolder(key)),
    });
  } else if (src.type === 'inventory-latest') {
    const { bucket, key } = parseS3(src.destination);
    const folder = key === '' || key.endsWith('/') ? key : `${key}/`;
    statements.push(
      { Sid: 'ReadInventory', Effect: 'Allow', Action: 's3:GetObject', Resource: objectsArn(p, bucket, folder) },
      {
        // To find the newest report folder, and (as for the report bucket) to get 404, not 403, from a report whose
        // manifest.json is not written yet.
        Sid: 'ListInventoryReports',
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: bucketArn(p, bucket),
      },
    );
  } else if (src.type === 'bucket' && src.generator === 'list') {
    // The worker lists the bucket itself (ListObjectsV2, or ListObjectVersions with versions), always with the
    // source's prefix as the request's prefix: s3:prefix scopes the listing to it.
    const prefix = src.prefix ?? '';
    statements.push({
      Sid: 'ListSourceBucket',
      Effect: 'Allow',
      Action: src.versions ? ['s3:ListBucket', 's3:ListBucketVersions'] : 's3:ListBucket',
      Resource: bucketArn(p, src.bucket),
      ...(prefix ? { Condition: { StringLike: { 's3:prefix': `${iamLiteral(prefix)}*` } } } : {}),
    });
  } else if (src.type === 'csv') {
    const { bucket, key } = parseS3(src.manifest);
    statements.push({
      Sid: 'ReadCsvManifest',
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: `arn:${p}:s3:::${bucket}/${iamLiteral(key)}`,
    });
  } else if (src.type === 'campaign-failures') {
    // The other campaign's folder is inside this campaign's report prefix (ReadWriteCampaignFolder) unless the source
    // names another report bucket or prefix: then only its two report files are read.
    const loc = campaignFailuresLocation(src, spec.report);
    if (loc.bucket !== spec.report.bucket || !loc.folder.startsWith(`${spec.report.prefix}/`)) {
      statements.push(
        {
          Sid: 'ReadRedrivenCampaignReport',
          Effect: 'Allow',
          Action: 's3:GetObject',
          Resource: ['failed.csv', 'campaign.json'].map(
            (f) => `arn:${p}:s3:::${loc.bucket}/${iamLiteral(`${loc.folder}/${f}`)}`,
          ),
        },
        {
          // 404, not 403, when that campaign has not written its report yet, so the error can say so (a condition
          // on s3:prefix does not apply to that check).
          Sid: 'ListRedrivenCampaignReportBucket',
          Effect: 'Allow',
          Action: 's3:ListBucket',
          Resource: bucketArn(p, loc.bucket),
        },
      );
    }
  }
  if (spec.operation.type === 'restore-and-copy') {
    statements.push(...restoreAndCopyWorkerStatements(spec, spec.operation, p, opts));
  }
  statements.push(...kmsStatements(opts.kmsKeyArns));
  return { Version: '2012-10-17', Statement: statements };
}

/** `https://sqs.eu-west-1.amazonaws.com/111122223333/name` → its ARN (a local endpoint takes the spec's Region). */
export function sqsQueueArn(queueUrl: string, partition: string, region: string): string {
  const m = /^https?:\/\/([^/]+)\/(\d{12})\/([^/]+)$/.exec(queueUrl);
  const host = m?.[1] ?? '';
  const queueRegion = /^sqs\.([a-z0-9-]+)\.amazonaws\.com/.exec(host)?.[1] ?? region;
  return `arn:${partition}:sqs:${queueRegion}:${m?.[2] ?? '*'}:${m?.[3] ?? '*'}`;
}

/**
 * What the worker does itself in a restore-and-copy campaign: HEAD sweeps and the precheck (`s3:GetObject` covers
 * HeadObject), expiry extensions (`s3:RestoreObject`), multipart copies of the objects above largeObjectThreshold
 * (read the source and its tags; create, part-copy, complete, list and abort uploads in the target; HEAD the target
 * to verify it), and reading restore events from the queue when one is named.
 */
function restoreAndCopyWorkerStatements(
  spec: CampaignSpec,
  op: RestoreAndCopyOperation,
  p: string,
  opts: WorkerPolicyOptions,
): PolicyStatement[] {
  const versioned =
    spec.source.type === 'keys'
      ? false
      : spec.source.type === 'bucket'
        ? spec.source.versions
        : (opts.versioned ?? true);
  const v = (action: string) => (versioned ? [action] : []);
  const { sourceObjects } = sourceResources(spec, p, opts.sourceBuckets);
  const target = objectsArn(p, op.targetBucket, op.targetKeyPrefix ?? '');
  const statements: PolicyStatement[] = [
    {
      Sid: 'TrackAndExtendRestores',
      Effect: 'Allow',
      Action: ['s3:GetObject', ...v('s3:GetObjectVersion'), 's3:RestoreObject'],
      Resource: sourceObjects,
    },
    {
      Sid: 'ReadLargeCopySources',
      Effect: 'Allow',
      Action: op.tags ? [] : ['s3:GetObjectTagging', ...v('s3:GetObjectVersionTagging')],
      Resource: sourceObjects,
    },
    {
      Sid: 'WriteLargeCopies',
      Effect: 'Allow',
      // s3:PutObject covers CreateMultipartUpload, UploadPartCopy and CompleteMultipartUpload; s3:GetObject the HEAD
      // that verifies the finished copy.
      Action: [...copyTargetActions(op), 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts', 's3:GetObject'],
      Resource: target,
    },
    {
      // abortAbandonedUploads lists the campaign's unfinished uploads in the target bucket.
      Sid: 'ListLargeCopyUploads',
      Effect: 'Allow',
      Action: 's3:ListBucketMultipartUploads',
      Resource: bucketArn(p, op.targetBucket),
    },
  ].filter((s) => s.Action.length > 0) as PolicyStatement[];
  if (op.tracking.queueUrl) {
    statements.push(
      {
        // ReceiveMessage, and DeleteMessageBatch once a batch's facts are durable.
        Sid: 'ReadRestoreEvents',
        Effect: 'Allow',
        Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage'],
        Resource: sqsQueueArn(op.tracking.queueUrl, p, spec.region),
      },
      {
        // A tracking step deletes the event files it applied (DeleteObjects). Without it they stay listed, and every
        // later step reads and rewrites their shards again: the only deletes a campaign makes, so scoped to them.
        Sid: 'DeleteAppliedRestoreEvents',
        Effect: 'Allow',
        Action: 's3:DeleteObject',
        Resource: objectsArn(p, spec.report.bucket, `${spec.report.prefix}/`) + '/tracking/events/*',
      },
    );
  }
  return statements;
}
