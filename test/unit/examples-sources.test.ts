/** The source examples (examples/sources/): each is a valid spec whose source is the one its file is named after. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { parseCampaignSpec } from '../../src/shared/campaign-spec';

const dir = path.join(__dirname, '..', '..', 'examples', 'sources');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

test('there is an example of a bucket source', () => {
  expect(files).toContain('bucket.json');
});

test.each(files)('examples/sources/%s is a valid spec of that source type', (file) => {
  const spec = parseCampaignSpec(JSON.parse(readFileSync(path.join(dir, file), 'utf8')));
  expect(spec.source.type).toBe(file.replace(/\.json$/, ''));
});
