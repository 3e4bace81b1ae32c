/** Child process for the ingest benchmark: publishes N JSON readings at QoS 0 as fast as the broker takes them. */
import mqtt from 'mqtt';

async function main(): Promise<void> {
  const [url, countText, topic] = process.argv.slice(2);
  const count = Number(countText);
  const client = await mqtt.connectAsync(url, { clientId: `bench-pub-${process.pid}` });
  for (let i = 0; i < count; i++) {
    const payload = JSON.stringify({ ts: Date.now(), temperature: 60 + (i % 100) / 10, seq: i });
    if (!client.publish(topic, payload, { qos: 0 }).stream.writableNeedDrain) continue;
    await new Promise((r) => client.stream.once('drain', r));
  }
  await client.endAsync();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
