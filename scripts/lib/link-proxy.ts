/**
 * A TCP link that can be cut: forwards a local port to a target, and on `cut()` drops every connection and stops
 * listening, as a lost WAN link looks to a gateway. The demo puts its "cloud" behind one. It counts the bytes each
 * way, as a metered WAN link bills them. `muted` drops what comes back from the target while the link stays up:
 * acknowledgements lost on the way, as on a link that fails one way.
 */
import net from 'node:net';

export class LinkProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  /** bytes forwarded to the target and back, over every connection so far */
  readonly bytes = { toTarget: 0, fromTarget: 0 };
  muted = false;
  /** when each connection was opened (ms): the reconnection attempts clients made */
  readonly accepted: number[] = [];

  constructor(readonly port: number, private readonly target: { host: string; port: number }, private readonly host = '127.0.0.1') {}

  get up(): boolean {
    return this.server !== undefined;
  }

  async restore(): Promise<void> {
    if (this.server) return;
    const server = net.createServer((client) => {
      this.accepted.push(Date.now());
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.on('data', (chunk: Buffer) => { this.bytes.toTarget += chunk.length; });
      upstream.on('data', (chunk: Buffer) => {
        this.bytes.fromTarget += chunk.length;
        if (!this.muted) client.write(chunk);
      });
      client.pipe(upstream);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => resolve());
    });
    this.server = server;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
