/**
 * What every shared connection has in common (as Node-RED's core mqtt broker node does it): the nodes using it
 * register and deregister, the first one opens it, the last one to leave takes it down again (it can be opened
 * again later: a redeploy of only the client nodes keeps the config node), and each change of state is an event
 * that the config node fans out as a status to all of them. `close()` is final: the config node itself is going.
 *
 * Reconnects back off exponentially with jitter; the backoff is reset only after the link has stayed up for a
 * while, so an endpoint that accepts and at once drops connections does not get a reconnect storm.
 */
import { EventEmitter } from 'node:events';
import { Backoff, BackoffOptions } from './backoff';
import { ConnectionState } from '../shared/status';

/** How long a link must stay up before a later loss starts the backoff from the beginning again. */
export const STABLE_AFTER_MS = 10_000;

export abstract class SharedConnection extends EventEmitter {
  protected _state: ConnectionState = 'idle';
  private readonly users = new Set<string>();
  protected readonly backoff: Backoff;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stableTimer: NodeJS.Timeout | undefined;
  lastError: string | undefined;

  constructor(backoff: BackoffOptions) {
    super();
    // one listener per node using the connection
    this.setMaxListeners(0);
    this.backoff = new Backoff(backoff);
  }

  get state(): ConnectionState {
    return this._state;
  }

  get connected(): boolean {
    return this._state === 'connected';
  }

  /** Not wanted now: nobody uses it (idle) or it was closed for good. */
  protected get stopped(): boolean {
    return this._state === 'idle' || this._state === 'closed';
  }

  /** A node starts using the connection; the first user opens it. */
  register(userId: string): void {
    this.users.add(userId);
    if (this._state === 'idle') this.open();
  }

  /** A node stops using it; when the last one leaves the connection goes down, ready to open again. */
  async deregister(userId: string): Promise<void> {
    this.users.delete(userId);
    if (this.users.size > 0 || this.stopped) return;
    this.setState('idle');
    this.clearTimers();
    await this.shutdown();
  }

  get userCount(): number {
    return this.users.size;
  }

  /** Closes for good. */
  async close(): Promise<void> {
    if (this._state === 'closed') return;
    this.setState('closed');
    this.clearTimers();
    await this.shutdown();
  }

  /** Changes state and tells the listeners; `error` ('' to clear) is kept as lastError. */
  protected setState(state: ConnectionState, error?: string): void {
    if (error !== undefined) this.lastError = error;
    if (state === this._state && error === undefined) return;
    this._state = state;
    this.emit('state', state, error);
  }

  /** The link is up: connected now, and the backoff starts afresh once it has stayed up. */
  protected linkUp(): void {
    this.setState('connected', '');
    clearTimeout(this.stableTimer);
    this.stableTimer = setTimeout(() => this.backoff.reset(), STABLE_AFTER_MS);
    this.stableTimer.unref();
  }

  /** The link is down (or never came up): wait the next backoff delay, then `reconnect()`. */
  protected scheduleReconnect(reason: string): void {
    clearTimeout(this.stableTimer);
    if (this.stopped || this.reconnectTimer) return;
    const delay = this.backoff.next();
    this.setState('waiting', reason);
    this.emit('retry', delay);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.stopped) this.reconnect();
    }, delay);
  }

  private clearTimers(): void {
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.stableTimer);
    this.reconnectTimer = undefined;
    this.stableTimer = undefined;
  }

  /** First connection attempt after idle. */
  protected abstract open(): void;
  /** Another attempt after a loss or a failed attempt. */
  protected abstract reconnect(): void;
  /** Drops the link and anything pending; the state is already idle or closed. */
  protected abstract shutdown(): Promise<void>;
}
