/** The least-privilege policies of one campaign: exact actions and resources for every operation and source. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { batchRolePolicies, iamLiteral, workerPolicy, type PolicyDocument } from '../../src/iam/policy';
import { parseCampaignSpec, type CampaignSpec } from '../../src/shared/campaign-spec';

const ROOT = path.join(__dirname, '..', '..');
const ROLE = 'arn:aws:iam::111122223333:role/S3BatchOperationsRole';
const MANIFESTS = 'arn:aws:s3:::ops-reports/s3-campaigns/*';

function spec(overrides: Record<string, unknown>): CampaignSpec {
  return parseCampaignSpec({
    name: 'test',
    accountId: '111122223333',
    region: 'us-east-1',
    roleArn: ROLE,
    source: { type: 'keys', bucket: 'src-bucket', keys: ['a.txt'] },
    operation: { type: 'restore' },
    report: { bucket: 'ops-reports' },
    ...overrides,
  });
}

/** Statements as `[Sid, actions, resources]`, for exact comparison. */
function statements(doc: PolicyDocument): Array<[string, string[], string[]]> {
  const list = (x: string | string[] | undefined) => (x === undefined ? [] : Array.isArray(x) ? x : [x]);
  return doc.Statement.map((s) => [s.Sid, list(s.Action), list(s.Resource)]);
}

/** The three statements every Batch Operations role needs: read the manifests, write the reports, locate the bucket. */
const COMMON: Array<[string, string[], string[]]> = [
  ['ReadCampaignManifests', ['s3:GetObject', 's3:GetObjectVersion'], [MANIFESTS]],
  ['WriteCompletionReports', ['s3:PutObject'], [MANIFESTS]],
  ['ReportBucketLocation', ['s3:GetBucketLocation'], ['arn:aws:s3:::ops-reports']],
];

describe('batchRolePolicies: the operation’s actions on the source objects (keys source, bucket src-bucket)', () => {
  const OBJECTS = 'arn:aws:s3:::src-bucket/*';
  const cases: Array<[string, unknown, Array<[string, string[], string[]]>]> = [
    ['restore', { type: 'restore' }, [['RestoreObjects', ['s3:RestoreObject'], [OBJECTS]]]],
    ['put-tags', { type: 'put-tags', tags: { a: 'b' } }, [['PutObjectTags', ['s3:PutObjectTagging'], [OBJECTS]]]],
    ['delete-tags', { type: 'delete-tags' }, [['DeleteObjectTags', ['s3:DeleteObjectTagging'], [OBJECTS]]]],
    ['acl', { type: 'acl', cannedAcl: 'private' }, [['PutObjectAcls', ['s3:PutObjectAcl'], [OBJECTS]]]],
    [
      'legal-hold',
      { type: 'legal-hold', status: 'ON' },
      [
        ['PutObjectLegalHolds', ['s3:PutObjectLegalHold'], [OBJECTS]],
        ['ReadObjectLockConfiguration', ['s3:GetBucketObjectLockConfiguration'], ['arn:aws:s3:::src-bucket']],
      ],
    ],
    [
      'retention',
      { type: 'retention', mode: 'GOVERNANCE', retainUntil: '2030-01-01T00:00:00Z' },
      [
        ['PutObjectRetention', ['s3:PutObjectRetention'], [OBJECTS]],
        ['ReadObjectLockConfiguration', ['s3:GetBucketObjectLockConfiguration'], ['arn:aws:s3:::src-bucket']],
      ],
    ],
    [
      'retention with bypassGovernance',
      { type: 'retention', bypassGovernance: true },
      [
        ['PutObjectRetention', ['s3:PutObjectRetention', 's3:BypassGovernanceRetention'], [OBJECTS]],
        ['ReadObjectLockConfiguration', ['s3:GetBucketObjectLockConfiguration'], ['arn:aws:s3:::src-bucket']],
      ],
    ],
    [
      'copy (source tags copied, no ACL)',
      { type: 'copy', targetBucket: 'dr-bucket' },
      [
        ['ReadCopySources', ['s3:GetObject', 's3:GetObjectAcl', 's3:GetObjectTagging'], [OBJECTS]],
        ['WriteCopies', ['s3:PutObject', 's3:PutObjectTagging'], ['arn:aws:s3:::dr-bucket/*']],
      ],
    ],
    [
      'copy with a prefix, new tags and a canned ACL',
      {
        type: 'copy',
        targetBucket: 'dr-bucket',
        targetKeyPrefix: 'replica/',
        tags: { copy: 'yes' },
        cannedAcl: 'bucket-owner-full-control',
      },
      [
        ['ReadCopySources', ['s3:GetObject', 's3:GetObjectAcl'], [OBJECTS]],
        [
          'WriteCopies',
          ['s3:PutObject', 's3:PutObjectTagging', 's3:PutObjectAcl'],
          ['arn:aws:s3:::dr-bucket/replica/*'],
        ],
      ],
    ],
    [
      'lambda',
      { type: 'lambda', functionArn: 'arn:aws:lambda:us-east-1:111122223333:function:thumbnailer:live' },
      [
        [
          'InvokeFunction',
          ['lambda:InvokeFunction'],
          ['arn:aws:lambda:us-east-1:111122223333:function:thumbnailer:live'],
        ],
      ],
    ],
    ['replicate', { type: 'replicate' }, [['InitiateReplication', ['s3:InitiateReplication'], [OBJECTS]]]],
    [
      'compute-checksum',
      { type: 'compute-checksum', algorithm: 'SHA256' },
      [['ReadObjectsForChecksums', ['s3:GetObject'], [OBJECTS]]],
    ],
  ];

  test.each(cases)('%s', (_name, operation, expected) => {
    const { permissionsPolicy, warnings } = batchRolePolicies(spec({ operation }));
    expect(permissionsPolicy.Version).toBe('2012-10-17');
    expect(statements(permissionsPolicy)).toEqual([...COMMON, ...expected]);
    expect(permissionsPolicy.Statement.every((s) => s.Effect === 'Allow' && s.Condition === undefined)).toBe(true);
    expect(warnings).toEqual(
      (operation as { type: string }).type === 'compute-checksum'
        ? [
            'AWS documents no permission list for S3ComputeObjectChecksum: the policy grants s3:GetObject on the objects, the read that computing a checksum needs (reasoned, not documented).',
          ]
        : [],
    );
  });
});

test('the trust policy: the Batch Operations service, only for jobs of the campaign’s account', () => {
  expect(batchRolePolicies(spec({})).trustPolicy).toEqual({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'BatchOperationsAssumesRole',
        Effect: 'Allow',
        Principal: { Service: 'batchoperations.s3.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'aws:SourceAccount': '111122223333' } },
      },
    ],
  });
});

describe('batchRolePolicies: sources', () => {
  const inventory = {
    type: 'inventory',
    manifest: 's3://inv-bucket/inventory/logs/daily/2026-11-24T00-00Z/manifest.json',
  };

  test('inventory with key prefixes: scoped to those prefixes of the source bucket, version actions included', () => {
    const s = spec({
      source: inventory,
      filter: { keyPrefixes: ['2019/', 'archive/2020/'] },
      operation: { type: 'put-tags', tags: { a: 'b' } },
    });
    const { permissionsPolicy, warnings } = batchRolePolicies(s, { sourceBuckets: ['logs'] });
    expect(statements(permissionsPolicy)).toEqual([
      ...COMMON,
      [
        'PutObjectTags',
        ['s3:PutObjectTagging', 's3:PutObjectVersionTagging'],
        ['arn:aws:s3:::logs/2019/*', 'arn:aws:s3:::logs/archive/2020/*'],
      ],
    ]);
    // The job reads the campaign's manifests, never the inventory itself: nothing on inv-bucket.
    expect(JSON.stringify(permissionsPolicy)).not.toContain('inv-bucket');
    expect(warnings).toEqual([]);
  });

  test('versioned: false (an inventory without VersionId) drops the version actions', () => {
    const s = spec({ source: inventory, operation: { type: 'copy', targetBucket: 'dr-bucket' } });
    expect(
      statements(batchRolePolicies(s, { sourceBuckets: ['logs'], versioned: false }).permissionsPolicy)[3],
    ).toEqual(['ReadCopySources', ['s3:GetObject', 's3:GetObjectAcl', 's3:GetObjectTagging'], ['arn:aws:s3:::logs/*']]);
    expect(statements(batchRolePolicies(s, { sourceBuckets: ['logs'] }).permissionsPolicy)[3]).toEqual([
      'ReadCopySources',
      [
        's3:GetObject',
        's3:GetObjectVersion',
        's3:GetObjectAcl',
        's3:GetObjectVersionAcl',
        's3:GetObjectTagging',
        's3:GetObjectVersionTagging',
      ],
      ['arn:aws:s3:::logs/*'],
    ]);
  });

  test('an unknown source bucket falls back to * and says so', () => {
    const s = spec({
      source: inventory,
      filter: { keyPrefixes: ['2019/'] },
      operation: { type: 'legal-hold', status: 'OFF' },
    });
    const { permissionsPolicy, warnings } = batchRolePolicies(s);
    expect(statements(permissionsPolicy).slice(3)).toEqual([
      ['PutObjectLegalHolds', ['s3:PutObjectLegalHold'], ['arn:aws:s3:::*/2019/*']],
      ['ReadObjectLockConfiguration', ['s3:GetBucketObjectLockConfiguration'], ['arn:aws:s3:::*']],
    ]);
    expect(warnings).toEqual([
      'The inventory’s source bucket is unknown: the operation is allowed on objects in every bucket (*). Pass --source-bucket to scope it.',
    ]);
  });

  test('csv: every bucket the manifest names, sorted and distinct', () => {
    const s = spec({ source: { type: 'csv', manifest: 's3://lists/restore.csv' } });
    const { permissionsPolicy } = batchRolePolicies(s, { sourceBuckets: ['b-two', 'a-one', 'b-two'] });
    expect(statements(permissionsPolicy).slice(3)).toEqual([
      ['RestoreObjects', ['s3:RestoreObject'], ['arn:aws:s3:::a-one/*', 'arn:aws:s3:::b-two/*']],
    ]);
  });

  test('KMS keys add Decrypt and GenerateDataKey on exactly those keys', () => {
    const key = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const { permissionsPolicy } = batchRolePolicies(spec({}), { kmsKeyArns: [key] });
    expect(statements(permissionsPolicy).at(-1)).toEqual(['UseKmsKeys', ['kms:Decrypt', 'kms:GenerateDataKey'], [key]]);
  });

  test('IAM wildcards in keys are escaped; the partition follows the role ARN', () => {
    expect(iamLiteral('odd*name?$x')).toBe('odd${*}name${?}${$}x');
    const s = spec({
      roleArn: 'arn:aws-cn:iam::111122223333:role/Batch',
      region: 'cn-north-1',
      source: inventory,
      filter: { keyPrefixes: ['what?/'] },
      report: { bucket: 'ops-reports', prefix: 'runs*' },
    });
    const { permissionsPolicy } = batchRolePolicies(s, { sourceBuckets: ['logs'] });
    expect(statements(permissionsPolicy)).toEqual([
      ['ReadCampaignManifests', ['s3:GetObject', 's3:GetObjectVersion'], ['arn:aws-cn:s3:::ops-reports/runs${*}/*']],
      ['WriteCompletionReports', ['s3:PutObject'], ['arn:aws-cn:s3:::ops-reports/runs${*}/*']],
      ['ReportBucketLocation', ['s3:GetBucketLocation'], ['arn:aws-cn:s3:::ops-reports']],
      ['RestoreObjects', ['s3:RestoreObject'], ['arn:aws-cn:s3:::logs/what${?}/*']],
    ]);
  });
});

describe('workerPolicy', () => {
  const JOBS = 'arn:aws:s3:us-east-1:111122223333:job/*';
  const COMMON_WORKER: Array<[string, string[], string[]]> = [
    ['CreateCampaignJobs', ['s3:CreateJob'], ['*']],
    ['ListJobs', ['s3:ListJobs'], ['*']],
    ['ReadJobs', ['s3:DescribeJob', 's3:GetJobTagging'], [JOBS]],
    ['ManageCampaignJobs', ['s3:UpdateJobStatus', 's3:UpdateJobPriority', 's3:PutJobTagging'], [JOBS]],
    ['PassBatchOperationsRole', ['iam:PassRole'], [ROLE]],
    [
      'ReadWriteCampaignFolder',
      ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
      [MANIFESTS],
    ],
    ['ListReportBucket', ['s3:ListBucket', 's3:ListBucketMultipartUploads'], ['arn:aws:s3:::ops-reports']],
  ];

  test.each<[string, unknown, Array<[string, string[], string[]]>]>([
    ['keys: nothing to read', { type: 'keys', bucket: 'src-bucket', keys: ['a'] }, []],
    [
      'inventory: the configuration’s folder (reports and data files)',
      { type: 'inventory', manifest: 's3://inv-bucket/inventory/logs/daily/2026-11-24T00-00Z/manifest.json' },
      [['ReadInventory', ['s3:GetObject'], ['arn:aws:s3:::inv-bucket/inventory/logs/daily/*']]],
    ],
    [
      'inventory-latest: the destination, and listing to find the newest report',
      { type: 'inventory-latest', destination: 's3://inv-bucket/inventory/logs/daily' },
      [
        ['ReadInventory', ['s3:GetObject'], ['arn:aws:s3:::inv-bucket/inventory/logs/daily/*']],
        ['ListInventoryReports', ['s3:ListBucket'], ['arn:aws:s3:::inv-bucket']],
      ],
    ],
    [
      'csv: the one manifest object',
      { type: 'csv', manifest: 's3://lists/restores/2019.csv' },
      [['ReadCsvManifest', ['s3:GetObject'], ['arn:aws:s3:::lists/restores/2019.csv']]],
    ],
    [
      'campaign-failures beside this campaign: inside the campaign folder already, nothing more',
      { type: 'campaign-failures', campaignId: 'nightly-1' },
      [],
    ],
    [
      'campaign-failures elsewhere: that campaign’s two report files, and listing for a clear 404',
      { type: 'campaign-failures', campaignId: 'nightly-1', report: { bucket: 'old-reports', prefix: 'team/b' } },
      [
        [
          'ReadRedrivenCampaignReport',
          ['s3:GetObject'],
          [
            'arn:aws:s3:::old-reports/team/b/nightly-1/failed.csv',
            'arn:aws:s3:::old-reports/team/b/nightly-1/campaign.json',
          ],
        ],
        ['ListRedrivenCampaignReportBucket', ['s3:ListBucket'], ['arn:aws:s3:::old-reports']],
      ],
    ],
  ])('%s', (_name, source, expected) => {
    expect(statements(workerPolicy(spec({ source })))).toEqual([...COMMON_WORKER, ...expected]);
  });

  test('conditions: this operation at most this priority with the campaign tag; only campaign jobs change; the role only to Batch Operations', () => {
    const doc = workerPolicy(spec({ operation: { type: 'copy', targetBucket: 'dr-bucket' }, priority: 42 }));
    const conditions = Object.fromEntries(doc.Statement.filter((s) => s.Condition).map((s) => [s.Sid, s.Condition]));
    expect(conditions).toEqual({
      CreateCampaignJobs: {
        StringEquals: { 's3:RequestJobOperation': 'S3PutObjectCopy' },
        NumericLessThanEquals: { 's3:RequestJobPriority': 42 },
        Null: { 'aws:RequestTag/s3-campaigns:campaign': 'false' },
      },
      ManageCampaignJobs: { Null: { 'aws:ResourceTag/s3-campaigns:campaign': 'false' } },
      PassBatchOperationsRole: { StringEquals: { 'iam:PassedToService': 'batchoperations.s3.amazonaws.com' } },
    });
  });

  test('KMS keys for the worker too', () => {
    const key = 'arn:aws:kms:us-east-1:111122223333:key/k';
    expect(statements(workerPolicy(spec({}), { kmsKeyArns: [key, key] })).at(-1)).toEqual([
      'UseKmsKeys',
      ['kms:Decrypt', 'kms:GenerateDataKey'],
      [key],
    ]);
  });
});

describe('restore-and-copy', () => {
  const OBJECTS = 'arn:aws:s3:::src-bucket/*';
  const TARGET = 'arn:aws:s3:::restored-data/from-archive/*';
  const rac = (extra: Record<string, unknown> = {}) =>
    spec({
      operation: {
        type: 'restore-and-copy',
        targetBucket: 'restored-data',
        targetKeyPrefix: 'from-archive/',
        ...extra,
      },
    });

  test('the role runs the restore jobs and the copy waves: restore, read the sources, write the copies', () => {
    expect(statements(batchRolePolicies(rac()).permissionsPolicy)).toEqual([
      ...COMMON,
      ['RestoreObjects', ['s3:RestoreObject'], [OBJECTS]],
      ['ReadCopySources', ['s3:GetObject', 's3:GetObjectAcl', 's3:GetObjectTagging'], [OBJECTS]],
      ['WriteCopies', ['s3:PutObject', 's3:PutObjectTagging'], [TARGET]],
    ]);
  });

  test('the worker: both job operations; HEAD sweeps and extensions; its own multipart copies; no queue, no SQS', () => {
    const doc = workerPolicy(rac({ cannedAcl: 'bucket-owner-full-control' }));
    expect(doc.Statement[0]!.Condition!.StringEquals).toEqual({
      's3:RequestJobOperation': ['S3InitiateRestoreObject', 'S3PutObjectCopy'],
    });
    expect(statements(doc).slice(7)).toEqual([
      ['TrackAndExtendRestores', ['s3:GetObject', 's3:RestoreObject'], [OBJECTS]],
      ['ReadLargeCopySources', ['s3:GetObjectTagging'], [OBJECTS]],
      [
        'WriteLargeCopies',
        [
          's3:PutObject',
          's3:PutObjectTagging',
          's3:PutObjectAcl',
          's3:AbortMultipartUpload',
          's3:ListMultipartUploadParts',
          's3:GetObject',
        ],
        [TARGET],
      ],
      ['ListLargeCopyUploads', ['s3:ListBucketMultipartUploads'], ['arn:aws:s3:::restored-data']],
    ]);
    expect(JSON.stringify(doc)).not.toContain('sqs:');
  });

  test('tags given in the spec: the sources’ tags are never read; a queue adds Receive/Delete on that queue only', () => {
    const doc = workerPolicy(
      rac({
        tags: { project: 'x' },
        tracking: { queueUrl: 'https://sqs.eu-west-1.amazonaws.com/111122223333/restore-events' },
      }),
      { sourceBuckets: ['archive-b', 'archive-a'], versioned: true },
    );
    const sids = statements(doc).map(([sid]) => sid);
    expect(sids).not.toContain('ReadLargeCopySources');
    expect(statements(doc).at(-2)).toEqual([
      'ReadRestoreEvents',
      ['sqs:ReceiveMessage', 'sqs:DeleteMessage'],
      ['arn:aws:sqs:eu-west-1:111122223333:restore-events'],
    ]);
    // A keys source names its bucket and has no versions, whatever the options say.
    expect(statements(doc).find(([sid]) => sid === 'TrackAndExtendRestores')).toEqual([
      'TrackAndExtendRestores',
      ['s3:GetObject', 's3:RestoreObject'],
      [OBJECTS],
    ]);
  });

  test('every S3 and SQS call of the tracking, large-copy and report code is allowed by the worker policy', () => {
    const files = ['src/activities', 'src/restore-tracking', 'src/large-copy'].flatMap((dir) =>
      readdirSync(path.join(ROOT, dir))
        .filter((f) => f.endsWith('.ts'))
        .map((f) => path.join(dir, f)),
    );
    const racFiles = files.filter((f) => /restore-tracking|large-copy|restore-and-copy-report/.test(f));
    const commands = new Set(
      racFiles.flatMap((f) =>
        [...readFileSync(path.join(ROOT, f), 'utf8').matchAll(/new (\w+)Command\(/g)].map((m) => m[1]!),
      ),
    );
    /** The IAM action of each call; Object Lock calls apply only to copy fields restore-and-copy does not take. */
    const ACTION: Record<string, string | null> = {
      HeadObject: 's3:GetObject',
      GetObject: 's3:GetObject',
      GetObjectTagging: 's3:GetObjectTagging',
      RestoreObject: 's3:RestoreObject',
      PutObject: 's3:PutObject',
      CreateMultipartUpload: 's3:PutObject',
      UploadPart: 's3:PutObject',
      UploadPartCopy: 's3:PutObject',
      CompleteMultipartUpload: 's3:PutObject',
      AbortMultipartUpload: 's3:AbortMultipartUpload',
      ListParts: 's3:ListMultipartUploadParts',
      ListMultipartUploads: 's3:ListBucketMultipartUploads',
      ListObjectsV2: 's3:ListBucket',
      DeleteObjects: 's3:DeleteObject',
      ReceiveMessage: 'sqs:ReceiveMessage',
      DeleteMessageBatch: 'sqs:DeleteMessage',
      PutObjectRetention: null,
      PutObjectLegalHold: null,
    };
    const doc = workerPolicy(
      rac({ tracking: { queueUrl: 'https://sqs.us-east-1.amazonaws.com/111122223333/restore-events' } }),
    );
    const allowed = new Set(statements(doc).flatMap(([, actions]) => actions));
    expect(commands.size).toBeGreaterThan(10);
    for (const c of commands) {
      expect([c, c in ACTION]).toEqual([c, true]);
      const action = ACTION[c];
      if (action) expect([c, allowed.has(action)]).toEqual([c, true]);
    }
    // The one delete: applied event files, under the campaigns' tracking folders only.
    expect(statements(doc).find(([sid]) => sid === 'DeleteAppliedRestoreEvents')).toEqual([
      'DeleteAppliedRestoreEvents',
      ['s3:DeleteObject'],
      ['arn:aws:s3:::ops-reports/s3-campaigns/*/tracking/events/*'],
    ]);
  });

  test('an inventory source: the worker is scoped to the given source buckets, with version actions', () => {
    const s = parseCampaignSpec({
      name: 'x',
      accountId: '111122223333',
      region: 'us-east-1',
      roleArn: ROLE,
      source: { type: 'inventory-latest', destination: 's3://inv-bucket/inventory/archive/daily/' },
      filter: { keyPrefixes: ['2019/'] },
      operation: { type: 'restore-and-copy', targetBucket: 'restored-data' },
      report: { bucket: 'ops-reports' },
    });
    expect(
      statements(workerPolicy(s, { sourceBuckets: ['archive'] })).find(([sid]) => sid === 'TrackAndExtendRestores'),
    ).toEqual([
      'TrackAndExtendRestores',
      ['s3:GetObject', 's3:GetObjectVersion', 's3:RestoreObject'],
      ['arn:aws:s3:::archive/2019/*'],
    ]);
  });
});

describe('bucket source listed by the worker (generator list)', () => {
  const bucketSpec = (source: Record<string, unknown>, over: Record<string, unknown> = {}) =>
    spec({
      source: { type: 'bucket', bucket: 'logs', ...source },
      operation: { type: 'put-tags', tags: { a: 'b' } },
      ...over,
    });
  const listing = (doc: PolicyDocument) => doc.Statement.filter((s) => s.Sid === 'ListSourceBucket');

  test.each<[string, Record<string, unknown>, unknown]>([
    [
      'the whole bucket: s3:ListBucket on it, unconditioned',
      {},
      [{ Sid: 'ListSourceBucket', Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::logs' }],
    ],
    [
      'a prefix: the listing scoped to it by s3:prefix (IAM wildcards in it escaped)',
      { prefix: '2019/*x/' },
      [
        {
          Sid: 'ListSourceBucket',
          Effect: 'Allow',
          Action: 's3:ListBucket',
          Resource: 'arn:aws:s3:::logs',
          Condition: { StringLike: { 's3:prefix': '2019/${*}x/*' } },
        },
      ],
    ],
    [
      'versions: ListBucketVersions too',
      { prefix: 'a/', versions: true },
      [
        {
          Sid: 'ListSourceBucket',
          Effect: 'Allow',
          Action: ['s3:ListBucket', 's3:ListBucketVersions'],
          Resource: 'arn:aws:s3:::logs',
          Condition: { StringLike: { 's3:prefix': 'a/*' } },
        },
      ],
    ],
  ])('worker: %s', (_name, source, expected) => {
    expect(listing(workerPolicy(bucketSpec(source)))).toEqual(expected);
  });

  test('a generator s3 source is not listed by the worker: no ListSourceBucket', () => {
    expect(listing(workerPolicy(bucketSpec({ generator: 's3' })))).toEqual([]);
  });

  test.each<[string, Record<string, unknown>, Record<string, unknown>, Array<[string, string[], string[]]>]>([
    [
      'the operation on bucket/prefix*, no version actions without versions, with no --source-bucket needed',
      { prefix: '2019/' },
      {},
      [['PutObjectTags', ['s3:PutObjectTagging'], ['arn:aws:s3:::logs/2019/*']]],
    ],
    [
      'versions: the version actions too',
      { prefix: '2019/', versions: true },
      {},
      [['PutObjectTags', ['s3:PutObjectTagging', 's3:PutObjectVersionTagging'], ['arn:aws:s3:::logs/2019/*']]],
    ],
    [
      'filter key prefixes narrow the source prefix; one outside it selects nothing and is left out',
      { prefix: '2019/' },
      { filter: { keyPrefixes: ['2019/01/', '2020/', '2019/02/x'] } },
      [['PutObjectTags', ['s3:PutObjectTagging'], ['arn:aws:s3:::logs/2019/01/*', 'arn:aws:s3:::logs/2019/02/x*']]],
    ],
    [
      'a filter key prefix above the source prefix: the source prefix',
      { prefix: '2019/' },
      { filter: { keyPrefixes: ['20', '2019/01/'] } },
      [['PutObjectTags', ['s3:PutObjectTagging'], ['arn:aws:s3:::logs/2019/*']]],
    ],
  ])('role: %s', (_name, source, over, expected) => {
    const { permissionsPolicy, warnings } = batchRolePolicies(bucketSpec(source, over));
    expect(statements(permissionsPolicy)).toEqual([...COMMON, ...expected]);
    expect(warnings).toEqual([]);
  });

  test('every list call of the lister is allowed by the worker policy', () => {
    const dir = path.join(ROOT, 'src/listing');
    const commands = new Set(
      readdirSync(dir)
        .filter((f) => f.endsWith('.ts'))
        .flatMap((f) => [...readFileSync(path.join(dir, f), 'utf8').matchAll(/new (\w+)Command\(/g)].map((m) => m[1]!)),
    );
    const ACTION: Record<string, string> = {
      ListObjectsV2: 's3:ListBucket',
      ListObjectVersions: 's3:ListBucketVersions',
    };
    expect([...commands].sort()).toEqual(['ListObjectVersions', 'ListObjectsV2']);
    const allowed = new Set(listing(workerPolicy(bucketSpec({ versions: true }))).flatMap((s) => s.Action));
    for (const c of commands) expect([c, allowed.has(ACTION[c]!)]).toEqual([c, true]);
  });
});

describe('bucket source with generator "s3" (S3 generates the manifest)', () => {
  test('the role lists the source bucket and may put the inventory configuration S3 generates with', () => {
    const s = spec({
      source: { type: 'bucket', bucket: 'logs', generator: 's3' },
      operation: { type: 'put-tags', tags: { a: 'b' } },
    });
    const { permissionsPolicy } = batchRolePolicies(s, { sourceBuckets: ['logs'], versioned: false });
    expect(statements(permissionsPolicy)).toEqual([
      ...COMMON,
      ['PutObjectTags', ['s3:PutObjectTagging'], ['arn:aws:s3:::logs/*']],
      ['GenerateManifestFromSourceBucket', ['s3:ListBucket', 's3:PutInventoryConfiguration'], ['arn:aws:s3:::logs']],
    ]);
  });

  test('the worker listing (generator "list") gives the role nothing on the bucket itself', () => {
    const s = spec({ source: { type: 'bucket', bucket: 'logs' }, operation: { type: 'put-tags', tags: { a: 'b' } } });
    const { permissionsPolicy } = batchRolePolicies(s, { sourceBuckets: ['logs'], versioned: false });
    expect(JSON.stringify(permissionsPolicy)).not.toContain('PutInventoryConfiguration');
    expect(JSON.stringify(permissionsPolicy)).not.toContain('"arn:aws:s3:::logs"');
  });
});
