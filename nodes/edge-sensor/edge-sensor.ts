/**
 * edge-sensor: the suite's input node. One node, three sources (MQTT subscription, Modbus polling, simulator),
 * all producing the message contract {topic, payload, ts, quality}.
 */
import type { Node, NodeAPI, NodeMessageInFlow } from 'node-red';
import { guarded, nodeKit } from '../kit/node-kit';
import { SettingsError } from '../core/shared/fields';
import { sensorProblems } from '../core/sensor/sensor-settings';
import { SensorDef, SensorContext, Source, SendFn, DoneFn } from './source';
import { createMqttSource } from './mqtt-source';
import { createModbusSource } from './modbus-source';
import { createSimulatorSource } from './simulator-source';

const factories = {
  mqtt: createMqttSource,
  modbus: createModbusSource,
  simulator: createSimulatorSource,
};

export = function register(RED: NodeAPI): void {
  function EdgeSensor(this: Node, def: SensorDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const kit = nodeKit(RED, node, 'edge-sensor');
    const throttle = kit.status;
    const ctx: SensorContext = {
      RED,
      node,
      def,
      status: throttle,
      t: kit.t,
    };

    let source: Source | undefined;
    const factory = factories[(def.source ?? 'simulator') as keyof typeof factories];
    try {
      const problems = sensorProblems(def);
      if (problems.length) throw new SettingsError(problems);
      const created = factory(ctx);
      created.start();
      source = created;
    } catch (err) {
      // a configuration problem: reported once at deploy, in words, and shown on the node
      source = undefined;
      kit.configError([kit.describe(err)]);
    }

    function onInput(msg: NodeMessageInFlow, send: SendFn, done: DoneFn): void {
      if (!source) return kit.notConfigured(done);
      source.trigger(msg, send, done);
    }

    function onClose(removed: boolean, done: () => void): void {
      throttle.stop();
      const stopping = source ? source.stop(Boolean(removed)) : Promise.resolve();
      stopping.then(() => done(), () => done());
    }

    node.on('input', guarded(kit, onInput));
    node.on('close', onClose);
  }

  RED.nodes.registerType('edge-sensor', EdgeSensor);
};
