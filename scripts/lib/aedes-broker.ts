/** An in-process MQTT 3.1.1 broker (aedes) on loopback, for the demo and the tests. */
import http from 'node:http';
import net from 'node:net';
import { WebSocketServer, createWebSocketStream } from 'ws';

export interface EmbeddedBroker {
  port: number;
  /** port of the MQTT-over-WebSocket listener (ws://127.0.0.1:wsPort/), when one was asked for */
  wsPort?: number;
  /** MQTT clients connected now */
  connectedClients(): number;
  /** stops listening and drops every client */
  close(): Promise<void>;
}

export async function startAedes(port: number, host = '127.0.0.1', wsPort?: number): Promise<EmbeddedBroker> {
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
  let web: http.Server | undefined;
  if (wsPort !== undefined) {
    web = http.createServer();
    const wss = new WebSocketServer({ server: web });
    wss.on('connection', (socket, req) => {
      const stream = createWebSocketStream(socket);
      stream.on('error', () => undefined);
      broker.handle(stream as never, req as never);
    });
    await new Promise<void>((resolve, reject) => {
      web!.once('error', reject);
      web!.listen(wsPort, host, () => resolve());
    });
  }
  return {
    port: (server.address() as net.AddressInfo).port,
    wsPort: web ? (web.address() as net.AddressInfo).port : undefined,
    connectedClients: () => broker.connectedClients,
    close: async () => {
      for (const s of sockets) s.destroy();
      web?.closeAllConnections();
      if (web) await new Promise<void>((resolve) => web!.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}
