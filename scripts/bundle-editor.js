'use strict';
// Bundles the editor's side of the kit (dist/kit/editor-kit.js) and the core modules it requires into one script
// for the browser, resources/edge-editor.js, which Node-RED serves at /resources/<package>/edge-editor.js. The
// editor thus runs the rules a deploy runs, not a copy. A module that needs Node.js (a built-in or a package) is
// refused: the rules must stay pure.
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
const entry = 'kit/editor-kit.js';
const out = path.join(root, 'resources', 'edge-editor.js');

const modules = new Map();
function collect(id, from) {
  if (modules.has(id)) return;
  const file = path.join(dist, id);
  if (!fs.existsSync(file)) throw new Error(`editor bundle: ${id} (required by ${from}) was not built`);
  const source = fs.readFileSync(file, 'utf8');
  modules.set(id, source);
  for (const [, request] of source.matchAll(/\brequire\("([^"]+)"\)/g)) {
    if (!request.startsWith('.')) throw new Error(`editor bundle: ${id} requires "${request}", which the browser does not have; keep the rules free of Node.js`);
    collect(path.posix.normalize(path.posix.join(path.posix.dirname(id), request)) + '.js', id);
  }
}
collect(entry, 'the editor');

const parts = [...modules].map(([id, source]) => `${JSON.stringify(id)}: function (module, exports, require) {\n${source.replace(/\n\/\/# sourceMappingURL=.*$/m, '')}\n}`);
const bundle = `/* Edge Intelligence for Node-RED: the editor's rules, built from the package's core modules. */
(function () {
  if (window.EdgeEditor) return;
  var sources = {
${parts.join(',\n')}
  };
  var loaded = {};
  function load(id) {
    if (loaded[id]) return loaded[id].exports;
    var module = { exports: {} };
    loaded[id] = module;
    var dir = id.split('/').slice(0, -1);
    sources[id](module, module.exports, function (request) {
      var at = dir.slice();
      request.split('/').forEach(function (part) {
        if (part === '..') at.pop();
        else if (part !== '.') at.push(part);
      });
      return load(at.join('/') + '.js');
    });
    return module.exports;
  }
  window.EdgeEditor = load(${JSON.stringify(entry)});
})();
`;
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, bundle);
