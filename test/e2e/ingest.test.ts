/**
 * The uplink-to-ingest path as it runs: a gateway Node-RED (edge-uplink) and a cloud Node-RED (edge-ingest), both
 * processes with the packed package, and a mosquitto between them that keeps sessions across its restarts. While
 * a backlog drains, the broker's acknowledgements are lost (so the gateway sends again what the ingest already
 * has), the broker is stopped, the gateway SIGKILLed and the ingest SIGKILLed; every record the gateway accepted
 * must come out of edge-ingest exactly once.
 *
 * The cloud flow writes each record's seq to a file in a function node, with synchronous delivery between nodes
 * (runtimeSyncDelivery), so what the file holds is what edge-ingest let through: with Node-RED's default
 * asynchronous delivery, a record between two nodes when the process is killed is lost from the flow (the README
 * says how a store downstream stays exact: by msg.id).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { installedUserDir, SETUP_TIMEOUT_MS } from '../support/installed';
import { onTab, startNodeRed, NodeRedProcess } from '../../scripts/lib/node-red-process';
import { Mosquitto } from '../../scripts/lib/mosquitto';
import { LinkProxy } from '../../scripts/lib/link-proxy';
import { freePort, waitFor } from '../../scripts/lib/net-util';

const TOTAL = 12_000;

/** The gateway: POST /produce {count} makes records {seq, pad}; GET /stats asks the uplink. */
function gatewayFlow(port: number): unknown[] {
  const produce = `
    const { count } = msg.payload;
    node.send([{ res: msg.res, payload: { producing: count } }, null]);
    let i = 0;
    const step = () => {
      const end = Math.min(count, i + 250);
      for (; i < end; i++) node.send([null, { topic: 'line/' + (i % 3), payload: { seq: i, pad: 'x'.repeat(100) } }]);
      if (i < count) setTimeout(step, 0);
    };
    step();
    return null;`;
  return onTab('gateway', [
    { id: 'cloud', type: 'edge-mqtt-broker', url: `mqtt://127.0.0.1:${port}`, clientId: 'gateway-e2e', protocolVersion: '4', clean: true, keepalive: '5', rejectUnauthorized: true },
    { id: 'in-produce', z: 'tab', type: 'http in', url: '/produce', method: 'post', wires: [['produce']] },
    { id: 'produce', z: 'tab', type: 'function', func: produce, outputs: 2, wires: [['res'], ['up']] },
    { id: 'in-stats', z: 'tab', type: 'http in', url: '/stats', method: 'get', wires: [['ask']] },
    { id: 'ask', z: 'tab', type: 'change', rules: [{ t: 'set', p: 'command', pt: 'msg', to: 'stats', tot: 'str' }], wires: [['up']] },
    // paced, so the drain lasts while the faults happen
    { id: 'up', z: 'tab', type: 'edge-uplink', broker: 'cloud', topic: 'edge/${gateway}', gateway: 'press-3', qos: '1', format: 'columns', maxRecords: '50', batchWait: '50',
      maxPacketKb: '128', durability: 'group', groupMs: '20', maxSizeMb: '100', maxAgeH: '0', onFull: 'drop-oldest', rateRecords: '400', rateKbps: '0', order: 'oldest-first', wires: [['res'], []] },
    { id: 'res', z: 'tab', type: 'http response', statusCode: '', headers: {}, wires: [] },
  ]);
}

/** The cloud: edge-ingest with its defaults on a persistent session, each record's seq appended to a file. */
function cloudFlow(port: number, file: string): unknown[] {
  const write = `fs.appendFileSync(${JSON.stringify(file)}, msg.payload.seq + '\\n'); return null;`;
  return onTab('cloud', [
    { id: 'cloud', type: 'edge-mqtt-broker', url: `mqtt://127.0.0.1:${port}`, clientId: 'ingest-e2e', protocolVersion: '4', clean: false, keepalive: '5', rejectUnauthorized: true },
    { id: 'ingest', z: 'tab', type: 'edge-ingest', broker: 'cloud', topic: 'edge/+', qos: '1', group: '', window: '100000', ledger: '', wires: [['write'], ['answer']] },
    { id: 'write', z: 'tab', type: 'function', func: write, outputs: 1, libs: [{ var: 'fs', module: 'fs' }], wires: [] },
    { id: 'in-stats', z: 'tab', type: 'http in', url: '/stats', method: 'get', wires: [['ask']] },
    { id: 'ask', z: 'tab', type: 'change', rules: [{ t: 'set', p: 'command', pt: 'msg', to: 'stats', tot: 'str' }], wires: [['ingest']] },
    { id: 'answer', z: 'tab', type: 'function', func: "return msg.topic === 'stats' ? msg : null;", outputs: 1, wires: [['res']] },
    { id: 'res', z: 'tab', type: 'http response', statusCode: '', headers: {}, wires: [] },
  ]);
}

interface IngestStats { accepted: number; duplicates: number; gaps: number; epochs: number; undecodable: number }

describe('e2e: edge-uplink to edge-ingest through mosquitto, with every part killed once', function () {
  this.timeout(600_000);
  let installed: string;
  let work: string;
  let mosquitto: Mosquitto;
  const procs: { gateway?: NodeRedProcess; cloud?: NodeRedProcess } = {};
  let link: LinkProxy | undefined;

  before(async function () {
    this.timeout(SETUP_TIMEOUT_MS);
    installed = await installedUserDir();
  });
  after(async () => {
    await procs.gateway?.stop();
    await procs.cloud?.stop();
    await link?.cut();
    await mosquitto?.dispose();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it(`${TOTAL} records: the broker stopped, the gateway SIGKILLed, the ingest SIGKILLed; each emitted once`, async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-ingest-e2e-'));
    mosquitto = new Mosquitto([], true);
    await mosquitto.start();
    // two user directories sharing the installed package
    const dirs = { gateway: path.join(work, 'gateway'), cloud: path.join(work, 'cloud') };
    for (const dir of Object.values(dirs)) {
      fs.mkdirSync(dir);
      fs.symlinkSync(path.join(installed, 'node_modules'), path.join(dir, 'node_modules'));
      fs.copyFileSync(path.join(installed, 'package.json'), path.join(dir, 'package.json'));
    }
    const seqFile = path.join(work, 'emitted.txt');
    const ports = { gateway: await freePort(), cloud: await freePort() };
    const start = async (which: 'gateway' | 'cloud', flows?: unknown[]) => {
      procs[which] = await startNodeRed({
        userDir: dirs[which], port: ports[which], output: path.join(dirs[which], 'node-red.log'), flows,
        settings: { edgeIntelligenceStateDir: path.join(dirs[which], 'state'), httpNodeRoot: '/', ...(which === 'cloud' ? { runtimeSyncDelivery: true } : {}) },
      });
    };
    const emitted = () => (fs.existsSync(seqFile) ? fs.readFileSync(seqFile, 'utf8').split('\n').filter(Boolean).map(Number) : []);
    const gatewayStats = () => procs.gateway!.api<{ state: string; enqueued: number; acked: number; queued: number; resent: number }>('GET', '/stats');
    const ingestStats = () => procs.cloud!.api<IngestStats>('GET', '/stats');
    const answering = (ask: () => Promise<unknown>, what: string) => waitFor(async () => {
      try {
        await ask();
        return true;
      } catch {
        return false;
      }
    }, what, 60_000);

    await start('cloud', cloudFlow(mosquitto.port, seqFile));
    await answering(ingestStats, 'the ingest flow answering');
    // the gateway's link to the broker, whose acknowledgements can be lost
    link = new LinkProxy(await freePort(), { host: '127.0.0.1', port: mosquitto.port });
    await link.restore();
    await start('gateway', gatewayFlow(link.port));
    await answering(gatewayStats, 'the gateway flow answering');
    await procs.gateway!.api('POST', '/produce', { count: TOTAL });
    await waitFor(async () => (await gatewayStats()).enqueued === TOTAL, `all ${TOTAL} accepted by the gateway`, 120_000);

    // acknowledgements lost: the uplink has 4 publishes of 50 in flight at most, which the ingest gets and the
    // gateway never hears of; once the link is cut and back, they go again. At least three of them are sent after
    // the mute (one may have been on its way already)
    await waitFor(() => emitted().length >= 1_000, '1,000 through', 120_000);
    link.muted = true;
    const atMute = emitted().length;
    await waitFor(() => emitted().length >= atMute + 150, 'the publishes in flight received at the cloud, unacknowledged');
    await link.cut();
    link.muted = false;
    await link.restore();
    await waitFor(async () => (await ingestStats()).duplicates >= 150, 'the records sent again dropped at ingest', 60_000);

    await waitFor(() => emitted().length >= 2_000, '2,000 through', 120_000);
    await mosquitto.stop('SIGTERM');
    await waitFor(async () => (await gatewayStats()).state === 'offline', 'the gateway offline');
    await mosquitto.start();

    await waitFor(() => emitted().length >= 5_000, '5,000 through', 120_000);
    await procs.gateway!.stop('SIGKILL');
    await start('gateway');
    await answering(gatewayStats, 'the gateway back');

    await waitFor(() => emitted().length >= 8_000, '8,000 through', 120_000);
    await procs.cloud!.stop('SIGKILL');
    await start('cloud');
    await answering(ingestStats, 'the ingest back');

    await waitFor(async () => (await gatewayStats()).acked === TOTAL, 'every record acknowledged at the gateway', 240_000);
    await waitFor(() => new Set(emitted()).size === TOTAL, `all ${TOTAL} emitted`, 120_000);
    const seqs = emitted();
    const counts = new Map<number, number>();
    for (const s of seqs) counts.set(s, (counts.get(s) ?? 0) + 1);
    const twice = [...counts].filter(([, n]) => n > 1).map(([s]) => s);
    assert.deepEqual(twice.slice(0, 10), [], 'no record emitted twice');
    assert.equal(seqs.length, TOTAL);
    assert.deepEqual([Math.min(...seqs), Math.max(...seqs)], [0, TOTAL - 1]);
    const s = await ingestStats();
    const g = await gatewayStats();
    assert.deepEqual([s.accepted, s.gaps, s.epochs, s.undecodable], [TOTAL, 0, 1, 0]);
    assert.ok(s.duplicates >= 150, `${s.duplicates} duplicates dropped`);
    console.log(`      ${TOTAL} emitted once; ${s.duplicates} duplicates dropped at ingest; ${g.resent} records resent by the gateway`);
  });
});
