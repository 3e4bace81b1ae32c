import assert from 'node:assert/strict';
import { topicMatches, validateTopicFilter, validateMqttOptions } from '../../nodes/core/mqtt-connection';

describe('core: MQTT topics and settings', () => {
  it('matches wildcards as the MQTT specification says', () => {
    const cases: Array<[string, string, boolean]> = [
      ['a/b/c', 'a/b/c', true], ['a/+/c', 'a/b/c', true], ['a/+/c', 'a/b/d', false], ['a/#', 'a', true],
      ['a/#', 'a/b/c', true], ['#', 'a/b', true], ['+', 'a/b', false], ['a/+', 'a/', true], ['+/+', '/a', true],
      ['#', '$SYS/x', false], ['+/x', '$SYS/x', false], ['$SYS/#', '$SYS/x', true], ['$share/g/a/+', 'a/b', true],
      ['a/b', 'a/b/c', false], ['a/b/c', 'a/b', false],
    ];
    for (const [filter, topic, expected] of cases) assert.equal(topicMatches(filter, topic), expected, `${filter} ~ ${topic}`);
  });

  it('refuses malformed filters', () => {
    assert.equal(validateTopicFilter('a/+/#'), undefined);
    assert.match(validateTopicFilter('a/#/b')!, /"#" must be a whole last level/);
    assert.match(validateTopicFilter('a/b+')!, /"\+" must be a whole level/);
    assert.equal(validateTopicFilter(''), 'the topic is empty');
  });

  it('reports unusable broker settings in words', () => {
    assert.deepEqual(validateMqttOptions({ url: 'mqtt://h:1883', protocolVersion: 4, keepalive: 60 }), []);
    assert.deepEqual(validateMqttOptions({ url: 'http://h', protocolVersion: 3 as never, keepalive: -1, will: { topic: 'a/#', payload: '', qos: 0, retain: false } }), [
      'broker URL must start with mqtt://, mqtts://, ws:// or wss:// (got http://)',
      'MQTT version must be 3.1.1 or 5',
      'keepalive must be 0 to 65535 seconds',
      'the last-will topic cannot contain + or #',
    ]);
    assert.match(validateMqttOptions({ url: 'not a url', protocolVersion: 4, keepalive: 1 })[0], /is not a URL/);
  });
});
