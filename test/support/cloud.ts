/** The cloud side in node tests: a plain MQTT subscriber that collects every envelope edge-uplink publishes. */
import mqtt from 'mqtt';
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
    got.envelopes.push(...decodePublish(payload, 'json'));
  });
  // after a broker restart the subscription is made again
  client.on('connect', () => void client.subscribe(filter, { qos: 1 }));
  await client.subscribeAsync(filter, { qos: 1 });
  return got;
}
