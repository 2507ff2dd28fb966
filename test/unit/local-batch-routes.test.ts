/** Which S3 Control operation a request is, and how proxy-style request targets are read. */
import { controlOperationFor, requestTarget } from '../../src/local-batch/routes';

test.each<[string, string, string | undefined]>([
  ['GET', '/v20180820/accesspoint/ap1', 'GetAccessPoint'],
  ['GET', '/v20180820/accesspoint', 'ListAccessPoints'],
  ['GET', '/v20180820/storagelens', 'ListStorageLensConfigurations'],
  // The most specific template wins over a greedy {Name+}.
  ['GET', '/v20180820/mrap/instances/my-mrap/policy', 'GetMultiRegionAccessPointPolicy'],
  ['GET', '/v20180820/mrap/instances/my-mrap', 'GetMultiRegionAccessPoint'],
  ['GET', '/v20180820/jobs/abcde', 'DescribeJob'],
  ['POST', '/v20180820/jobs/abcde/priority', 'UpdateJobPriority'],
  ['GET', '/v20180820/no-such-resource', undefined],
  ['PATCH', '/v20180820/accesspoint/ap1', undefined],
])('%s %s is %s', (method, path, operation) => {
  expect(controlOperationFor(method, path)?.operation).toBe(operation);
});

test('an absolute-form target keeps its path and query; the account-prefixed IPv4 host is no obstacle', () => {
  const t = requestTarget('http://123456789012.127.0.0.1:4567/v20180820/jobs?maxResults=2&jobStatuses=Active');
  expect(t.proxied).toBe(true);
  expect(t.host).toBe('123456789012.127.0.0.1:4567');
  expect(t.url.pathname).toBe('/v20180820/jobs');
  expect(t.url.searchParams.get('maxResults')).toBe('2');
});

test('an origin-form target is not a proxy request', () => {
  const t = requestTarget('/v20180820/jobs/x');
  expect(t).toMatchObject({ proxied: false });
  expect(t.url.pathname).toBe('/v20180820/jobs/x');
});
