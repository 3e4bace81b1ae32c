/** What the README promises users about literal values in messages agrees with the code. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ALARM_STATES } from '../../../nodes/core/alarms/alarm-state';
import { REPO } from '../../support/installed';

describe('core: the README', () => {
  it('lists every alarm state as it appears in messages, once, in the lifecycle order', () => {
    const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('**States as they appear in messages**'));
    const rows = [...section.matchAll(/^ {2}\| `([a-z-]+)` \| ([A-H]) \|/gm)].map((m) => [m[1], m[2]]);
    assert.deepEqual(rows.map((r) => r[0]), [...ALARM_STATES]);
    assert.deepEqual(rows.map((r) => r[1]), ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H']);
  });

  it('shows images that are in the repository, each under 200 KB', () => {
    const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
    const images = [...readme.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1]);
    assert.deepEqual(images, ['process', 'model', 'alarms', 'cloud'].map((p) => `docs/images/dashboard-${p}.jpg`));
    for (const image of images) assert.ok(fs.statSync(path.join(REPO, image)).size < 200_000, image);
  });
});
