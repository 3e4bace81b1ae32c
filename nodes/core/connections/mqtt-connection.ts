/**
 * One shared MQTT connection (mqtt.js) per broker configuration, used by every node that names it.
 *
 * Users register and deregister (as in Node-RED's core mqtt broker node): the first user opens the connection,
 * the last one to leave closes it. Subscriptions are reference-counted per topic filter and restored after a
 * reconnect when the broker did not keep the session. Reconnects use exponential backoff with jitter instead of
 * mqtt.js's fixed period, so a fleet of gateways does not hammer a broker that just came back.
 */
import mqtt, { IClientOptions, IClientPublishOptions, IPublishPacket, MqttClient } from 'mqtt';
import { BackoffOptions, DEFAULT_MQTT_BACKOFF } from './backoff';
import { errorText } from '../shared/errors';
import { SharedConnection } from './shared-connection';
import { publishTopicProblem, TopicError, topicMatcher } from './mqtt-topics';

export * from './mqtt-topics';

export type QoS = 0 | 1 | 2;

export interface MqttWill {
  topic: string;
  payload: string;
  qos: QoS;
  retain: boolean;
}

export interface MqttConnectionOptions {
  url: string;
  clientId?: string;
  protocolVersion: 4 | 5;
  clean: boolean;
  /**
   * MQTT 5 session expiry interval, seconds (0 = session ends with the connection). With a persistent session and
   * no value, one day: the broker keeps what arrives while the gateway restarts or is offline for a while.
   */
  sessionExpiry?: number;
  keepalive: number;
  username?: string;
  password?: string;
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized: boolean;
  servername?: string;
  will?: MqttWill;
  connectTimeoutMs?: number;
  backoff?: Partial<BackoffOptions>;
  /**
   * MQTT 5: the largest packet the broker may send us (CONNECT's maximum packet size), so an oversized message is
   * dropped at the broker instead of being received whole into memory and refused here.
   */
  maxPacketBytes?: number;
}

export type MessageHandler = (topic: string, payload: Buffer, packet: IPublishPacket) => void;

interface Subscription {
  qos: QoS;
  matches: (topic: string) => boolean;
  handlers: Set<MessageHandler>;
}

export const DEFAULT_SESSION_EXPIRY_S = 86_400;

export class MqttConnection extends SharedConnection {
  private client: MqttClient | undefined;
  private readonly subscriptions = new Map<string, Subscription>();
  /** filters to drop at the broker, sent at the next connect when the link is down now */
  private readonly pendingUnsubscribes = new Set<string>();
  /** filters the broker acknowledged since the last connect */
  private readonly acknowledged = new Set<string>();
  readonly clientId: string;
  readonly stats = { connects: 0, messages: 0, reconnectAttempts: 0 };

  constructor(readonly options: MqttConnectionOptions) {
    super({ ...DEFAULT_MQTT_BACKOFF, ...options.backoff });
    this.clientId = options.clientId || `edge-${Math.random().toString(16).slice(2, 10)}`;
  }

  /** mqtt.js options from ours. */
  clientOptions(): IClientOptions {
    const o = this.options;
    const opts: IClientOptions = {
      clientId: this.clientId,
      protocolVersion: o.protocolVersion,
      clean: o.clean,
      keepalive: o.keepalive,
      connectTimeout: o.connectTimeoutMs ?? 10_000,
      // Reconnects are ours (backoff with jitter); see scheduleReconnect.
      reconnectPeriod: 0,
      // Restored by us after each connect that lost the session, for 3.1.1 as well as 5.
      resubscribe: false,
      rejectUnauthorized: o.rejectUnauthorized,
    };
    if (o.username) opts.username = o.username;
    if (o.password) opts.password = o.password;
    if (o.ca) opts.ca = o.ca;
    if (o.cert) opts.cert = o.cert;
    if (o.key) opts.key = o.key;
    if (o.servername) opts.servername = o.servername;
    if (o.protocolVersion === 5) {
      const expiry = o.sessionExpiry ?? (o.clean ? undefined : DEFAULT_SESSION_EXPIRY_S);
      opts.properties = {};
      if (expiry !== undefined) opts.properties.sessionExpiryInterval = expiry;
      if (o.maxPacketBytes) opts.properties.maximumPacketSize = o.maxPacketBytes;
    }
    if (o.will?.topic) {
      opts.will = { topic: o.will.topic, payload: Buffer.from(o.will.payload ?? ''), qos: o.will.qos, retain: o.will.retain };
    }
    return opts;
  }

  protected open(): void {
    this.setState('connecting');
    let client: MqttClient;
    try {
      client = mqtt.connect(this.options.url, this.clientOptions());
    } catch (err) {
      // e.g. an unsupported protocol: retrying will not help, but keep the state machine uniform
      this.scheduleReconnect(errorText(err));
      return;
    }
    this.client = client;
    client.on('connect', () => {
      this.stats.connects++;
      this.acknowledged.clear();
      this.linkUp();
      // SUBSCRIBE is idempotent: sending every filter on each connect also covers filters added while the link
      // was down and a broker that kept only part of a persistent session
      this.syncSubscriptions();
    });
    client.on('message', (topic, payload, packet) => this.dispatch(topic, payload, packet));
    client.on('error', (err) => {
      this.lastError = errorText(err);
      this.emit('clientError', err);
    });
    client.on('close', () => {
      this.acknowledged.clear();
      if (this.stopped || this.client !== client) return;
      this.scheduleReconnect(this.lastError || 'connection closed');
    });
  }

  protected reconnect(): void {
    this.stats.reconnectAttempts++;
    const client = this.client;
    if (!client) return this.open();
    this.setState('connecting');
    // Keep the stores: QoS 1/2 messages in flight are re-sent on the new connection.
    client.reconnect({ incomingStore: client.incomingStore, outgoingStore: client.outgoingStore });
  }

  private dispatch(topic: string, payload: Buffer, packet: IPublishPacket): void {
    this.stats.messages++;
    for (const sub of this.subscriptions.values()) {
      if (!sub.matches(topic)) continue;
      for (const handler of sub.handlers) {
        try {
          handler(topic, payload, packet);
        } catch (err) {
          this.emit('handlerError', err);
        }
      }
    }
  }

  private syncSubscriptions(): void {
    for (const filter of this.pendingUnsubscribes) {
      if (!this.subscriptions.has(filter)) this.client?.unsubscribe(filter);
    }
    this.pendingUnsubscribes.clear();
    for (const [filter, sub] of this.subscriptions) this.sendSubscribe(filter, sub.qos);
  }

  private sendSubscribe(filter: string, qos: QoS): void {
    const client = this.client;
    client?.subscribe(filter, { qos }, (err, granted) => {
      const refused = granted?.find((g) => g.qos === 128);
      if (err || refused) this.emit('subscribeError', filter, err ? errorText(err) : 'refused by the broker');
      else if (client === this.client && this.connected) {
        this.acknowledged.add(filter);
        this.emit('subscribed', filter);
      }
    });
  }

  /** The broker acknowledged this filter on the current connection: messages published from now on arrive. */
  isSubscribed(filter: string): boolean {
    return this.acknowledged.has(filter);
  }

  /** Every filter in use is acknowledged on the current connection. */
  get allSubscribed(): boolean {
    for (const filter of this.subscriptions.keys()) if (!this.acknowledged.has(filter)) return false;
    return this.connected;
  }

  /**
   * Adds a handler for a topic filter; returns the function that removes it. The broker sees one SUBSCRIBE per
   * filter however many nodes use it, and the highest QoS any of them asked for.
   *
   * On removal the broker subscription is dropped only when the node was deleted (`removed`) or the session is
   * clean: with a persistent session, a redeploy or restart keeps it, so the broker queues what arrives meanwhile
   * (as Node-RED's core mqtt node does).
   */
  subscribe(filter: string, qos: QoS, handler: MessageHandler): (removed: boolean) => void {
    let sub = this.subscriptions.get(filter);
    if (!sub) {
      sub = { qos, matches: topicMatcher(filter), handlers: new Set() };
      this.subscriptions.set(filter, sub);
      if (this.connected) this.sendSubscribe(filter, qos);
    } else if (qos > sub.qos) {
      sub.qos = qos;
      if (this.connected) this.sendSubscribe(filter, qos);
    }
    sub.handlers.add(handler);
    this.pendingUnsubscribes.delete(filter);
    return (removed) => {
      const current = this.subscriptions.get(filter);
      if (!current) return;
      current.handlers.delete(handler);
      if (current.handlers.size === 0) {
        this.subscriptions.delete(filter);
        this.acknowledged.delete(filter);
        if (!removed && !this.options.clean) return;
        if (this.connected) this.client?.unsubscribe(filter);
        else this.pendingUnsubscribes.add(filter);
      }
    };
  }

  /** Publishes; resolves when the broker acknowledged it (QoS 1/2) or it was written (QoS 0). */
  publish(topic: string, payload: string | Buffer, options: IClientPublishOptions = {}): Promise<void> {
    const client = this.client;
    if (!client || this._state === 'closed') return Promise.reject(new Error('MQTT connection is closed'));
    // a bad topic would make the broker drop the connection, and mqtt.js resend it on every reconnect: the
    // connection, shared by every node on this broker, would never carry anything again
    const problem = publishTopicProblem(topic);
    if (problem) return Promise.reject(new TopicError(problem));
    return new Promise((resolve, reject) => {
      client.publish(topic, payload, options, (err) => (err ? reject(err) : resolve()));
    });
  }

  protected async shutdown(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    await new Promise<void>((resolve) => {
      // A clean DISCONNECT when connected (so the broker does not send the will); forced otherwise, and forced
      // anyway when the DISCONNECT does not go out in time (a half-open link), so no client is left running.
      client.end(!client.connected, {}, () => resolve());
      setTimeout(() => client.end(true, {}, () => resolve()), 2000).unref();
    });
  }
}
