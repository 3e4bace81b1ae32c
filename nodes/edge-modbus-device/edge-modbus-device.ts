/**
 * edge-modbus-device (config): one Modbus TCP or RTU connection with a serialized request queue, shared by every
 * edge-sensor that polls the device (or the devices on one serial line).
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { ModbusConnection } from '../core/connections/modbus-connection';
import { ModbusDeviceDefinition, modbusDeviceSettings } from '../core/connections/modbus-settings';
import { ConnectionState } from '../core/shared/status';
import { ModbusDeviceHandle, statusFeed } from '../core/connections/config-handles';
import { problemWords, translator } from '../kit/node-kit';

type EdgeModbusDeviceNode = Node & ModbusDeviceHandle;

export = function register(RED: NodeAPI): void {
  function EdgeModbusDevice(this: EdgeModbusDeviceNode, def: NodeDef & ModbusDeviceDefinition): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const t = translator(RED, 'edge-modbus-device');
    const settings = modbusDeviceSettings(def);
    node.defaultUnitId = settings.defaultUnitId;
    // in words: every sensor on this device shows the same reason
    node.problem = settings.problems.length ? problemWords(t, settings.problems).join('; ') : undefined;
    node.connection = node.problem ? undefined : new ModbusConnection(settings.options);
    if (node.problem) node.error(t('errors.config', { problems: node.problem }));
    node.onStatus = statusFeed(node.connection, (state) => t(`state.${state}`), t('state.config'));

    function onState(state: ConnectionState, error?: string): void {
      const where = node.connection!.description;
      if (state === 'connected') node.log(t('log.connected', { device: where }));
      if (state === 'waiting') node.warn(t('log.lost', { device: where, error: error || '-' }));
    }
    node.connection?.on('state', onState);

    function onClose(_removed: boolean, done: () => void): void {
      const closing = node.connection?.close() ?? Promise.resolve();
      closing.then(() => done(), () => done());
    }
    node.on('close', onClose);
  }

  RED.nodes.registerType('edge-modbus-device', EdgeModbusDevice);
};
