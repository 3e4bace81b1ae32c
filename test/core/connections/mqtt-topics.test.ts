import assert from 'node:assert/strict';
import { publishTopicProblem, redactUrl, topicMatches, validateTopicFilter, validateMqttOptions } from '../../../nodes/core/connections/mqtt-connection';

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
    assert.deepEqual(validateTopicFilter('a/#/b'), { key: 'filterHash', vars: { filter: 'a/#/b' } });
    assert.deepEqual(validateTopicFilter('a/b+'), { key: 'filterPlus', vars: { filter: 'a/b+' } });
    assert.deepEqual(validateTopicFilter(''), { key: 'filterEmpty' });
  });

  it('reports unusable broker settings in words', () => {
    assert.deepEqual(validateMqttOptions({ url: 'mqtt://h:1883', protocolVersion: 4, keepalive: 60 }), []);
    assert.deepEqual(validateMqttOptions({ url: 'http://h', protocolVersion: 3 as never, keepalive: -1, will: { topic: 'a/#', payload: '', qos: 0, retain: false } }), [
      { key: 'scheme', vars: { scheme: 'http://' } }, { key: 'protocolVersion' }, { key: 'keepalive' }, { key: 'willWildcard' },
    ]);
    assert.deepEqual(validateMqttOptions({ url: 'not a url', protocolVersion: 4, keepalive: 1 })[0], { key: 'url', vars: { url: 'not a url' } });
  });

  it('refuses a password in the broker URL and never shows one', () => {
    const problems = validateMqttOptions({ url: 'mqtt://jane:s3cret@broker.example:1883', protocolVersion: 4, keepalive: 60 });
    assert.deepEqual(problems, [{ key: 'urlCredentials' }], 'the problem quotes nothing of the URL');
    assert.deepEqual(validateMqttOptions({ url: 'mqtt://jane@broker', protocolVersion: 4, keepalive: 60 }), [{ key: 'urlCredentials' }]);
    assert.equal(redactUrl('mqtts://jane:s3cret@broker:8883/path'), 'mqtts://***@broker:8883/path');
    assert.equal(redactUrl('mqtt://broker:1883'), 'mqtt://broker:1883');
    assert.doesNotMatch(JSON.stringify(validateMqttOptions({ url: 'mqtt://a:b@ not a url', protocolVersion: 4, keepalive: 1 })), /a:b@/);
  });

  it('names what stops a topic from being published', () => {
    const cases: Array<[unknown, string | undefined]> = [
      ['plant/pump7/vib', undefined], ['$aws/rules/x', undefined], ['', 'topicEmpty'], [undefined, 'topicEmpty'], [5, 'topicEmpty'],
      ['a/+/b', 'topicWildcard'], ['a/#', 'topicWildcard'], ['a\u0000b', 'topicNul'], ['x'.repeat(65_535), undefined],
      ['x'.repeat(65_536), 'topicLong'], ['\u00e9'.repeat(32_768), 'topicLong'], ['\u00e9'.repeat(32_767), undefined],
    ];
    for (const [topic, problem] of cases) assert.equal(publishTopicProblem(topic), problem, String(topic).slice(0, 20));
    assert.equal(publishTopicProblem('$SYS/x', false), 'topicSystem');
  });
});
