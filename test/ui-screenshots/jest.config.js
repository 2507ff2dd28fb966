/**
 * Jest config for `npm run ui:screenshots`: runs the UI test (test/integration/ui.test.ts) with S3C_UI_SCREENSHOTS
 * set, so that its steps also write the README's screenshots to docs/ui/. Apart from the test suite: it writes files
 * and is run on purpose.
 * @type {import('jest').Config}
 */
const path = require('node:path');

process.env.S3C_UI_SCREENSHOTS ??= path.join(__dirname, '..', '..', 'docs', 'ui');

module.exports = {
  rootDir: '../..',
  testMatch: ['<rootDir>/test/integration/ui.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }] },
  testEnvironment: 'node',
  testTimeout: 300000,
};
