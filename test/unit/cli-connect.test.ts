/** Which dev stack endpoints file a CLI command reads. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { devEndpointsPath } from '../../src/cli/connect';
import { ConfigError } from '../../src/config';

describe('which endpoints.json a command reads', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 's3c-endpoints-'));
    mkdirSync(path.join(dir, '.local', 'dev'), { recursive: true });
    writeFileSync(path.join(dir, '.local', 'dev', 'endpoints.json'), '{}');
    writeFileSync(path.join(dir, 'other.json'), '{}');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('S3C_DEV_ENDPOINTS first (relative to the current directory), then ./.local/dev/endpoints.json', () => {
    expect(devEndpointsPath({ S3C_DEV_ENDPOINTS: 'other.json' }, dir)).toBe(path.join(dir, 'other.json'));
    expect(devEndpointsPath({}, dir)).toBe(path.join(dir, '.local', 'dev', 'endpoints.json'));
  });

  test('S3C_DEV_ENDPOINTS=none reads none; a file it names must exist', () => {
    expect(devEndpointsPath({ S3C_DEV_ENDPOINTS: 'none' }, dir)).toBeUndefined();
    expect(() => devEndpointsPath({ S3C_DEV_ENDPOINTS: 'gone.json' }, dir)).toThrow(ConfigError);
    expect(() => devEndpointsPath({ S3C_DEV_ENDPOINTS: 'gone.json' }, dir)).toThrow(
      `S3C_DEV_ENDPOINTS names ${path.join(dir, 'gone.json')}, which does not exist`,
    );
  });
});
