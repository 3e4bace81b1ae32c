'use strict';
// Copies what tsc does not emit next to each compiled node: its editor .html, its locales and the icons, which
// is where Node-RED looks for them.
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const nodesDir = path.join(root, 'nodes');
const distDir = path.join(root, 'dist');
const iconsDir = path.join(root, 'icons');

for (const entry of fs.readdirSync(nodesDir, { withFileTypes: true })) {
  if (!entry.isDirectory() || entry.name === 'core' || entry.name === 'kit') continue;
  const from = path.join(nodesDir, entry.name);
  const to = path.join(distDir, entry.name);
  fs.mkdirSync(to, { recursive: true });
  for (const file of fs.readdirSync(from)) {
    if (file.endsWith('.html')) fs.copyFileSync(path.join(from, file), path.join(to, file));
  }
  if (fs.existsSync(path.join(from, 'locales'))) {
    fs.cpSync(path.join(from, 'locales'), path.join(to, 'locales'), { recursive: true });
  }
  // a node's icons are named after it (edge-sensor.svg); config nodes show none
  const icons = fs.readdirSync(iconsDir).filter((f) => f === `${entry.name}.svg`);
  for (const icon of icons) {
    fs.mkdirSync(path.join(to, 'icons'), { recursive: true });
    fs.copyFileSync(path.join(iconsDir, icon), path.join(to, 'icons', icon));
  }
}
