/**
 * What every shared connection has in common (as Node-RED's core mqtt broker node does it): the nodes using it
 * register and deregister, the first one opens it, the last one to leave closes it, and each change of state is
 * an event that the config node fans out as a status to all of them.
 */
import { EventEmitter } from 'node:events';
import { ConnectionState } from './status';

export abstract class SharedConnection extends EventEmitter {
  protected _state: ConnectionState = 'idle';
  private readonly users = new Set<string>();
  lastError: string | undefined;

  constructor() {
    super();
    // one listener per node using the connection
    this.setMaxListeners(0);
  }

  get state(): ConnectionState {
    return this._state;
  }

  get connected(): boolean {
    return this._state === 'connected';
  }

  /** A node starts using the connection; the first user opens it. */
  register(userId: string): void {
    this.users.add(userId);
    if (this._state === 'idle') this.open();
  }

  /** A node stops using it; when the last one leaves the connection closes. */
  async deregister(userId: string): Promise<void> {
    this.users.delete(userId);
    if (this.users.size === 0) await this.close();
  }

  get userCount(): number {
    return this.users.size;
  }

  /** Changes state and tells the listeners; `error` ('' to clear) is kept as lastError. */
  protected setState(state: ConnectionState, error?: string): void {
    if (error !== undefined) this.lastError = error;
    if (state === this._state && error === undefined) return;
    this._state = state;
    this.emit('state', state, error);
  }

  protected abstract open(): void;
  abstract close(): Promise<void>;
}
