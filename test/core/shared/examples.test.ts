/**
 * The example flows (the demo's tabs) as a user first sees them: no node drawn over another, and the sidebar kept
 * for the messages that matter (debug nodes on the high-rate streams are off or show on their node only).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const dir = path.resolve(__dirname, '..', '..', '..', '..', 'examples');
type FlowNode = { id: string; type: string; z?: string; x?: number; y?: number; name?: string; label?: string; active?: boolean; tosidebar?: boolean };

/** The box Node-RED draws for a node: link nodes are 30 px square, others widen with their label (about 7 px a letter). */
function box(n: FlowNode): { x0: number; x1: number; y0: number; y1: number } {
  const link = n.type === 'link in' || n.type === 'link out' || n.type === 'junction';
  const width = link ? 30 : Math.max(100, 7 * (n.name || n.label || n.type).length + 50);
  const height = link ? 30 : 30;
  return { x0: n.x! - width / 2, x1: n.x! + width / 2, y0: n.y! - height / 2, y1: n.y! + height / 2 };
}

describe('core: the example flows', () => {
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const flow = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as FlowNode[];

    it(`${file}: no node is drawn over another`, () => {
      const drawn = flow.filter((n) => typeof n.x === 'number' && typeof n.y === 'number' && n.z);
      const overlaps: string[] = [];
      drawn.forEach((a, i) => {
        for (const b of drawn.slice(i + 1)) {
          if (a.z !== b.z) continue;
          const p = box(a);
          const q = box(b);
          if (p.x0 < q.x1 && q.x0 < p.x1 && p.y0 < q.y1 && q.y0 < p.y1) overlaps.push(`${a.id} / ${b.id}`);
        }
      });
      assert.deepEqual(overlaps, []);
    });

    const ui = flow.filter((n) => n.type.startsWith('ui-'));
    if (ui.length) {
      it(`${file}: its dashboard page stands alone (every group, page and base in the file) and the tab says it needs FlowFuse Dashboard 2.0`, () => {
        const ids = new Set(flow.map((n) => n.id));
        const refs = ui.flatMap((n) => ['group', 'page', 'ui', 'theme'].map((k) => (n as Record<string, unknown>)[k]).filter((v): v is string => typeof v === 'string' && v !== ''));
        assert.deepEqual(refs.filter((r) => !ids.has(r)), []);
        const tab = flow.find((n) => n.type === 'tab') as FlowNode & { info: string };
        assert.match(tab.info, /FlowFuse Dashboard 2\.0 \(`@flowfuse\/node-red-dashboard`\)/);
        assert.ok(ui.every((n) => n.type !== 'ui-template' || !/v-html/.test((n as Record<string, unknown>).format as string)), 'templates show values as text, escaped');
      });
    }

    it(`${file}: debug nodes on the per-reading streams stay out of the sidebar`, () => {
      const noisy = new Set(['pump readings', 'line 2 readings', 'anomaly score', 'feature vectors', 'pump condition']);
      const loud = flow.filter((n) => n.type === 'debug' && noisy.has(n.name ?? '') && n.active !== false && n.tosidebar !== false);
      assert.deepEqual(loud.map((n) => n.name), []);
    });
  }

  it('the limits drawn on the Process charts are the limits of the alarms on the Alarms tab', () => {
    const read = (f: string) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Array<Record<string, any>>;
    const alarms = read('edge-alarm-dashboard.json').find((n) => n.type === 'edge-alarm')!.alarms as Array<{ id: string; path: string; limit: string }>;
    const limitOf = (channel: string) => Number(alarms.find((a) => a.path === `payload.${channel}`)!.limit);
    const drawn = read('edge-filter-aggregate.json').filter((n) => n.type === 'inject' && n.props?.[0]?.p === 'ui_update');
    assert.equal(drawn.length, 4);
    for (const inject of drawn) {
      for (const series of JSON.parse(inject.props[0].v).chartOptions.series as Array<{ name: string; markLine: { data: Array<{ yAxis: number }> } }>) {
        assert.equal(series.markLine.data[0].yAxis, limitOf(series.name.split(' ')[0]), `${inject.name}: ${series.name}`);
      }
    }
  });
});
