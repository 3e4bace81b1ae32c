/**
 * What the config nodes offer to the nodes that use them, so that a client node depends on this contract and not
 * on another node's module.
 */
import path from 'node:path';
import type { MqttConnection } from './mqtt-connection';
import type { ModbusConnection } from './modbus-connection';
import { ConnectionState, connectionBadge, errorBadge, StatusBadge } from './status';

export interface SharedConnectionHandle<C> {
  /** undefined when the configuration is invalid (the reason is in `problem`) */
  connection: C | undefined;
  problem: string | undefined;
  /** Calls back with the badge every client shows now and on each change; returns the unsubscribe. */
  onStatus(listener: (badge: StatusBadge) => void): () => void;
}

export type MqttBrokerHandle = SharedConnectionHandle<MqttConnection>;

export interface ModbusDeviceHandle extends SharedConnectionHandle<ModbusConnection> {
  defaultUnitId: number;
}

/**
 * Whole number from a config field (editor fields arrive as strings); "1e5" is 100000, and anything that is not a
 * whole number as a whole ("12abc", "1.5") falls back, never to a part of it.
 */
export function toInt(v: unknown, fallback: number): number {
  const text = String(v ?? '').trim();
  if (typeof v !== 'number' && text === '') return fallback;
  const n = typeof v === 'number' ? v : Number(text);
  return Number.isInteger(n) ? n : fallback;
}

/** Number from a config field; NaN when it is not one, so validation can name it. */
export function toNumber(v: unknown, fallback: number): number {
  if (v === undefined || v === null || String(v).trim() === '') return fallback;
  const n = Number(v);
  return Number.isFinite(n) ? n : NaN;
}

interface StatefulConnection {
  readonly state: ConnectionState;
  on(event: 'state', listener: () => void): unknown;
  off(event: 'state', listener: () => void): unknown;
}

/**
 * The `onStatus` of a config node: every client gets the current badge at once and again on each state change
 * (the status fan-out). Without a connection (bad configuration) the badge is a fixed error.
 */
export function statusFeed(
  connection: StatefulConnection | undefined,
  label: (state: ConnectionState) => string,
  configErrorText: string,
): (listener: (badge: StatusBadge) => void) => () => void {
  const badge = (): StatusBadge => (connection ? connectionBadge(connection.state, label) : errorBadge(configErrorText));
  return (listener) => {
    listener(badge());
    if (!connection) return () => undefined;
    const onState = () => listener(badge());
    connection.on('state', onState);
    return () => connection.off('state', onState);
  };
}

export interface StateSettings {
  userDir?: string;
  edgeIntelligenceStateDir?: string;
}

/** Where a node kind keeps its state: <edgeIntelligenceStateDir, else userDir/edge-intelligence>/<kind>. */
export function stateDir(settings: StateSettings, kind: string): string {
  return path.join(settings.edgeIntelligenceStateDir ?? path.join(settings.userDir ?? process.cwd(), 'edge-intelligence'), kind);
}
