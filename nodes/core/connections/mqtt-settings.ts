/**
 * edge-mqtt-broker's settings from the editor's fields (strings) and its credentials: the connection's options and
 * every problem named by a message key, so the broker and each node on it report it in the user's words.
 */
import type { MqttConnectionOptions, QoS } from './mqtt-connection';
import { DEFAULT_MQTT_BACKOFF } from './backoff';
import { validateMqttOptions } from './mqtt-topics';
import { Problem, toInt, toNumber } from '../shared/fields';

export interface BrokerDefinition {
  url?: string;
  clientId?: string;
  protocolVersion?: string;
  clean?: boolean;
  sessionExpiry?: string;
  maxPacketKb?: string;
  keepalive?: string;
  rejectUnauthorized?: boolean;
  servername?: string;
  willTopic?: string;
  willPayload?: string;
  willQos?: string;
  willRetain?: boolean;
  /** the first reconnect delay and the longest, seconds */
  reconnectMinS?: string;
  reconnectMaxS?: string;
}

/** Node-RED credentials: never in the flow file. */
export interface BrokerCredentials {
  user?: string;
  password?: string;
  ca?: string;
  cert?: string;
  key?: string;
}

export function brokerSettings(def: BrokerDefinition, creds: BrokerCredentials): { options: MqttConnectionOptions; problems: Problem[] } {
  const protocolVersion = String(def.protocolVersion) === '5' ? 5 : String(def.protocolVersion) === '4' || !def.protocolVersion ? 4 : NaN;
  const options: MqttConnectionOptions = {
    url: (def.url ?? '').trim(),
    clientId: (def.clientId ?? '').trim() || undefined,
    protocolVersion: protocolVersion as 4 | 5,
    clean: def.clean !== false,
    keepalive: toInt(def.keepalive, 60),
    rejectUnauthorized: def.rejectUnauthorized !== false,
    username: creds.user || undefined,
    password: creds.password || undefined,
    ca: creds.ca || undefined,
    cert: creds.cert || undefined,
    key: creds.key || undefined,
    servername: def.servername || undefined,
    maxPacketBytes: toInt(def.maxPacketKb, 1024) * 1024,
  };
  const initialMs = Math.round(toNumber(def.reconnectMinS, DEFAULT_MQTT_BACKOFF.initialMs / 1000) * 1000);
  const maxMs = Math.round(toNumber(def.reconnectMaxS, DEFAULT_MQTT_BACKOFF.maxMs / 1000) * 1000);
  options.backoff = { ...DEFAULT_MQTT_BACKOFF, initialMs, maxMs };
  if (def.sessionExpiry !== undefined && def.sessionExpiry !== '') options.sessionExpiry = toInt(def.sessionExpiry, NaN);
  if (def.willTopic) {
    options.will = {
      topic: def.willTopic,
      payload: def.willPayload ?? '',
      qos: Math.min(2, Math.max(0, toInt(def.willQos, 0))) as QoS,
      retain: Boolean(def.willRetain),
    };
  }
  const problems = validateMqttOptions(options);
  // which bound is at fault, for the editor to mark that field
  if (!(initialMs >= 100 && initialMs <= 3_600_000)) problems.push({ key: 'reconnect', vars: { bound: 'first' } });
  else if (!(maxMs >= initialMs && maxMs <= 3_600_000)) problems.push({ key: 'reconnect', vars: { bound: 'longest' } });
  return { options, problems };
}
