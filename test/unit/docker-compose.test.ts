/**
 * docker-compose.yml cannot run here (no Docker engine), so it is checked statically: services, images, ports,
 * build context, the CLI flags and environment variables it uses all refer to things that exist.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { parse } from 'yaml';

import { buildProgram } from '../../src/cli';
import { SEARCH_ATTRIBUTE_CLI_TYPES } from '../../src/shared/search-attributes';

const root = path.join(__dirname, '..', '..');

interface Service {
  image?: string;
  build?: string;
  command?: string[] | string;
  entrypoint?: string[];
  environment?: Record<string, string | number>;
  ports?: string[];
  depends_on?: Record<string, unknown> | string[];
}

const compose = parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, Service>;
};
const services = compose.services;
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');

describe('docker-compose.yml', () => {
  test('has Temporal with a database, the UI, S3, the engine and the worker', () => {
    expect(Object.keys(services).sort()).toEqual([
      'local-batch',
      'postgresql',
      's3',
      'temporal',
      'temporal-setup',
      'temporal-ui',
      'worker',
    ]);
  });

  test.each(Object.entries(services))('%s: image pinned or built from this repo', (_name, svc) => {
    if (svc.build) {
      expect(svc.build).toBe('.');
      expect(existsSync(path.join(root, 'Dockerfile'))).toBe(true);
    } else {
      expect(svc.image).toMatch(/^[\w./-]+:\d[\w.-]*$/);
    }
  });

  test('every published port binds 127.0.0.1 only', () => {
    const ports = Object.values(services).flatMap((s) => s.ports ?? []);
    expect(ports.length).toBeGreaterThan(0);
    for (const p of ports) expect(p).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
  });

  test('depends_on names services that exist', () => {
    for (const svc of Object.values(services)) {
      const deps = Array.isArray(svc.depends_on) ? svc.depends_on : Object.keys(svc.depends_on ?? {});
      for (const d of deps) expect(Object.keys(services)).toContain(d);
    }
  });

  test('the moto image is the version the embedded stack pins', () => {
    const pinned = /moto\[server\]==([\d.]+)/.exec(
      readFileSync(path.join(root, 'scripts', 'tools-requirements.txt'), 'utf8'),
    )![1];
    expect(services.s3!.image).toBe(`motoserver/moto:${pinned}`);
  });

  test('the engine and worker commands are real CLI commands with real flags', () => {
    const program = buildProgram();
    for (const name of ['local-batch', 'worker']) {
      const [command, ...args] = services[name]!.command as string[];
      const cmd = program.commands.find((c) => c.name() === command);
      expect(cmd).toBeDefined();
      const known = new Set(cmd!.options.map((o) => o.long));
      for (const flag of args.filter((a) => a.startsWith('--'))) expect(known).toContain(flag);
    }
  });

  test('the services reach each other by the ports they serve on', () => {
    const engineArgs = services['local-batch']!.command as string[];
    const s3Port = services.s3!.ports![0]!.split(':')[2];
    expect(engineArgs[engineArgs.indexOf('--s3-endpoint') + 1]).toBe(`http://s3:${s3Port}`);
    expect(services.worker!.environment!.S3C_S3_ENDPOINT).toBe(`http://s3:${s3Port}`);
    const enginePort = engineArgs[engineArgs.indexOf('--port') + 1];
    expect(services.worker!.environment!.S3C_S3CONTROL_ENDPOINT).toBe(`http://local-batch:${enginePort}`);
    expect(engineArgs[engineArgs.indexOf('--host') + 1]).toBe('0.0.0.0');
  });

  test('every worker variable is one the README documents', () => {
    for (const key of Object.keys(services.worker!.environment!)) expect(readme).toContain(`\`${key}\``);
  });

  test('temporal-setup registers every campaign search attribute with its type', () => {
    const script = (services['temporal-setup']!.command as string[]).join(' ');
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTE_CLI_TYPES))
      expect(script).toContain(`--name ${name} --type ${type}`);
  });

  test('the Dockerfile copies only files that exist', () => {
    const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
    expect(sources.length).toBeGreaterThan(3);
    for (const src of sources) expect(existsSync(path.join(root, src))).toBe(true);
  });
});
