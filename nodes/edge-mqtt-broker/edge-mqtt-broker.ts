/**
 * edge-mqtt-broker (config): owns one shared MQTT connection; nodes that use it register, subscribe and follow
 * its state through `onStatus`.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { MqttConnection, MqttConnectionOptions, redactUrl, validateMqttOptions, QoS } from '../core/connections/mqtt-connection';
import { ConnectionState } from '../core/shared/status';
import { MqttBrokerHandle, statusFeed } from '../core/connections/config-handles';
import { toInt } from '../core/shared/fields';
import { errorText } from '../core/shared/errors';

interface BrokerDef extends NodeDef {
  url: string;
  clientId: string;
  protocolVersion: string;
  clean: boolean;
  sessionExpiry: string;
  maxPacketKb: string;
  keepalive: string;
  rejectUnauthorized: boolean;
  servername: string;
  willTopic: string;
  willPayload: string;
  willQos: string;
  willRetain: boolean;
}

interface BrokerCredentials {
  user?: string;
  password?: string;
  ca?: string;
  cert?: string;
  key?: string;
}

type EdgeMqttBrokerNode = Node<BrokerCredentials> & MqttBrokerHandle;

function brokerOptions(def: BrokerDef, creds: BrokerCredentials): MqttConnectionOptions {
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
  };
  if (def.sessionExpiry !== undefined && def.sessionExpiry !== '') options.sessionExpiry = toInt(def.sessionExpiry, NaN);
  options.maxPacketBytes = toInt(def.maxPacketKb, 1024) * 1024;
  if (def.willTopic) {
    options.will = {
      topic: def.willTopic,
      payload: def.willPayload ?? '',
      qos: Math.min(2, Math.max(0, toInt(def.willQos, 0))) as QoS,
      retain: Boolean(def.willRetain),
    };
  }
  return options;
}

export = function register(RED: NodeAPI): void {
  function EdgeMqttBroker(this: EdgeMqttBrokerNode, def: BrokerDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const options = brokerOptions(def, node.credentials ?? {});
    const problems = validateMqttOptions(options);
    node.problem = problems.length ? problems.join('; ') : undefined;
    node.connection = node.problem ? undefined : new MqttConnection(options);
    if (node.problem) node.error(RED._('edge-mqtt-broker.errors.config', { problems: node.problem }));

    node.onStatus = statusFeed(
      node.connection,
      (state) => RED._(`edge-mqtt-broker.state.${state}`),
      RED._('edge-mqtt-broker.state.config'),
    );

    const connection = node.connection;
    if (connection) {
      connection.on('state', (state: ConnectionState, error?: string) => {
        if (state === 'connected') node.log(RED._('edge-mqtt-broker.log.connected', { url: redactUrl(options.url) }));
        if (state === 'waiting') node.warn(RED._('edge-mqtt-broker.log.lost', { url: redactUrl(options.url), error: error || '-' }));
      });
      connection.on('subscribeError', (filter: string, reason: string) =>
        node.error(RED._('edge-mqtt-broker.errors.subscribe', { topic: filter, reason })));
      // mqtt.js reports errors as events; without a listener Node would treat them as fatal
      connection.on('clientError', () => undefined);
      connection.on('handlerError', (err: unknown) => node.error(RED._('edge-mqtt-broker.errors.handler', { error: errorText(err) })));
    }

    node.on('close', (_removed: boolean, done: () => void) => {
      const closing = node.connection?.close() ?? Promise.resolve();
      closing.then(() => done(), () => done());
    });
  }

  RED.nodes.registerType<EdgeMqttBrokerNode, BrokerDef, unknown, BrokerCredentials>('edge-mqtt-broker', EdgeMqttBroker, {
    credentials: {
      user: { type: 'text' },
      password: { type: 'password' },
      ca: { type: 'text' },
      cert: { type: 'text' },
      key: { type: 'password' },
    },
  });
};
