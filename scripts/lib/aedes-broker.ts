/** An in-process MQTT 3.1.1 broker (aedes) on loopback, for the demo and the tests. */
import net from 'node:net';

export interface EmbeddedBroker {
  port: number;
  /** MQTT clients connected now */
  connectedClients(): number;
  /** stops listening and drops every client */
  close(): Promise<void>;
}

export async function startAedes(port: number, host = '127.0.0.1'): Promise<EmbeddedBroker> {
  // aedes is ESM-only; this package is CommonJS, so it is loaded with a dynamic import.
  const { Aedes } = await import('aedes');
  const broker = await Aedes.createBroker();
  const server = net.createServer(broker.handle);
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    connectedClients: () => broker.connectedClients,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}
