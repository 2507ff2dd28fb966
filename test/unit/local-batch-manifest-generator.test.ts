/**
 * The parts of the engine's manifest generator that moto cannot exercise: replication rules with prefix and tag
 * filters (moto drops a rule's Filter), and the encryption a HEAD answer stands for.
 */
import { eligibleForReplication, encryptionOf } from '../../src/local-batch/manifest-generator';

describe('EligibleForReplication against the bucket replication rules', () => {
  const rules = [
    { prefix: 'logs/', tags: [] },
    { prefix: 'data/', tags: [{ Key: 'replicate', Value: 'yes' }] },
  ];

  test.each<[string, Array<{ Key: string; Value: string }> | undefined, boolean | 'needs-tags']>([
    ['logs/a.txt', undefined, true],
    ['other/a.txt', undefined, false],
    ['data/a.txt', undefined, 'needs-tags'],
    ['data/a.txt', [{ Key: 'replicate', Value: 'yes' }], true],
    ['data/a.txt', [{ Key: 'replicate', Value: 'no' }], false],
    ['data/a.txt', [], false],
  ])('%s with tags %j → %s', (key, tags, expected) => {
    expect(eligibleForReplication(rules, key, tags)).toBe(expected);
  });

  test('a rule with an empty prefix and no tags covers every key; no rule covers none', () => {
    expect(eligibleForReplication([{ prefix: '', tags: [] }], 'anything')).toBe(true);
    expect(eligibleForReplication([], 'anything')).toBe(false);
  });
});

test.each<[Parameters<typeof encryptionOf>[0], ReturnType<typeof encryptionOf>]>([
  [{ ServerSideEncryption: 'AES256' }, 'SSE-S3'],
  [{ ServerSideEncryption: 'aws:kms' }, 'SSE-KMS'],
  [{ ServerSideEncryption: 'aws:kms:dsse' }, 'DSSE-KMS'],
  [{ SSECustomerAlgorithm: 'AES256' }, 'SSE-C'],
  [{}, 'NOT-SSE'],
])('HEAD %j is %s', (head, expected) => {
  expect(encryptionOf(head)).toBe(expected);
});
