/**
 * Which replication rules apply to an object, and where the engine gets the rules from when the S3 endpoint is moto
 * (whose GetBucketReplication answer drops every filter).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import type { ReplicationRule, S3Client } from '@aws-sdk/client-s3';

import { loadReplicationRules, ruleMatches, selectRules } from '../../src/local-batch/replication';

const rule = (r: Partial<ReplicationRule> & { dest: string }): ReplicationRule => ({
  Status: 'Enabled',
  Destination: { Bucket: `arn:aws:s3:::${r.dest}` },
  ...r,
});

describe('rule filters', () => {
  test.each<[string, Partial<ReplicationRule>, string, Array<{ Key: string; Value: string }>, boolean]>([
    ['legacy Prefix, matching', { Prefix: 'logs/' }, 'logs/a', [], true],
    ['legacy Prefix, not matching', { Prefix: 'logs/' }, 'img/a', [], false],
    ['no filter at all', {}, 'anything', [], true],
    ['Filter.Prefix', { Filter: { Prefix: 'a/' } }, 'b/x', [], false],
    ['Filter.Tag present', { Filter: { Tag: { Key: 't', Value: 'v' } } }, 'x', [{ Key: 't', Value: 'v' }], true],
    [
      'Filter.Tag with another value',
      { Filter: { Tag: { Key: 't', Value: 'v' } } },
      'x',
      [{ Key: 't', Value: 'w' }],
      false,
    ],
    [
      'Filter.And needs the prefix and every tag',
      {
        Filter: {
          And: {
            Prefix: 'a/',
            Tags: [
              { Key: 'x', Value: '1' },
              { Key: 'y', Value: '2' },
            ],
          },
        },
      },
      'a/k',
      [{ Key: 'x', Value: '1' }],
      false,
    ],
    [
      'Filter.And satisfied',
      { Filter: { And: { Prefix: 'a/', Tags: [{ Key: 'x', Value: '1' }] } } },
      'a/k',
      [
        { Key: 'x', Value: '1' },
        { Key: 'z', Value: '0' },
      ],
      true,
    ],
  ])('%s', (_name, r, key, tags, expected) => {
    expect(ruleMatches(rule({ dest: 'd', ...r }), key, tags)).toBe(expected);
  });
});

test('one rule per destination, highest priority first; disabled rules and delete-marker rules as S3 has them', () => {
  const rules = [
    rule({ ID: 'low', Priority: 1, dest: 'd1', Filter: { Prefix: '' } }),
    rule({ ID: 'high', Priority: 7, dest: 'd1', Filter: { Prefix: 'a/' } }),
    rule({ ID: 'other', Priority: 2, dest: 'd2', Filter: { Prefix: 'a/' } }),
    rule({ ID: 'off', Priority: 9, dest: 'd3', Status: 'Disabled' }),
    rule({ ID: 'dm', Priority: 3, dest: 'd4', DeleteMarkerReplication: { Status: 'Enabled' } }),
  ];
  const ids = (t: ReturnType<typeof selectRules>) => t.map((x) => `${x.rule.ID}→${x.bucket}`).sort();
  expect(ids(selectRules(rules, 'a/k', []))).toEqual(['dm→d4', 'high→d1', 'other→d2']);
  expect(ids(selectRules(rules, 'b/k', []))).toEqual(['dm→d4', 'low→d1']);
  expect(ids(selectRules(rules, 'a/k', [], true))).toEqual(['dm→d4']);
});

describe('reading the rules', () => {
  /** moto's GetBucketReplication answer: every rule's filter reads as Prefix "". */
  const motoAnswer: ReplicationRule[] = [
    {
      ID: 'tagged',
      Priority: 1,
      Status: 'Enabled',
      Filter: { Prefix: '' },
      DeleteMarkerReplication: { Status: 'Disabled' },
      Destination: { Bucket: 'arn:aws:s3:::d' },
    },
  ];

  async function withDump<T>(status: number, body: unknown, fn: (s3: S3Client) => Promise<T>): Promise<T> {
    const server = http.createServer((req, res) => {
      res.writeHead(req.url === '/moto-api/data.json' ? status : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const s3 = {
      send: () => Promise.resolve({ ReplicationConfiguration: { Role: 'r', Rules: motoAnswer } }),
      config: { endpoint: () => Promise.resolve({ protocol: 'http:', hostname: '127.0.0.1', port, path: '/' }) },
    } as unknown as S3Client;
    try {
      return await fn(s3);
    } finally {
      await new Promise((r) => server.close(r));
    }
  }

  test("moto's answer is replaced by the configuration moto stored (its XML as parsed)", async () => {
    const dump = {
      s3: {
        FakeBucket: [
          {
            name: 'src',
            replication: {
              Role: 'r',
              Rule: {
                ID: 'tagged',
                Priority: '4',
                Status: 'Enabled',
                Filter: {
                  And: {
                    Prefix: 'logs/',
                    Tag: [
                      { Key: 'a', Value: '1' },
                      { Key: 'b', Value: null },
                    ],
                  },
                },
                DeleteMarkerReplication: { Status: 'Enabled' },
                Destination: { Bucket: 'arn:aws:s3:::d', StorageClass: 'GLACIER' },
              },
            },
          },
        ],
      },
    };
    const rules = await withDump(200, dump, (s3) => loadReplicationRules(s3, ['src']));
    expect(rules.get('src')).toEqual([
      {
        ID: 'tagged',
        Priority: 4,
        Status: 'Enabled',
        Filter: {
          And: {
            Prefix: 'logs/',
            Tags: [
              { Key: 'a', Value: '1' },
              { Key: 'b', Value: '' },
            ],
          },
        },
        DeleteMarkerReplication: { Status: 'Enabled' },
        Destination: { Bucket: 'arn:aws:s3:::d', StorageClass: 'GLACIER' },
      },
    ]);
  });

  test('a moto whose dump fails fails the job rather than replicate with filters it cannot see', async () => {
    await expect(withDump(500, {}, (s3) => loadReplicationRules(s3, ['src']))).rejects.toMatchObject({
      failureCode: 'ReplicationRulesUnreadable',
      failureReason: expect.stringMatching(
        /GetBucketReplication of src without its rules' filters.*HTTP 500/,
      ) as unknown,
    });
  });

  test('an endpoint that is no moto (no dump) is taken at its word', async () => {
    const rules = await withDump(404, {}, (s3) => loadReplicationRules(s3, ['src']));
    expect(rules.get('src')).toEqual(motoAnswer);
  });
});
