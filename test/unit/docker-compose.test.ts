/**
 * docker-compose.yml cannot run here (no Docker engine), so it is checked statically: services, images, ports,
 * build context, the CLI flags and environment variables it uses all refer to things that exist.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { parse } from 'yaml';

import { buildProgram } from '../../src/cli';
import { SEARCH_ATTRIBUTE_CLI_TYPES } from '../../src/shared/search-attributes';

const root = path.join(__dirname, '..', '..');

interface Service {
  image?: string;
  profiles?: string[];
  healthcheck?: { test: string[] };
  stop_grace_period?: string;
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
      'grafana',
      'local-batch',
      'postgresql',
      'prometheus',
      's3',
      'temporal',
      'temporal-schema',
      'temporal-setup',
      'temporal-ui',
      'worker',
    ]);
    // Prometheus and Grafana only on request.
    expect(services.prometheus!.profiles).toEqual(['observability']);
    expect(services.grafana!.profiles).toEqual(['observability']);
  });

  test('Temporal runs on maintained images: temporalio/server, its schemas set up by temporalio/admin-tools', () => {
    const images = Object.values(services).map((s) => s.image ?? '');
    expect(images.filter((i) => i.startsWith('temporalio/auto-setup'))).toEqual([]);
    const server = services.temporal!.image!.split(':');
    expect(server[0]).toBe('temporalio/server');
    // The schema tool matches the server it prepares.
    expect(services['temporal-schema']!.image).toBe(`temporalio/admin-tools:${server[1]}`);
    expect(services['temporal-setup']!.image).toBe(`temporalio/admin-tools:${server[1]}`);
    expect(services.temporal!.depends_on).toEqual({
      'temporal-schema': { condition: 'service_completed_successfully' },
    });
    for (const script of ['temporal-schema.sh', 'temporal-setup.sh']) {
      expect(existsSync(path.join(root, 'deploy', 'compose', script))).toBe(true);
    }
  });

  test("the worker's healthcheck asks /readyz on its metrics port, and compose waits longer than its grace", () => {
    const worker = services.worker!;
    const args = worker.command as string[];
    const port = args[args.indexOf('--metrics-port') + 1];
    expect(args[args.indexOf('--metrics-host') + 1]).toBe('0.0.0.0');
    expect(worker.healthcheck!.test.join(' ')).toContain(`http://127.0.0.1:${port}/readyz`);
    const seconds = (d: string) => Number(/^(\d+)s$/.exec(d)![1]);
    expect(seconds(worker.stop_grace_period!)).toBeGreaterThan(seconds(String(worker.environment!.S3C_SHUTDOWN_GRACE)));
    const scrape = readFileSync(path.join(root, 'deploy', 'prometheus', 'prometheus.yml'), 'utf8');
    // Every replica of `--scale worker=N`, by the service's DNS name.
    expect(scrape).toMatch(new RegExp(`dns_sd_configs:\\s+- names: \\[worker\\]\\s+type: A\\s+port: ${port}`));
  });

  test('the worker scales (`docker compose up --scale worker=3`): no fixed host port, no container name', () => {
    const worker = services.worker as Service & { container_name?: string };
    expect(worker.container_name).toBeUndefined();
    for (const p of worker.ports ?? []) expect(p).toMatch(/^127\.0\.0\.1::\d+$/);
  });

  test.each(Object.entries(services))('%s: image pinned or built from this repo', (_name, svc) => {
    if (svc.build) {
      expect(svc.build).toBe('.');
      expect(existsSync(path.join(root, 'Dockerfile'))).toBe(true);
    } else {
      expect(svc.image).toMatch(/^[\w./-]+:v?\d[\w.-]*$/);
    }
  });

  test('every published port binds 127.0.0.1 only', () => {
    const ports = Object.values(services).flatMap((s) => s.ports ?? []);
    expect(ports.length).toBeGreaterThan(0);
    for (const p of ports) expect(p).toMatch(/^127\.0\.0\.1:\d*:\d+$/);
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

  test('temporal-setup registers every campaign search attribute with its type, and only those', () => {
    expect([...(services['temporal-setup']!.command as string[])].sort()).toEqual(
      Object.entries(SEARCH_ATTRIBUTE_CLI_TYPES)
        .map(([name, type]) => `${name}:${type}`)
        .sort(),
    );
  });

  test('the image runs on a supported Node LTS, as a non-root user', () => {
    const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    const majors = [...dockerfile.matchAll(/^FROM node:(\d+)-/gm)].map((m) => Number(m[1]));
    expect(majors.length).toBe(2);
    for (const m of majors) expect([22, 24]).toContain(m);
    expect(dockerfile).toMatch(/^USER node$/m);
  });

  test('the Dockerfile copies only files that exist', () => {
    const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
    expect(sources.length).toBeGreaterThan(3);
    for (const src of sources) expect(existsSync(path.join(root, src))).toBe(true);
  });
});

describe('deploy/k8s', () => {
  const k8s = path.join(root, 'deploy', 'k8s');
  const doc = <T>(file: string) => parse(readFileSync(path.join(k8s, file), 'utf8')) as T;
  interface Probe {
    httpGet: { path: string; port: string };
  }
  const deployment = doc<{
    spec: {
      template: {
        spec: {
          terminationGracePeriodSeconds: number;
          containers: Array<{
            args: string[];
            ports: Array<{ name: string; containerPort: number }>;
            livenessProbe: Probe;
            readinessProbe: Probe;
          }>;
        };
      };
    };
  }>('deployment.yaml');
  const config = doc<{ data: Record<string, string> }>('configmap.yaml').data;
  const pod = deployment.spec.template.spec;
  const worker = pod.containers[0]!;

  test('probes ask /healthz and /readyz on the port the ConfigMap makes the worker serve', () => {
    const metrics = worker.ports.find((p) => p.name === 'metrics')!;
    expect(String(metrics.containerPort)).toBe(config.S3C_METRICS_PORT);
    expect(config.S3C_METRICS_HOST).toBe('0.0.0.0');
    expect(worker.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(worker.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
  });

  test("the termination grace period is longer than the worker's own shutdown grace", () => {
    const grace = Number(/^(\d+)s$/.exec(config.S3C_SHUTDOWN_GRACE!)![1]);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(grace);
  });

  test('every ConfigMap key is a variable the README documents, and none is a secret', () => {
    for (const key of Object.keys(config)) {
      expect(readme).toContain(`\`${key}\``);
      expect(key).not.toMatch(/SECRET|API_KEY|PASSWORD|TOKEN/);
    }
  });

  test('the kustomization lists every manifest of the folder (optional/ aside)', () => {
    const listed = doc<{ resources: string[] }>('kustomization.yaml').resources.sort();
    const files = readdirSync(k8s)
      .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
      .sort();
    expect(listed).toEqual(files);
  });
});
