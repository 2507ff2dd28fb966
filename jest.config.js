/** @type {import('jest').Config} */
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json' }];

// Tests build AWS SDK clients themselves, in jest's workers and in the global setup: on Node 20, keep the SDK's
// NodeVersionSupportWarning out of their output as src/node-support.ts does for the CLI (and says why).
if (process.versions.node.split('.')[0] === '20')
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

module.exports = {
  // Integration tests run real jobs and workflows; unit tests finish in milliseconds either way.
  testTimeout: 180000,
  // Integration tests mostly wait on servers: two workers keep both cores busy.
  maxWorkers: 2,
  projects: [
    {
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
      transform: { '^.+\\.ts$': tsJest },
      testEnvironment: 'node',
    },
    {
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      transform: { '^.+\\.ts$': tsJest },
      testEnvironment: 'node',
      // The real servers (Temporal dev server, moto S3, the local batch engine) start once per run.
      globalSetup: '<rootDir>/test/global-setup.ts',
      globalTeardown: '<rootDir>/test/global-teardown.ts',
    },
    {
      // Kills and restarts its own servers and workers, so it starts a stack of its own (test/support/crash-stack.ts).
      displayName: 'crash',
      testMatch: ['<rootDir>/test/crash/**/*.test.ts'],
      transform: { '^.+\\.ts$': tsJest },
      testEnvironment: 'node',
    },
  ],
};
