/**
 * edge-mqtt-broker (config): owns one shared MQTT connection; nodes that use it register, subscribe and follow
 * its state through `onStatus`.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { MqttConnection, redactUrl } from '../core/connections/mqtt-connection';
import { BrokerCredentials, BrokerDefinition, brokerSettings } from '../core/connections/mqtt-settings';
import { problemWords, translator } from '../kit/node-kit';
import { ConnectionState } from '../core/shared/status';
import { MqttBrokerHandle, statusFeed } from '../core/connections/config-handles';
import { errorText } from '../core/shared/errors';

type EdgeMqttBrokerNode = Node<BrokerCredentials> & MqttBrokerHandle;

export = function register(RED: NodeAPI): void {
  function EdgeMqttBroker(this: EdgeMqttBrokerNode, def: NodeDef & BrokerDefinition): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const t = translator(RED, 'edge-mqtt-broker');
    const { options, problems } = brokerSettings(def, node.credentials ?? {});
    // in words: every node on this broker shows the same reason
    node.problem = problems.length ? problemWords(t, problems).join('; ') : undefined;
    node.connection = node.problem ? undefined : new MqttConnection(options);
    if (node.problem) node.error(t('errors.config', { problems: node.problem }));
    node.onStatus = statusFeed(node.connection, (state) => t(`state.${state}`), t('state.config'));

    const connection = node.connection;
    if (connection) {
      connection.on('state', (state: ConnectionState, error?: string) => {
        if (state === 'connected') node.log(t('log.connected', { url: redactUrl(options.url) }));
        if (state === 'waiting') node.warn(t('log.lost', { url: redactUrl(options.url), error: error || '-' }));
      });
      connection.on('subscribeError', (filter: string, reason: string) =>
        node.error(t('errors.subscribe', { topic: filter, reason })));
      // mqtt.js reports errors as events; without a listener Node would treat them as fatal
      connection.on('clientError', () => undefined);
      connection.on('handlerError', (err: unknown) => node.error(t('errors.handler', { error: errorText(err) })));
    }

    function onClose(_removed: boolean, done: () => void): void {
      const closing = node.connection?.close() ?? Promise.resolve();
      closing.then(() => done(), () => done());
    }
    node.on('close', onClose);
  }

  RED.nodes.registerType<EdgeMqttBrokerNode, NodeDef & BrokerDefinition, unknown, BrokerCredentials>('edge-mqtt-broker', EdgeMqttBroker, {
    credentials: {
      user: { type: 'text' },
      password: { type: 'password' },
      ca: { type: 'text' },
      cert: { type: 'text' },
      key: { type: 'password' },
    },
  });
};
