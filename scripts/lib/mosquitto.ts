/**
 * A real mosquitto broker for tests that claim broker behaviour: started on a free loopback port with a config of
 * the test's making, stopped (or killed) by PID. TLS material is generated with openssl.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from './net-util';

export class Mosquitto {
  private child: ChildProcess | undefined;
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-mosquitto-'));
  port = 0;

  /** `persistent`: sessions and queued messages are kept across a restart (in this broker's own directory). */
  constructor(private readonly extraConfig: string[] = [], private readonly persistent = false) {}

  async start(port?: number): Promise<void> {
    this.port = port || this.port || (await freePort());
    const conf = path.join(this.dir, 'mosquitto.conf');
    fs.writeFileSync(conf, [
      `listener ${this.port} 127.0.0.1`,
      'allow_anonymous true',
      ...(this.persistent ? ['persistence true', `persistence_location ${this.dir}/`, 'max_queued_messages 0'] : ['persistence false']),
      // the tests run as any user, root included; stay that user so the test's files stay readable
      'user ' + os.userInfo().username,
      ...this.extraConfig,
    ].join('\n') + '\n');
    const log = fs.openSync(path.join(this.dir, 'mosquitto.log'), 'a');
    this.child = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    await waitForPort(this.port, 10_000);
  }

  get log(): string {
    return fs.readFileSync(path.join(this.dir, 'mosquitto.log'), 'utf8');
  }

  /** Stops the broker: SIGKILL simulates a crash, SIGTERM a clean stop. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  }

  async dispose(): Promise<void> {
    await this.stop('SIGKILL');
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface TlsFiles {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** a second CA that signed nothing here: trusting it must fail */
  otherCa: string;
}

/** A CA, a server certificate for 127.0.0.1/localhost and a client certificate, all made with openssl. */
export function makeTls(dir: string): TlsFiles {
  const f = (name: string) => path.join(dir, name);
  const run = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  for (const ca of ['ca', 'other-ca']) {
    run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${ca}`, '-keyout', f(`${ca}.key`), '-out', f(`${ca}.crt`));
  }
  const sign = (name: string, cn: string, ext: string) => {
    run('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`));
    fs.writeFileSync(f(`${name}.ext`), ext);
    run('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2',
      '-extfile', f(`${name}.ext`), '-out', f(`${name}.crt`));
  };
  sign('server', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  sign('client', 'gateway-1', 'extendedKeyUsage=clientAuth\n');
  return {
    ca: f('ca.crt'), serverCert: f('server.crt'), serverKey: f('server.key'),
    clientCert: f('client.crt'), clientKey: f('client.key'), otherCa: f('other-ca.crt'),
  };
}

