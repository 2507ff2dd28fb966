import { copyObjectInput, copySource, copyTargetKey, grantHeaders } from '../../src/local-batch/operations';
import type { CopyOperation } from '../../src/local-batch/types';

const task = { index: 0, bucket: 'src', key: 'dir/a b+c?.txt', rawKey: 'dir/a%20b%2Bc%3F.txt', versionId: 'v 1' };
const base: CopyOperation = { TargetResource: 'arn:aws:s3:::dst' };

describe('CopyObject requests built from S3PutObjectCopy', () => {
  test('target key, copy source encoding and version', () => {
    expect(copyTargetKey('Folder1', 'a/b')).toBe('Folder1/a/b');
    expect(copyTargetKey('Folder1/', 'a/b')).toBe('Folder1/a/b');
    expect(copyTargetKey(undefined, 'a/b')).toBe('a/b');
    expect(copySource(task)).toBe('src/dir/a%20b%2Bc%3F.txt?versionId=v%201');
    expect(copyObjectInput(base, task)).toMatchObject({ Bucket: 'dst', Key: 'dir/a b+c?.txt' });
  });

  test.each([
    ['no metadata: the source metadata is copied', {}, undefined, undefined],
    [
      'metadata without a directive replaces',
      { NewObjectMetadata: { ContentType: 'text/plain' } },
      'REPLACE',
      'text/plain',
    ],
    [
      'an explicit COPY keeps the source metadata',
      { MetadataDirective: 'COPY', NewObjectMetadata: { ContentType: 'text/plain' } },
      'COPY',
      undefined,
    ],
    ['SSE alone does not replace metadata', { NewObjectMetadata: { SSEAlgorithm: 'AES256' } }, undefined, undefined],
  ] as const)('%s', (_n, extra, directive, contentType) => {
    const input = copyObjectInput({ ...base, ...extra } as CopyOperation, task);
    expect(input.MetadataDirective).toBe(directive);
    expect(input.ContentType).toBe(contentType);
  });

  test('tags: absent → S3 copies them; present (even empty) → REPLACE with exactly these', () => {
    expect(copyObjectInput(base, task).TaggingDirective).toBeUndefined();
    expect(copyObjectInput({ ...base, NewObjectTagging: [] }, task)).toMatchObject({
      TaggingDirective: 'REPLACE',
      Tagging: '',
    });
    expect(copyObjectInput({ ...base, NewObjectTagging: [{ Key: 'a b', Value: 'x&y=z' }] }, task).Tagging).toBe(
      'a%20b=x%26y%3Dz',
    );
  });

  test('KMS encryption and grants map to the CopyObject headers', () => {
    const input = copyObjectInput(
      {
        ...base,
        NewObjectMetadata: { SSEAlgorithm: 'KMS' },
        SSEAwsKmsKeyId: 'arn:aws:kms:us-east-1:1:key/k',
        BucketKeyEnabled: true,
      },
      task,
    );
    expect(input).toMatchObject({
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: 'arn:aws:kms:us-east-1:1:key/k',
      BucketKeyEnabled: true,
    });
    expect(
      grantHeaders([
        { Grantee: { TypeIdentifier: 'id', Identifier: 'c1' }, Permission: 'READ' },
        { Grantee: { TypeIdentifier: 'emailAddress', Identifier: 'a@b.c' }, Permission: 'READ' },
        {
          Grantee: { TypeIdentifier: 'uri', Identifier: 'http://acs.amazonaws.com/groups/global/AllUsers' },
          Permission: 'READ_ACP',
        },
      ]),
    ).toEqual({
      GrantRead: 'id="c1", emailAddress="a@b.c"',
      GrantWrite: undefined,
      GrantReadACP: 'uri="http://acs.amazonaws.com/groups/global/AllUsers"',
      GrantWriteACP: undefined,
      GrantFullControl: undefined,
    });
  });
});
