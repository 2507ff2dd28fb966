/**
 * The engine's S3 Control codec, checked against the real `@aws-sdk/client-s3-control` serializers and deserializers
 * (no network): what the SDK sends decodes to the right job spec, what the engine answers parses in the SDK to the
 * same values, and bad input is refused with a message that names the field.
 */
import {
  CreateJobCommand,
  type CreateJobCommandInput,
  DeleteJobTaggingCommand,
  DescribeJobCommand,
  type DescribeJobCommandOutput,
  GetJobTaggingCommand,
  type GetJobTaggingCommandOutput,
  type JobOperation as SdkJobOperation,
  ListJobsCommand,
  type ListJobsCommandOutput,
  PutJobTaggingCommand,
  UpdateJobPriorityCommand,
  type UpdateJobPriorityCommandOutput,
  UpdateJobStatusCommand,
  type UpdateJobStatusCommandOutput,
} from '@aws-sdk/client-s3-control';

import {
  ApiError,
  createJobRequestHash,
  decodeCreateJob,
  decodePutJobTagging,
  encodeDeleteJobTagging,
  encodeDescribeJob,
  encodeError,
  encodeGetJobTagging,
  encodeListJobs,
  encodeUpdateJobPriority,
  encodeUpdateJobStatus,
  type JobView,
} from '../../src/local-batch/codec';
import type { CreateJobSpec, JobRecord } from '../../src/local-batch/types';
import { buildXmlDocument, parseXmlDocument, XmlSyntaxError } from '../../src/local-batch/xml';
import { captureRequest, sdkResponse } from '../support/sdk-wire';

const ACCOUNT = '123456789012';
const NS = 'http://awss3control.amazonaws.com/doc/2018-08-20/';

const baseInput: CreateJobCommandInput = {
  AccountId: ACCOUNT,
  ConfirmationRequired: false,
  Operation: { S3DeleteObjectTagging: {} },
  Report: { Enabled: false },
  ClientRequestToken: 'token-1',
  Manifest: {
    Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
    Location: { ObjectArn: 'arn:aws:s3:::manifests/run 1/m.csv', ETag: '60e460c9d1046e73f7dde5043ac3ae85' },
  },
  Priority: 10,
  RoleArn: 'arn:aws:iam::111122223333:role/S3BatchRole',
};

/** The spec the engine decodes from the body the SDK sends for `input`. */
async function decodeFromSdk(input: CreateJobCommandInput): Promise<CreateJobSpec> {
  const req = await captureRequest(new CreateJobCommand(input));
  expect(req.method).toBe('POST');
  expect(req.path).toBe('/v20180820/jobs');
  const doc = parseXmlDocument(req.body);
  return decodeCreateJob(doc.root, doc.value, req.headers['x-amz-account-id']!);
}

function decodeXml(body: string): CreateJobSpec {
  const doc = parseXmlDocument(body);
  return decodeCreateJob(doc.root, doc.value, ACCOUNT);
}

function errorOf(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected an ApiError');
}

function record(spec: CreateJobSpec, over: Partial<JobRecord> = {}): JobRecord {
  return {
    JobId: '93735294-df46-44d5-8638-6356f335324e',
    JobArn: `arn:aws:s3:us-east-1:${ACCOUNT}:job/93735294-df46-44d5-8638-6356f335324e`,
    requestHash: createJobRequestHash(spec),
    spec,
    Status: 'Active',
    Priority: spec.Priority,
    Tags: spec.Tags ?? [],
    CreationTime: '2026-01-02T03:04:05.678Z',
    FailureReasons: [],
    activeMsBefore: 0,
    ...over,
  };
}

const progress = {
  TotalNumberOfTasks: 7,
  NumberOfTasksSucceeded: 5,
  NumberOfTasksFailed: 1,
  Timers: { ElapsedTimeInActiveSeconds: 12 },
};

describe('XML documents', () => {
  test('namespaces, indentation and element order do not matter; values keep spaces and decode references', () => {
    const doc = parseXmlDocument(
      `<?xml version="1.0" encoding="UTF-8"?>\n<s:Root xmlns:s="${NS}">\n  <s:B> two &amp; &lt;3&gt; </s:B>\n  <A>a&#x0A;b&#13;&#x1F600;</A>\n</s:Root>`,
    );
    expect(doc).toEqual({ root: 'Root', value: { B: ' two & <3> ', A: 'a\nb\r😀' } });
  });

  test.each([
    ['an empty body', '', /empty/],
    ['text that is not XML', 'Priority=5', /./],
    ['an unclosed element', '<CreateJobRequest><Priority>5</CreateJobRequest>', /./],
    ['a DOCTYPE (entity expansion)', '<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>', /DOCTYPE/],
    ['two roots', '<a/><b/>', /./],
    ['text mixed with elements', '<a>text<b>1</b></a>', /mixes text/],
    ['a character XML cannot carry', '<a><b>x&#1;y</b></a>', /not allow/],
    ['a prototype-polluting element name', '<a><__proto__>1</__proto__></a>', /./],
  ])('%s is a syntax error', (_name, body, message) => {
    expect(() => parseXmlDocument(body)).toThrow(XmlSyntaxError);
    expect(() => parseXmlDocument(body)).toThrow(message);
  });

  test('built documents carry the namespace, escape like the SDK and parse back to the same text', () => {
    const text = 'a&b <c> "d" \'e\'\r\nf\u2028ü';
    const xml = buildXmlDocument('R', { T: text, Empty: '', Absent: undefined, N: 0, B: false, L: ['x', 'y'] });
    expect(xml).toContain(`<R xmlns="${NS}">`);
    expect(xml).toContain('<Empty/>');
    expect(xml).not.toContain('Absent');
    expect(xml).toContain('&#x0D;&#x0A;');
    expect(parseXmlDocument(xml).value).toEqual({ T: text, Empty: '', N: '0', B: 'false', L: ['x', 'y'] });
  });
});

describe('CreateJob: what the SDK sends decodes to the job spec', () => {
  test('the common members, with ConfirmationRequired and tags', async () => {
    const spec = await decodeFromSdk({
      ...baseInput,
      Description: 'tag & copy <spring>',
      Report: {
        Enabled: true,
        Bucket: 'arn:aws:s3:::reports',
        Format: 'Report_CSV_20180820',
        Prefix: 'batch',
        ReportScope: 'FailedTasksOnly',
      },
      Tags: [{ Key: 'app', Value: 'restore' }],
    });
    expect(spec).toEqual({
      AccountId: ACCOUNT,
      ConfirmationRequired: false,
      Operation: { type: 'S3DeleteObjectTagging' },
      Report: {
        Enabled: true,
        Bucket: 'arn:aws:s3:::reports',
        Format: 'Report_CSV_20180820',
        Prefix: 'batch',
        ReportScope: 'FailedTasksOnly',
      },
      ClientRequestToken: 'token-1',
      Manifest: baseInput.Manifest,
      Description: 'tag & copy <spring>',
      Priority: 10,
      RoleArn: baseInput.RoleArn,
      Tags: [{ Key: 'app', Value: 'restore' }],
    });
  });

  test('an absent ConfirmationRequired means the job waits for confirmation', async () => {
    const { ConfirmationRequired, ...rest } = baseInput;
    expect(ConfirmationRequired).toBe(false);
    expect((await decodeFromSdk(rest)).ConfirmationRequired).toBe(true);
  });

  test('an enabled report gets the default format and scope', async () => {
    const spec = await decodeFromSdk({ ...baseInput, Report: { Enabled: true, Bucket: 'arn:aws:s3:::reports' } });
    expect(spec.Report).toEqual({
      Enabled: true,
      Bucket: 'arn:aws:s3:::reports',
      Format: 'Report_CSV_20180820',
      ReportScope: 'AllTasks',
    });
  });

  const retainUntil = new Date('2030-01-01T00:00:00.000Z');
  const operations: Array<[string, SdkJobOperation, Record<string, unknown>]> = [
    [
      'LambdaInvoke with user arguments (a map)',
      {
        LambdaInvoke: {
          FunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:f',
          InvocationSchemaVersion: '2.0',
          UserArguments: { k1: 'v1', 'k 2': '' },
        },
      },
      {
        type: 'LambdaInvoke',
        FunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:f',
        InvocationSchemaVersion: '2.0',
        UserArguments: { k1: 'v1', 'k 2': '' },
      },
    ],
    [
      'S3PutObjectCopy with metadata, grants and an empty NewObjectTagging',
      {
        S3PutObjectCopy: {
          TargetResource: 'arn:aws:s3:::dest',
          TargetKeyPrefix: 'copies',
          StorageClass: 'GLACIER_IR',
          MetadataDirective: 'REPLACE',
          NewObjectMetadata: { ContentType: 'text/plain', UserMetadata: { a: '1' } },
          NewObjectTagging: [],
          AccessControlGrants: [{ Grantee: { TypeIdentifier: 'id', Identifier: 'abc' }, Permission: 'READ' }],
          ObjectLockRetainUntilDate: retainUntil,
          BucketKeyEnabled: true,
        },
      },
      {
        type: 'S3PutObjectCopy',
        TargetResource: 'arn:aws:s3:::dest',
        TargetKeyPrefix: 'copies',
        StorageClass: 'GLACIER_IR',
        MetadataDirective: 'REPLACE',
        NewObjectMetadata: { ContentType: 'text/plain', UserMetadata: { a: '1' } },
        NewObjectTagging: [],
        AccessControlGrants: [{ Grantee: { TypeIdentifier: 'id', Identifier: 'abc' }, Permission: 'READ' }],
        ObjectLockRetainUntilDate: '2030-01-01T00:00:00.000Z',
        BucketKeyEnabled: true,
      },
    ],
    [
      'S3PutObjectAcl (canned)',
      { S3PutObjectAcl: { AccessControlPolicy: { CannedAccessControlList: 'public-read' } } },
      { type: 'S3PutObjectAcl', AccessControlPolicy: { CannedAccessControlList: 'public-read' } },
    ],
    [
      'S3PutObjectAcl (grants)',
      {
        S3PutObjectAcl: {
          AccessControlPolicy: {
            AccessControlList: {
              Owner: { ID: 'owner' },
              Grants: [
                {
                  Grantee: { TypeIdentifier: 'uri', Identifier: 'http://acs.amazonaws.com/groups/global/AllUsers' },
                  Permission: 'READ',
                },
              ],
            },
          },
        },
      },
      {
        type: 'S3PutObjectAcl',
        AccessControlPolicy: {
          AccessControlList: {
            Owner: { ID: 'owner' },
            Grants: [
              {
                Grantee: { TypeIdentifier: 'uri', Identifier: 'http://acs.amazonaws.com/groups/global/AllUsers' },
                Permission: 'READ',
              },
            ],
          },
        },
      },
    ],
    [
      'S3PutObjectTagging with one tag (a one-member list)',
      { S3PutObjectTagging: { TagSet: [{ Key: 'k', Value: ' spaced ' }] } },
      { type: 'S3PutObjectTagging', TagSet: [{ Key: 'k', Value: ' spaced ' }] },
    ],
    ['S3DeleteObjectTagging (an empty element)', { S3DeleteObjectTagging: {} }, { type: 'S3DeleteObjectTagging' }],
    [
      'S3InitiateRestoreObject',
      { S3InitiateRestoreObject: { ExpirationInDays: 7, GlacierJobTier: 'BULK' } },
      { type: 'S3InitiateRestoreObject', ExpirationInDays: 7, GlacierJobTier: 'BULK' },
    ],
    [
      'S3PutObjectLegalHold',
      { S3PutObjectLegalHold: { LegalHold: { Status: 'ON' } } },
      { type: 'S3PutObjectLegalHold', LegalHold: { Status: 'ON' } },
    ],
    [
      'S3PutObjectRetention',
      {
        S3PutObjectRetention: {
          Retention: { Mode: 'GOVERNANCE', RetainUntilDate: retainUntil },
          BypassGovernanceRetention: true,
        },
      },
      {
        type: 'S3PutObjectRetention',
        Retention: { Mode: 'GOVERNANCE', RetainUntilDate: '2030-01-01T00:00:00.000Z' },
        BypassGovernanceRetention: true,
      },
    ],
    ['S3ReplicateObject', { S3ReplicateObject: {} }, { type: 'S3ReplicateObject' }],
    [
      'S3ComputeObjectChecksum',
      { S3ComputeObjectChecksum: { ChecksumAlgorithm: 'XXHASH128', ChecksumType: 'FULL_OBJECT' } },
      { type: 'S3ComputeObjectChecksum', ChecksumAlgorithm: 'XXHASH128', ChecksumType: 'FULL_OBJECT' },
    ],
    [
      'S3ComputeObjectChecksum, COMPOSITE SHA256',
      { S3ComputeObjectChecksum: { ChecksumAlgorithm: 'SHA256', ChecksumType: 'COMPOSITE' } },
      { type: 'S3ComputeObjectChecksum', ChecksumAlgorithm: 'SHA256', ChecksumType: 'COMPOSITE' },
    ],
  ];

  test.each(operations)('%s', async (_name, sdkOp, expected) => {
    const spec = await decodeFromSdk({ ...baseInput, Operation: sdkOp });
    expect(spec.Operation).toEqual(expected);
  });

  test.each(operations)("%s comes back unchanged in the SDK's DescribeJob output", async (_name, sdkOp) => {
    const spec = await decodeFromSdk({ ...baseInput, Operation: sdkOp });
    const { output } = await sdkResponse<DescribeJobCommandOutput>(
      new DescribeJobCommand({ AccountId: ACCOUNT, JobId: 'abcde' }),
      200,
      encodeDescribeJob({ record: record(spec), progress }),
    );
    expect(output?.Job?.Operation).toEqual(sdkOp);
  });

  test('the request hash ignores tag order and the token, and changes with any parameter', async () => {
    const a = await decodeFromSdk({
      ...baseInput,
      Tags: [
        { Key: 'a', Value: '1' },
        { Key: 'b', Value: '2' },
      ],
    });
    const b = await decodeFromSdk({
      ...baseInput,
      Tags: [
        { Key: 'b', Value: '2' },
        { Key: 'a', Value: '1' },
      ],
    });
    const c = await decodeFromSdk({
      ...baseInput,
      Priority: 11,
      Tags: [
        { Key: 'a', Value: '1' },
        { Key: 'b', Value: '2' },
      ],
    });
    expect(createJobRequestHash(a)).toBe(createJobRequestHash(b));
    expect(createJobRequestHash(a)).not.toBe(createJobRequestHash(c));
  });
});

/** A CreateJobRequest body with each top-level member replaceable (null leaves it out). */
function createJobXml(over: Record<string, string | null> = {}): string {
  const parts: Record<string, string | null> = {
    ConfirmationRequired: '<ConfirmationRequired>false</ConfirmationRequired>',
    Operation:
      '<Operation><S3PutObjectTagging><TagSet><member><Key>k</Key><Value>v</Value></member></TagSet></S3PutObjectTagging></Operation>',
    Report: '<Report><Enabled>false</Enabled></Report>',
    ClientRequestToken: '<ClientRequestToken>tok</ClientRequestToken>',
    Manifest:
      '<Manifest><Spec><Format>S3BatchOperations_CSV_20180820</Format><Fields><member>Bucket</member><member>Key</member></Fields></Spec>' +
      '<Location><ObjectArn>arn:aws:s3:::bkt/m.csv</ObjectArn><ETag>abc</ETag></Location></Manifest>',
    Priority: '<Priority>10</Priority>',
    RoleArn: '<RoleArn>arn:aws:iam::111122223333:role/r</RoleArn>',
    ...over,
  };
  return `<CreateJobRequest xmlns="${NS}">${Object.values(parts)
    .filter((p) => p !== null)
    .join('')}</CreateJobRequest>`;
}

const op = (inner: string) => ({ Operation: `<Operation>${inner}</Operation>` });
const tags = (n: number, same = false) =>
  `<Tags>${Array.from({ length: n }, (_, i) => `<member><Key>k${same ? 0 : i}</Key><Value>v</Value></member>`).join('')}</Tags>`;

describe('CreateJob: bad requests name what is wrong', () => {
  test('the base request is valid', () => {
    expect(decodeXml(createJobXml()).Operation).toEqual({
      type: 'S3PutObjectTagging',
      TagSet: [{ Key: 'k', Value: 'v' }],
    });
  });

  test.each<[string, Record<string, string | null>, RegExp]>([
    ['missing RoleArn', { RoleArn: null }, /^RoleArn is required$/],
    [
      'a RoleArn that is not a role',
      { RoleArn: '<RoleArn>arn:aws:iam::111122223333:user/u</RoleArn>' },
      /RoleArn must be an IAM role ARN/,
    ],
    [
      'a negative priority',
      { Priority: '<Priority>-1</Priority>' },
      /Priority must be an integer between 0 and 2147483647/,
    ],
    [
      'a priority past the int range',
      { Priority: '<Priority>2147483648</Priority>' },
      /Priority must be an integer between 0 and 2147483647/,
    ],
    ['a priority that is not a number', { Priority: '<Priority>high</Priority>' }, /Priority must be an integer/],
    [
      'a priority given twice',
      { Priority: '<Priority>1</Priority><Priority>2</Priority>' },
      /Priority appears more than once/,
    ],
    [
      'a token of 65 characters',
      { ClientRequestToken: `<ClientRequestToken>${'t'.repeat(65)}</ClientRequestToken>` },
      /ClientRequestToken must be 1–64 characters long/,
    ],
    [
      'an empty Description',
      { Description: '<Description></Description>' },
      /Description must be 1–256 characters long/,
    ],
    [
      'a Description of 257 characters',
      { Description: `<Description>${'d'.repeat(257)}</Description>` },
      /Description must be 1–256/,
    ],
    ['51 tags', { Tags: tags(51) }, /Tags must have at most 50 tags/],
    ['a repeated tag key', { Tags: tags(2, true) }, /Tags must not repeat a tag key/],
    [
      'a tag key with a forbidden character',
      { Tags: '<Tags><member><Key>a*b</Key><Value>v</Value></member></Tags>' },
      /Tags\[0\]\.Key may contain only/,
    ],
    [
      'ConfirmationRequired that is not a boolean',
      { ConfirmationRequired: '<ConfirmationRequired>yes</ConfirmationRequired>' },
      /ConfirmationRequired must be true or false/,
    ],
    [
      'an enabled report without a bucket',
      { Report: '<Report><Enabled>true</Enabled></Report>' },
      /Report\.Bucket is required when the report is enabled/,
    ],
    [
      'a report bucket that is not an ARN',
      { Report: '<Report><Enabled>true</Enabled><Bucket>reports</Bucket></Report>' },
      /Report\.Bucket must be a bucket ARN/,
    ],
    [
      'a report without Enabled',
      { Report: '<Report><Bucket>arn:aws:s3:::rep</Bucket></Report>' },
      /Report\.Enabled is required/,
    ],
    ['a missing Report', { Report: null }, /^Report is required$/],
    ['a missing Manifest', { Manifest: null }, /^Manifest or ManifestGenerator is required$/],
    [
      'a manifest ARN without a key',
      {
        Manifest:
          '<Manifest><Spec><Format>S3BatchOperations_CSV_20180820</Format><Fields><member>Bucket</member><member>Key</member></Fields></Spec><Location><ObjectArn>arn:aws:s3:::bkt</ObjectArn><ETag>e</ETag></Location></Manifest>',
      },
      /Manifest\.Location\.ObjectArn must be an object ARN/,
    ],
    [
      'a manifest without an ETag',
      {
        Manifest:
          '<Manifest><Spec><Format>S3BatchOperations_CSV_20180820</Format><Fields><member>Bucket</member><member>Key</member></Fields></Spec><Location><ObjectArn>arn:aws:s3:::bkt/m</ObjectArn></Location></Manifest>',
      },
      /Manifest\.Location\.ETag is required/,
    ],
    [
      'a CSV manifest without a Key field',
      {
        Manifest:
          '<Manifest><Spec><Format>S3BatchOperations_CSV_20180820</Format><Fields><member>Bucket</member></Fields></Spec><Location><ObjectArn>arn:aws:s3:::bkt/m</ObjectArn><ETag>e</ETag></Location></Manifest>',
      },
      /Manifest\.Spec\.Fields must name the CSV columns/,
    ],
    [
      'an unknown manifest format',
      {
        Manifest:
          '<Manifest><Spec><Format>S3InventoryReport_CSV_20211130</Format></Spec><Location><ObjectArn>arn:aws:s3:::bkt/m</ObjectArn><ETag>e</ETag></Location></Manifest>',
      },
      /Manifest\.Spec\.Format must be S3BatchOperations_CSV_20180820 or S3InventoryReport_CSV_20161130/,
    ],
    [
      'a manifest field that does not exist',
      {
        Manifest:
          '<Manifest><Spec><Format>S3BatchOperations_CSV_20180820</Format><Fields><member>Bucket</member><member>Key</member><member>Size</member></Fields></Spec><Location><ObjectArn>arn:aws:s3:::bkt/m</ObjectArn><ETag>e</ETag></Location></Manifest>',
      },
      /Manifest\.Spec\.Fields\[2\] must be one of/,
    ],
    [
      'a ManifestGenerator without its SourceBucket',
      { ManifestGenerator: '<ManifestGenerator><S3JobManifestGenerator/></ManifestGenerator>' },
      /ManifestGenerator\.S3JobManifestGenerator\.SourceBucket is required/,
    ],
    ['an unknown element', { Colour: '<Colour>red</Colour>' }, /the request has unknown element Colour/],
    [
      'a COMPOSITE checksum AWS does not define (CRC64NVME)',
      op(
        '<S3ComputeObjectChecksum><ChecksumAlgorithm>CRC64NVME</ChecksumAlgorithm><ChecksumType>COMPOSITE</ChecksumType></S3ComputeObjectChecksum>',
      ),
      /Operation\.S3ComputeObjectChecksum\.ChecksumType COMPOSITE is defined only for CRC32, CRC32C, SHA1, SHA256, MD5/,
    ],
    [
      'a checksum algorithm outside the model',
      op('<S3ComputeObjectChecksum><ChecksumAlgorithm>CRC16</ChecksumAlgorithm></S3ComputeObjectChecksum>'),
      /Operation\.S3ComputeObjectChecksum\.ChecksumAlgorithm must be one of CRC32, CRC32C, CRC64NVME/,
    ],
    [
      'S3UpdateObjectEncryption',
      op('<S3UpdateObjectEncryption/>'),
      /Operation S3UpdateObjectEncryption is not supported by this local engine/,
    ],
    [
      'an operation that does not exist',
      op('<S3DeleteObject/>'),
      /Operation S3DeleteObject is not a known operation; expected one of LambdaInvoke/,
    ],
    [
      'two operations',
      op(
        '<S3DeleteObjectTagging/><S3PutObjectLegalHold><LegalHold><Status>ON</Status></LegalHold></S3PutObjectLegalHold>',
      ),
      /exactly one operation element, found S3DeleteObjectTagging, S3PutObjectLegalHold/,
    ],
    ['no operation', op(''), /exactly one operation element, found none/],
    ['a missing Operation', { Operation: null }, /^Operation is required$/],
    [
      'EXPEDITED restores',
      op('<S3InitiateRestoreObject><GlacierJobTier>EXPEDITED</GlacierJobTier></S3InitiateRestoreObject>'),
      /Operation\.S3InitiateRestoreObject\.GlacierJobTier must be BULK or STANDARD/,
    ],
    [
      'a legal hold without a status',
      op('<S3PutObjectLegalHold><LegalHold/></S3PutObjectLegalHold>'),
      /Operation\.S3PutObjectLegalHold\.LegalHold\.Status is required/,
    ],
    [
      'retention with a mode but no date',
      op('<S3PutObjectRetention><Retention><Mode>COMPLIANCE</Mode></Retention></S3PutObjectRetention>'),
      /Operation\.S3PutObjectRetention\.Retention must have both Mode and RetainUntilDate/,
    ],
    [
      'retention with a bad date',
      op(
        '<S3PutObjectRetention><Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>tomorrow</RetainUntilDate></Retention></S3PutObjectRetention>',
      ),
      /RetainUntilDate must be an ISO-8601 timestamp/,
    ],
    [
      'a copy target that is not a bucket ARN',
      op('<S3PutObjectCopy><TargetResource>dest</TargetResource></S3PutObjectCopy>'),
      /Operation\.S3PutObjectCopy\.TargetResource must be a bucket ARN/,
    ],
    [
      'a copy to an RRS storage class',
      op(
        '<S3PutObjectCopy><TargetResource>arn:aws:s3:::d</TargetResource><StorageClass>REDUCED_REDUNDANCY</StorageClass></S3PutObjectCopy>',
      ),
      /StorageClass must be one of STANDARD/,
    ],
    [
      'an ACL with both a list and a canned ACL',
      op(
        '<S3PutObjectAcl><AccessControlPolicy><CannedAccessControlList>private</CannedAccessControlList><AccessControlList><Owner><ID>o</ID></Owner></AccessControlList></AccessControlPolicy></S3PutObjectAcl>',
      ),
      /AccessControlPolicy must have exactly one of AccessControlList and CannedAccessControlList/,
    ],
    [
      'eleven object tags',
      op(
        `<S3PutObjectTagging><TagSet>${Array.from({ length: 11 }, (_, i) => `<member><Key>k${i}</Key><Value>v</Value></member>`).join('')}</TagSet></S3PutObjectTagging>`,
      ),
      /TagSet must have at most 10 tags/,
    ],
    [
      'user arguments with schema 1.0',
      op(
        '<LambdaInvoke><FunctionArn>f</FunctionArn><UserArguments><entry><key>a</key><value>b</value></entry></UserArguments></LambdaInvoke>',
      ),
      /InvocationSchemaVersion must be 2\.0 when UserArguments are given/,
    ],
    [
      'eleven user arguments',
      op(
        `<LambdaInvoke><FunctionArn>f</FunctionArn><InvocationSchemaVersion>2.0</InvocationSchemaVersion><UserArguments>${Array.from({ length: 11 }, (_, i) => `<entry><key>k${i}</key><value>v</value></entry>`).join('')}</UserArguments></LambdaInvoke>`,
      ),
      /UserArguments must have at most 10 entries/,
    ],
    [
      'a list written without <member>',
      op('<S3PutObjectTagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></S3PutObjectTagging>'),
      /TagSet must be a list of <member> elements/,
    ],
  ])('%s', (_name, over, message) => {
    const err = errorOf(() => decodeXml(createJobXml(over)));
    expect(err.code).toBe('InvalidRequest');
    expect(err.status).toBe(400);
    expect(err.message).toMatch(message);
  });

  test('a document with another root is refused', () => {
    const doc = parseXmlDocument('<PutJobTaggingRequest><Tags/></PutJobTaggingRequest>');
    expect(errorOf(() => decodeCreateJob(doc.root, doc.value, ACCOUNT)).message).toMatch(/expected a CreateJobRequest/);
  });
});

describe('PutJobTagging bodies', () => {
  test('what the SDK sends decodes to the tag set; an empty set is allowed', async () => {
    for (const Tags of [
      [
        { Key: 'a', Value: '1' },
        { Key: 'b', Value: '' },
      ],
      [],
    ]) {
      const req = await captureRequest(new PutJobTaggingCommand({ AccountId: ACCOUNT, JobId: 'abcde', Tags }));
      expect([req.method, req.path]).toEqual(['PUT', '/v20180820/jobs/abcde/tagging']);
      const doc = parseXmlDocument(req.body);
      expect(decodePutJobTagging(doc.root, doc.value)).toEqual(Tags);
    }
  });

  test('more than 50 tags is TooManyTagsException', () => {
    const doc = parseXmlDocument(`<PutJobTaggingRequest xmlns="${NS}">${tags(51)}</PutJobTaggingRequest>`);
    const err = errorOf(() => decodePutJobTagging(doc.root, doc.value));
    expect([err.code, err.status]).toEqual(['TooManyTagsException', 400]);
  });
});

describe('responses, as the SDK reads them', () => {
  const spec = decodeXml(createJobXml({ Description: '<Description>d &amp; e</Description>' }));

  test('DescribeJob: every member of a finished, failed job', async () => {
    const r = record(spec, {
      Status: 'Failed',
      StatusUpdateReason: 'operator said so',
      FailureReasons: [{ FailureCode: 'ManifestNotFound', FailureReason: 'Reading the manifest failed: 404' }],
      TerminationDate: '2026-01-02T03:05:00.000Z',
      SuspendedDate: '2026-01-02T03:04:06.000Z',
      SuspendedCause: 'needs confirmation',
    });
    const { output } = await sdkResponse<DescribeJobCommandOutput>(
      new DescribeJobCommand({ AccountId: ACCOUNT, JobId: r.JobId }),
      200,
      encodeDescribeJob({ record: r, progress }),
      { 'x-amz-request-id': 'REQ1' },
    );
    expect(output?.$metadata.requestId).toBe('REQ1');
    expect(output?.Job).toEqual({
      JobId: r.JobId,
      ConfirmationRequired: false,
      Description: 'd & e',
      JobArn: r.JobArn,
      Status: 'Failed',
      Manifest: spec.Manifest,
      Operation: { S3PutObjectTagging: { TagSet: [{ Key: 'k', Value: 'v' }] } },
      Priority: 10,
      ProgressSummary: progress,
      StatusUpdateReason: 'operator said so',
      FailureReasons: [{ FailureCode: 'ManifestNotFound', FailureReason: 'Reading the manifest failed: 404' }],
      Report: { Enabled: false },
      CreationTime: new Date('2026-01-02T03:04:05.678Z'),
      TerminationDate: new Date('2026-01-02T03:05:00.000Z'),
      RoleArn: 'arn:aws:iam::111122223333:role/r',
      SuspendedDate: new Date('2026-01-02T03:04:06.000Z'),
      SuspendedCause: 'needs confirmation',
    });
  });

  test('DescribeJob leaves absent values out instead of writing empty elements', () => {
    const xml = encodeDescribeJob({ record: record(spec, { Status: 'New' }), progress });
    for (const name of ['TerminationDate', 'SuspendedDate', 'SuspendedCause', 'StatusUpdateReason']) {
      expect(xml).not.toContain(name);
    }
  });

  test('ListJobs: descriptors, the next token, and an empty page', async () => {
    const views: JobView[] = [
      { record: record(spec), progress },
      {
        record: record(spec, { JobId: 'second-job', Status: 'Complete', TerminationDate: '2026-01-03T00:00:00.000Z' }),
        progress,
      },
    ];
    const { output } = await sdkResponse<ListJobsCommandOutput>(
      new ListJobsCommand({ AccountId: ACCOUNT }),
      200,
      encodeListJobs(views, 'tok=='),
    );
    expect(output?.NextToken).toBe('tok==');
    expect(output?.Jobs).toEqual([
      {
        JobId: views[0]!.record.JobId,
        Description: 'd & e',
        Operation: 'S3PutObjectTagging',
        Priority: 10,
        Status: 'Active',
        CreationTime: new Date('2026-01-02T03:04:05.678Z'),
        ProgressSummary: progress,
      },
      {
        JobId: 'second-job',
        Description: 'd & e',
        Operation: 'S3PutObjectTagging',
        Priority: 10,
        Status: 'Complete',
        CreationTime: new Date('2026-01-02T03:04:05.678Z'),
        TerminationDate: new Date('2026-01-03T00:00:00.000Z'),
        ProgressSummary: progress,
      },
    ]);
    const empty = await sdkResponse<ListJobsCommandOutput>(
      new ListJobsCommand({ AccountId: ACCOUNT }),
      200,
      encodeListJobs([]),
    );
    expect(empty.output?.Jobs ?? []).toEqual([]);
    expect(empty.output?.NextToken).toBeUndefined();
  });

  test('UpdateJobStatus, UpdateJobPriority and the tagging calls', async () => {
    const status = await sdkResponse<UpdateJobStatusCommandOutput>(
      new UpdateJobStatusCommand({ AccountId: ACCOUNT, JobId: 'abcde', RequestedJobStatus: 'Cancelled' }),
      200,
      encodeUpdateJobStatus('abcde', 'Cancelling', 'stop'),
    );
    expect(status.output).toMatchObject({ JobId: 'abcde', Status: 'Cancelling', StatusUpdateReason: 'stop' });
    const prio = await sdkResponse<UpdateJobPriorityCommandOutput>(
      new UpdateJobPriorityCommand({ AccountId: ACCOUNT, JobId: 'abcde', Priority: 99 }),
      200,
      encodeUpdateJobPriority('abcde', 99),
    );
    expect(prio.output).toMatchObject({ JobId: 'abcde', Priority: 99 });
    const tagsOut = await sdkResponse<GetJobTaggingCommandOutput>(
      new GetJobTaggingCommand({ AccountId: ACCOUNT, JobId: 'abcde' }),
      200,
      encodeGetJobTagging([{ Key: 'a', Value: 'x<y' }]),
    );
    expect(tagsOut.output?.Tags).toEqual([{ Key: 'a', Value: 'x<y' }]);
    const noTags = await sdkResponse<GetJobTaggingCommandOutput>(
      new GetJobTaggingCommand({ AccountId: ACCOUNT, JobId: 'abcde' }),
      200,
      encodeGetJobTagging([]),
    );
    expect(noTags.output?.Tags ?? []).toEqual([]);
    const del = await sdkResponse(
      new DeleteJobTaggingCommand({ AccountId: ACCOUNT, JobId: 'abcde' }),
      200,
      encodeDeleteJobTagging(),
    );
    expect(del.error).toBeUndefined();
  });

  test.each([
    ['NotFoundException', 404],
    ['JobStatusException', 409],
    ['IdempotencyException', 409],
    ['InvalidRequest', 400],
    ['TooManyRequestsException', 429],
    ['InternalServiceException', 500],
  ] as const)('an %s error reaches the SDK with its name, message, status and request id', async (code, status) => {
    const err = new ApiError(code, `something about ${code}`);
    expect(err.status).toBe(status);
    const { error } = await sdkResponse(
      new DescribeJobCommand({ AccountId: ACCOUNT, JobId: 'abcde' }),
      err.status,
      encodeError(err, 'REQ9', 'HOST'),
      { 'x-amz-request-id': 'REQ9' },
    );
    expect(error?.name).toBe(code);
    expect(error?.message).toBe(`something about ${code}`);
    expect(error?.$metadata?.httpStatusCode).toBe(status);
    expect(error?.$metadata?.requestId).toBe('REQ9');
  });
});
