/**
 * Values a user could type that cannot work, with the words they must get: the editor (a red field or cell with this
 * tooltip, and a warning at Deploy) and the runtime (the same words at deploy) are both walked through this table.
 */
export interface BadValue {
  type: string;
  /** the node's property; for a list, the list */
  field: string;
  /** for a list: the cell in its first row */
  cell?: string;
  value: string;
  /** edge-sensor: the source whose fields these are */
  source?: 'mqtt' | 'modbus' | 'simulator';
  /** a value that works, for a field that starts empty and is required */
  good?: string;
  words: string;
}

export const BAD_VALUES: BadValue[] = [
  { type: 'edge-sensor', source: 'modbus', field: 'points', cell: 'address', value: 'abc', words: 'point 1 "value": address must be a whole number from 0 to 65535' },
  { type: 'edge-sensor', source: 'modbus', field: 'points', cell: 'scale', value: 'x', words: 'point 1 "value": scale must be a number' },
  { type: 'edge-sensor', source: 'modbus', field: 'points', cell: 'bit', value: '99', words: 'point 1 "value": bit must be 0 to 15' },
  { type: 'edge-sensor', source: 'simulator', field: 'channels', cell: 'base', value: 'abc', words: 'channel 1 "temperature": base must be a number' },
  { type: 'edge-modbus-device', field: 'unitId', value: '300', words: 'the unit id must be 0 to 255' },
  { type: 'edge-mqtt-broker', field: 'reconnectMaxS', value: '0.5', words: 'reconnect delays must be seconds, the first at least 0.1 and the longest no shorter than it and at most 3600' },
  { type: 'edge-modbus-device', field: 'port', value: '99999', words: 'the TCP port must be 1 to 65535' },
  { type: 'edge-sensor', source: 'mqtt', field: 'subscription', good: 'plant/+/x', value: 'plant/#/x', words: '"#" must be a whole last level of the topic (got "plant/#/x")' },
  { type: 'edge-uplink', field: 'topic', value: 'a/#', words: 'the topic cannot be published to: MQTT allows + and # only in subscriptions, and no NUL character or leading $ in a publish topic' },
  { type: 'edge-uplink', field: 'urgent', value: 'plant1/#/alarms', words: '"Send at once" must be MQTT topic filters separated by commas (+ and # only as whole levels, # last)' },
  { type: 'edge-uplink', field: 'gateway', value: 'press line 3', words: 'the gateway id must be 1 to 128 letters, digits, dots, dashes, colons or underscores (it may be a topic level)' },
  { type: 'edge-ingest', field: 'window', value: '0', words: 'the window must be 1 to 10,000,000 ids' },
  { type: 'edge-ingest', field: 'topic', value: 'edge/#/x', words: '"#" must be a whole last level of the topic (got "edge/#/x")' },
  { type: 'edge-model-update', field: 'url', good: 'http://registry.example/pump/manifest.json', value: 'not a url', words: 'the manifest URL must start with http:// or https://' },
  { type: 'edge-model-update', field: 'gateway', value: 'press line 3', words: 'the gateway id must be 1 to 128 letters, digits, dots, dashes, colons or underscores (it may be a topic level)' },
  { type: 'edge-infer', field: 'driftWatch', value: '0', words: 'the PSI watch level must be a number above 0, up to 10' },
  { type: 'edge-alarm', field: 'chatterSeconds', value: '-1', words: 'the chatter window must be above 0 seconds' },
];

/** The default rows of the lists the table edits, as the palette gives them. */
export const DEFAULT_POINT = { name: 'value', area: 'holding', address: 0, type: 'float32', order: 'ABCD' };
export const DEFAULT_CHANNEL = { name: 'temperature', waveform: 'sine', base: 60, amplitude: 5, periodS: 600, noise: 0.2, drift: 0 };
