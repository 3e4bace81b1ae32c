/** This package's own version (a model's manifest may require a minimum). */
import fs from 'node:fs';
import path from 'node:path';

let cached: string | undefined;

export function packageVersion(): string {
  if (cached) return cached;
  // the compiled file sits at different depths in dist/ and in the build of the tests: walk up to package.json
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === '@edge-intelligence/node-red-nodes' && pkg.version) return (cached = pkg.version);
    } catch {
      // not here
    }
    if (path.dirname(dir) === dir) return (cached = '0.0.0');
  }
}
