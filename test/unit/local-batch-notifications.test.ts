/**
 * The engine's own S3 event notifications, without servers: the restore-completed message, the key encoding, and which
 * queue configurations receive it.
 */
import type { FilterRuleName, QueueConfiguration } from '@aws-sdk/client-s3';

import {
  eventKey,
  nextSequencer,
  parseQueueArn,
  queuesFor,
  restoreCompletedMessage,
  restoreExpiry,
} from '../../src/local-batch/notifications';

describe('event message', () => {
  test.each([
    ['plain.bin', 'plain.bin'],
    ['dir/sub/file.txt', 'dir/sub/file.txt'],
    ['red flower.jpg', 'red+flower.jpg'],
    ['a+b.txt', 'a%2Bb.txt'],
    ['ü é.bin', '%C3%BC+%C3%A9.bin'],
    ["it's (1)!~*.txt", 'it%27s+%281%29%21%7E*.txt'],
    ['100%.csv', '100%25.csv'],
  ])('the key %j is written as %j', (key, encoded) => {
    expect(eventKey(key)).toBe(encoded);
    expect(decodeURIComponent(encoded.replace(/\+/g, ' '))).toBe(key);
  });

  test('queues are chosen by event (exact or family wildcard) and by prefix/suffix rules', () => {
    const config: { QueueConfigurations: QueueConfiguration[] } = {
      QueueConfigurations: [
        { Id: 'exact', QueueArn: 'arn:aws:sqs:us-east-1:123456789012:q1', Events: ['s3:ObjectRestore:Completed'] },
        { Id: 'family', QueueArn: 'arn:aws:sqs:us-east-1:123456789012:q2', Events: ['s3:ObjectRestore:*'] },
        { Id: 'posted', QueueArn: 'arn:aws:sqs:us-east-1:123456789012:q3', Events: ['s3:ObjectRestore:Post'] },
        { Id: 'created', QueueArn: 'arn:aws:sqs:us-east-1:123456789012:q4', Events: ['s3:ObjectCreated:*'] },
        {
          Id: 'filtered',
          QueueArn: 'arn:aws:sqs:us-east-1:123456789012:q5',
          Events: ['s3:ObjectRestore:Completed'],
          Filter: {
            Key: {
              FilterRules: [
                // AWS answers GetBucketNotificationConfiguration with `Prefix`/`Suffix`.
                { Name: 'Prefix' as string as FilterRuleName, Value: 'cold/' },
                { Name: 'suffix', Value: '.bin' },
              ],
            },
          },
        },
      ],
    };
    const ids = (key: string) => queuesFor(config, 's3:ObjectRestore:Completed', key).map((q) => q.Id);
    expect(ids('cold/a.bin')).toEqual(['exact', 'family', 'filtered']);
    expect(ids('cold/a.txt')).toEqual(['exact', 'family']);
    expect(ids('warm/a.bin')).toEqual(['exact', 'family']);
    expect(queuesFor({}, 's3:ObjectRestore:Completed', 'a')).toEqual([]);
  });

  test('the restore-completed message has the documented fields and nothing else', () => {
    const message = restoreCompletedMessage({
      region: 'eu-west-1',
      bucket: 'cold-bucket',
      key: 'photos/2024/red flower.jpg',
      size: 1234,
      eTag: '"d41d8cd98f00b204e9800998ecf8427e"',
      versionId: '3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY',
      sequencer: '0055AED6DCD90281E5',
      eventTime: new Date('2026-03-01T10:00:00.123Z'),
      expiry: new Date('2026-03-04T00:00:00.000Z'),
      storageClass: 'DEEP_ARCHIVE',
      configurationId: 'restores',
    });
    expect(message).toEqual({
      Records: [
        {
          eventVersion: '2.1',
          eventSource: 'aws:s3',
          awsRegion: 'eu-west-1',
          eventTime: '2026-03-01T10:00:00.123Z',
          eventName: 'ObjectRestore:Completed',
          s3: {
            s3SchemaVersion: '1.0',
            configurationId: 'restores',
            bucket: { name: 'cold-bucket', arn: 'arn:aws:s3:::cold-bucket' },
            object: {
              key: 'photos/2024/red+flower.jpg',
              size: 1234,
              eTag: 'd41d8cd98f00b204e9800998ecf8427e',
              versionId: '3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY',
              sequencer: '0055AED6DCD90281E5',
            },
          },
          glacierEventData: {
            restoreEventData: {
              lifecycleRestorationExpiryTime: '2026-03-04T00:00:00.000Z',
              lifecycleRestoreStorageClass: 'DEEP_ARCHIVE',
            },
          },
        },
      ],
    });
    const unversioned = restoreCompletedMessage({
      ...{ region: 'r', bucket: 'b', key: 'k', size: 0, eTag: 'e', sequencer: 's' },
      ...{ eventTime: new Date(0), expiry: new Date(0), storageClass: 'GLACIER', configurationId: 'c' },
    });
    expect((unversioned.Records[0].s3 as { object: object }).object).not.toHaveProperty('versionId');
  });

  test('sequencers are hexadecimal and grow; expiry and queue ARNs are read', () => {
    const a = nextSequencer(1_700_000_000_000);
    const b = nextSequencer(1_700_000_000_000);
    expect(a).toMatch(/^[0-9A-F]{18}$/);
    expect(b > a).toBe(true);
    expect(restoreExpiry('ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"')).toEqual(
      new Date('2012-12-21T00:00:00Z'),
    );
    expect(restoreExpiry('ongoing-request="true"')).toBeUndefined();
    expect(parseQueueArn('arn:aws:sqs:us-east-1:123456789012:my-queue')).toEqual({
      account: '123456789012',
      name: 'my-queue',
    });
    expect(parseQueueArn('arn:aws:sns:us-east-1:123456789012:topic')).toBeUndefined();
  });
});
