/**
 * What the config nodes offer to the nodes that use them, so that a client node depends on this contract and not
 * on another node's module.
 */
import type { MqttConnection } from './mqtt-connection';
import type { ModbusConnection } from './modbus-connection';
import { ConnectionState, connectionBadge, errorBadge, StatusBadge } from '../shared/status';

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
