#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI is compiled TypeScript in dist/. `npm run build` (or `npm test`/`npm run dev`) builds it.
const path = require('node:path');
const fs = require('node:fs');
const entry = path.join(__dirname, '..', 'dist', 'src', 'cli', 'index.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('s3-campaigns: not built yet. Run `npm run build` in ' + path.join(__dirname, '..') + '\n');
  process.exit(2);
}
require(entry).main(process.argv).then(
  (code) => process.exit(code ?? 0),
  (err) => {
    process.stderr.write(`s3-campaigns: ${err && err.message ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
