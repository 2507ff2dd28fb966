/**
 * Bad input to the run's engine gets the right error code, HTTP status and a message naming what is wrong, as an
 * `<ErrorResponse>` the SDK understands; and none of it takes the server down.
 */
import {
  CreateJobCommand,
  DescribeJobCommand,
  GetAccessGrantsInstanceCommand,
  GetAccessPointCommand,
  ListJobsCommand,
  ListStorageLensConfigurationsCommand,
  PutJobTaggingCommand,
  UpdateJobPriorityCommand,
  UpdateJobStatusCommand,
} from '@aws-sdk/client-s3-control';

import { parseXmlDocument } from '../../src/local-batch/xml';
import { controlClient, stackEndpoints } from '../helpers';
import { admin, jobInput } from '../support/engine';

const control = controlClient({ maxAttempts: 1 });
afterAll(() => control.destroy());

const NS = 'http://awss3control.amazonaws.com/doc/2018-08-20/';
const manifest = {
  Spec: { Format: 'S3BatchOperations_CSV_20180820' as const, Fields: ['Bucket' as const, 'Key' as const] },
  Location: { ObjectArn: 'arn:aws:s3:::some-bucket/manifest.csv', ETag: 'abc' },
};
const validBody =
  `<CreateJobRequest xmlns="${NS}"><ConfirmationRequired>true</ConfirmationRequired>` +
  '<Operation><S3DeleteObjectTagging/></Operation><Report><Enabled>false</Enabled></Report>' +
  '<ClientRequestToken>t1</ClientRequestToken><Priority>1</Priority>' +
  '<RoleArn>arn:aws:iam::123456789012:role/r</RoleArn><Manifest><Spec><Format>S3BatchOperations_CSV_20180820</Format>' +
  '<Fields><member>Bucket</member><member>Key</member></Fields></Spec><Location>' +
  '<ObjectArn>arn:aws:s3:::some-bucket/m.csv</ObjectArn><ETag>e</ETag></Location></Manifest></CreateJobRequest>';

interface RawCase {
  name: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  status: number;
  code: string;
  message: RegExp;
}

const account = { 'x-amz-account-id': '123456789012' };

const rawCases: RawCase[] = [
  {
    name: 'malformed XML',
    method: 'POST',
    path: '/v20180820/jobs',
    headers: account,
    body: '<CreateJobRequest><Priority>1</CreateJobRequest>',
    status: 400,
    code: 'BadRequestException',
    message: /not well-formed/,
  },
  {
    name: 'an empty CreateJob body',
    method: 'POST',
    path: '/v20180820/jobs',
    headers: account,
    body: '',
    status: 400,
    code: 'BadRequestException',
    message: /body is empty/,
  },
  {
    name: 'a body that is not UTF-8',
    method: 'POST',
    path: '/v20180820/jobs',
    headers: account,
    body: Buffer.from([0x3c, 0x61, 0x3e, 0xff, 0xfe, 0x3c, 0x2f, 0x61, 0x3e]),
    status: 400,
    code: 'BadRequestException',
    message: /not valid UTF-8/,
  },
  {
    name: 'a body over 1 MiB',
    method: 'POST',
    path: '/v20180820/jobs',
    headers: account,
    body: `<CreateJobRequest><Description>${'x'.repeat(1024 * 1024)}</Description></CreateJobRequest>`,
    status: 400,
    code: 'BadRequestException',
    message: /exceeds the limit of 1048576 bytes/,
  },
  {
    name: 'a missing x-amz-account-id header',
    method: 'GET',
    path: '/v20180820/jobs',
    status: 400,
    code: 'BadRequestException',
    message: /x-amz-account-id header is required/,
  },
  {
    name: 'an account id that is not 12 digits',
    method: 'POST',
    path: '/v20180820/jobs',
    headers: { 'x-amz-account-id': '12345' },
    body: validBody,
    status: 400,
    code: 'BadRequestException',
    message: /must be 12 digits, got "12345"/,
  },
  {
    name: 'a DOCTYPE in the body',
    method: 'POST',
    path: '/v20180820/jobs',
    headers: account,
    body: `<!DOCTYPE a [<!ENTITY big "${'x'.repeat(100)}">]>${validBody}`,
    status: 400,
    code: 'BadRequestException',
    message: /DOCTYPE/,
  },
  {
    name: 'PutJobTagging for an unknown job (404 comes before the body is judged)',
    method: 'PUT',
    path: '/v20180820/jobs/no-such-job-0/tagging',
    headers: account,
    body: `<Tagging xmlns="${NS}"><Tags/></Tagging>`,
    status: 404,
    code: 'NotFoundException',
    message: /no-such-job-0 does not exist/,
  },
  {
    name: 'UpdateJobStatus without requestedJobStatus',
    method: 'POST',
    path: '/v20180820/jobs/no-such-job-1/status',
    headers: account,
    status: 400,
    code: 'BadRequestException',
    message: /requestedJobStatus query parameter is required/,
  },
  {
    name: 'UpdateJobPriority without priority',
    method: 'POST',
    path: '/v20180820/jobs/no-such-job-1/priority',
    headers: account,
    status: 400,
    code: 'BadRequestException',
    message: /priority query parameter is required/,
  },
  {
    name: 'a method the resource does not have',
    method: 'DELETE',
    path: '/v20180820/jobs',
    headers: account,
    status: 405,
    code: 'MethodNotAllowed',
    message: /DELETE is not allowed on \/v20180820\/jobs/,
  },
  {
    name: 'a path that is no S3 Control operation',
    method: 'GET',
    path: '/v20180820/no-such-resource',
    headers: account,
    status: 404,
    code: 'NotFoundException',
    message: /No such resource/,
  },
  {
    name: 'a path below a job that does not exist in the API',
    method: 'GET',
    path: '/v20180820/jobs/abcde/secrets',
    headers: account,
    status: 404,
    code: 'NotFoundException',
    message: /No such resource/,
  },
];

describe('raw HTTP requests the SDK would never send', () => {
  test('a PutJobTagging body with the wrong root → 400 BadRequestException', async () => {
    const res = await fetch(`${stackEndpoints().engineUrl}/v20180820/jobs/${existingJobId}/tagging`, {
      method: 'PUT',
      headers: { 'content-type': 'application/xml', ...account },
      body: `<Tagging xmlns="${NS}"><Tags/></Tagging>`,
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain(
      '<Code>BadRequestException</Code><Message>expected a PutJobTaggingRequest document',
    );
  });

  test.each(rawCases)('$name → $status $code', async (c) => {
    const res = await fetch(`${stackEndpoints().engineUrl}${c.path}`, {
      method: c.method,
      headers: { 'content-type': 'application/xml', ...c.headers },
      body: c.body,
    });
    const text = await res.text();
    expect(res.status).toBe(c.status);
    expect(res.headers.get('x-amz-request-id')).toMatch(/^[0-9A-F]{16}$/);
    expect(res.headers.get('content-type')).toBe('application/xml');
    const doc = parseXmlDocument(text);
    expect(doc.root).toBe('ErrorResponse');
    const err = doc.value as { Error: { Code: string; Message: string }; RequestId: string };
    expect(err.Error.Code).toBe(c.code);
    expect(err.Error.Message).toMatch(c.message);
    expect(err.RequestId).toBe(res.headers.get('x-amz-request-id'));
  });
});

type SdkCase = [string, string, number, RegExp, () => Promise<unknown>];

const accountId = '123456789012';
/** A job that exists (it fails at once: its manifest bucket does not), for errors that need a real job. */
let existingJobId = '';
beforeAll(async () => {
  const out = await control.send(new CreateJobCommand(jobInput({ accountId, manifest })));
  existingJobId = out.JobId!;
});

const sdkCases: SdkCase[] = [
  [
    'a RoleArn that is not an IAM role',
    'InvalidRequest',
    400,
    /RoleArn must be an IAM role ARN/,
    () => control.send(new CreateJobCommand({ ...jobInput({ manifest }), RoleArn: 'arn:aws:s3:::not-a-role' })),
  ],
  [
    'a manifest ARN that is not an object ARN',
    'InvalidRequest',
    400,
    /Manifest\.Location\.ObjectArn must be an object ARN/,
    () =>
      control.send(
        new CreateJobCommand(
          jobInput({ manifest: { ...manifest, Location: { ObjectArn: 'arn:aws:s3:::bucket-only', ETag: 'e' } } }),
        ),
      ),
  ],
  [
    'a negative priority',
    'InvalidRequest',
    400,
    /Priority must be an integer between 0 and 2147483647/,
    () => control.send(new CreateJobCommand({ ...jobInput({ manifest }), Priority: -5 })),
  ],
  [
    'an enabled report without a bucket',
    'InvalidRequest',
    400,
    /Report\.Bucket is required when the report is enabled/,
    () => control.send(new CreateJobCommand({ ...jobInput({ manifest }), Report: { Enabled: true } })),
  ],
  [
    'a COMPOSITE checksum AWS does not define (CRC64NVME is full-object only)',
    'InvalidRequest',
    400,
    /Operation\.S3ComputeObjectChecksum\.ChecksumType COMPOSITE is defined only for CRC32, CRC32C, SHA1, SHA256, MD5/,
    () =>
      control.send(
        new CreateJobCommand(
          jobInput({
            manifest,
            operation: { S3ComputeObjectChecksum: { ChecksumAlgorithm: 'CRC64NVME', ChecksumType: 'COMPOSITE' } },
          }),
        ),
      ),
  ],
  [
    'an S3 Control operation outside the job API (access points)',
    'NotImplemented',
    501,
    /^GetAccessPoint \(GET \/v20180820\/accesspoint\/\{Name\}\) is an S3 Control operation this local engine does not implement/,
    () => control.send(new GetAccessPointCommand({ AccountId: accountId, Name: 'ap1' })),
  ],
  [
    'an S3 Control operation outside the job API (Storage Lens)',
    'NotImplemented',
    501,
    /^ListStorageLensConfigurations \(GET \/v20180820\/storagelens\)/,
    () => control.send(new ListStorageLensConfigurationsCommand({ AccountId: accountId })),
  ],
  [
    'an S3 Control operation outside the job API (Access Grants)',
    'NotImplemented',
    501,
    /^GetAccessGrantsInstance \(GET \/v20180820\/accessgrantsinstance\)/,
    () => control.send(new GetAccessGrantsInstanceCommand({ AccountId: accountId })),
  ],
  [
    'an unknown job id',
    'NotFoundException',
    404,
    /00000000-0000-0000-0000-000000000000 does not exist/,
    () => control.send(new DescribeJobCommand({ AccountId: accountId, JobId: '00000000-0000-0000-0000-000000000000' })),
  ],
  [
    'a job id that cannot exist',
    'NotFoundException',
    404,
    /does not exist/,
    () => control.send(new DescribeJobCommand({ AccountId: accountId, JobId: 'x' })),
  ],
  [
    'UpdateJobPriority out of range',
    'BadRequestException',
    400,
    /priority must be an integer between 0 and 2147483647, got "-1"/,
    () => control.send(new UpdateJobPriorityCommand({ AccountId: accountId, JobId: 'abcde', Priority: -1 })),
  ],
  [
    'UpdateJobStatus to a status that cannot be requested',
    'BadRequestException',
    400,
    /requestedJobStatus must be Ready or Cancelled, not Active/,
    () =>
      control.send(
        new UpdateJobStatusCommand({
          AccountId: accountId,
          JobId: existingJobId,
          RequestedJobStatus: 'Active' as never,
        }),
      ),
  ],
  [
    'ListJobs with a status that does not exist',
    'InvalidRequestException',
    400,
    /jobStatuses value Running is not one of Active/,
    () => control.send(new ListJobsCommand({ AccountId: accountId, JobStatuses: ['Running' as never] })),
  ],
  [
    'ListJobs with maxResults over 1000',
    'InvalidRequestException',
    400,
    /maxResults must be an integer between 0 and 1000/,
    () => control.send(new ListJobsCommand({ AccountId: accountId, MaxResults: 1001 })),
  ],
  [
    'ListJobs with a nextToken the engine never issued',
    'InvalidNextTokenException',
    400,
    /nextToken is not a token this engine issued/,
    () => control.send(new ListJobsCommand({ AccountId: accountId, NextToken: 'bm90IGEgdG9rZW4' })),
  ],
  [
    'PutJobTagging on an unknown job',
    'NotFoundException',
    404,
    /abcdef does not exist/,
    () => control.send(new PutJobTaggingCommand({ AccountId: accountId, JobId: 'abcdef', Tags: [] })),
  ],
];

describe('requests through the SDK', () => {
  test.each(sdkCases)('%s → %s %d', async (_name, name, status, message, call) => {
    let err: (Error & { $metadata?: { httpStatusCode?: number; requestId?: string } }) | undefined;
    try {
      await call();
    } catch (e) {
      err = e as typeof err;
    }
    expect(err?.name).toBe(name);
    expect(err?.$metadata?.httpStatusCode).toBe(status);
    expect(err?.$metadata?.requestId).toMatch(/^[0-9A-F]{16}$/);
    expect(err?.message).toMatch(message);
  });
});

test('after all of that the engine still serves requests', async () => {
  const health = await admin(stackEndpoints().engineUrl, 'GET', '/_local/health');
  expect(health.status).toBe(200);
  expect(health.json).toMatchObject({ status: 'ok' });
  const listed = await control.send(new ListJobsCommand({ AccountId: '999999999999' }));
  expect(listed.$metadata.httpStatusCode).toBe(200);
});
