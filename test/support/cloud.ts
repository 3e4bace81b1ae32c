/** The cloud side in node tests: a plain MQTT subscriber that collects every envelope edge-uplink publishes. */
import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { startAedes, EmbeddedBroker } from '../../scripts/lib/aedes-broker';
import { freePort } from '../../scripts/lib/net-util';
import { helper, runtimeWithStateDir } from './red';
import { decodePublish, Envelope } from '../../nodes/core/uplink/uplink-batch';

export interface CloudView {
  envelopes: Envelope[];
  /** the topic of each publish, in arrival order */
  topics: string[];
  publishes: number;
  close(): Promise<void>;
}

export async function cloudSubscriber(port: number, filter = 'cloud/#'): Promise<CloudView> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 200 });
  const got: CloudView = { envelopes: [], topics: [], publishes: 0, close: () => client.endAsync(true) };
  client.on('message', (topic, payload) => {
    got.publishes++;
    got.topics.push(topic);
    got.envelopes.push(...decodePublish(payload));
  });
  // after a broker restart the subscription is made again
  client.on('connect', () => void client.subscribe(filter, { qos: 1 }));
  await client.subscribeAsync(filter, { qos: 1 });
  return got;
}

/**
 * What every edge-uplink node test stands on: a Node-RED runtime with its own state directory, and a fresh aedes
 * broker per test (`bed.broker`, which a test may stop and replace); the buffers are removed after each test.
 */
export function uplinkTestBed(prefix: string): { stateDir: string; broker: EmbeddedBroker } {
  const bed = { stateDir: runtimeWithStateDir(prefix), broker: undefined as unknown as EmbeddedBroker };
  beforeEach(async () => {
    bed.broker = await startAedes(await freePort());
  });
  afterEach(async () => {
    await helper.unload();
    await bed.broker.close();
    fs.rmSync(path.join(bed.stateDir, 'uplink'), { recursive: true, force: true });
  });
  return bed;
}
