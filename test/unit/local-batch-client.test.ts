/**
 * The local S3 Control client's plumbing: the endpoint rewrite that keeps the SDK's account-id host prefix valid, and
 * the DNS lookup that sends every `*.localhost` name to 127.0.0.1 in both callback forms.
 */
import type { LookupAddress } from 'node:dns';

import { localControlEndpoint, localhostLookup } from '../../src/local-batch/client';

function lookup(host: string, options: object): Promise<{ address: string | LookupAddress[]; family?: number }> {
  return new Promise((resolve, reject) =>
    localhostLookup(host, options, (err, address, family) => (err ? reject(err) : resolve({ address, family }))),
  );
}

describe('localControlEndpoint', () => {
  test.each([
    ['http://127.0.0.1:4567', 'http://s3-control.localhost:4567'],
    ['http://localhost:4567/', 'http://s3-control.localhost:4567'],
    ['http://[::1]:4567', 'http://s3-control.localhost:4567'],
    ['http://engine:4567', 'http://engine:4567'],
    ['http://s3-control.localhost:9', 'http://s3-control.localhost:9'],
  ])('%s → %s', (input, expected) => {
    expect(localControlEndpoint(input)).toBe(expected);
  });

  test('another IP address cannot work with the account prefix, and the error says what to do', () => {
    expect(() => localControlEndpoint('http://10.1.2.3:4567')).toThrow(
      /cannot use the IP address 10\.1\.2\.3.*host name/,
    );
  });
});

describe('localhostLookup', () => {
  test('the account-prefixed host the SDK builds resolves to 127.0.0.1 (all: true gives an array)', async () => {
    expect(await lookup('123456789012.s3-control.localhost', { all: true })).toEqual({
      address: [{ address: '127.0.0.1', family: 4 }],
      family: undefined,
    });
    expect(await lookup('123456789012.s3-control.localhost', {})).toEqual({ address: '127.0.0.1', family: 4 });
    expect(await lookup('LOCALHOST', { family: 4 })).toEqual({ address: '127.0.0.1', family: 4 });
  });
});
