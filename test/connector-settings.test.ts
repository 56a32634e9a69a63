// A frontend's connectorConfig: defaults applied in one place, wrong and unknown fields named.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CONNECTOR_DEFAULTS, connectorSettings } from '../src/config/connector.ts';
import { ConfigError } from '../src/config/errors.ts';

const where = { env: 'production', serverId: 'connector-1' };

describe('connector settings', () => {
  test('an empty connectorConfig is the defaults; the idle timeout is 2 heartbeats unless given', () => {
    assert.deepEqual(connectorSettings({}, where), {
      heartbeatSeconds: CONNECTOR_DEFAULTS.heartbeat,
      idleTimeout: CONNECTOR_DEFAULTS.heartbeat * 2 * 1000,
      useDict: true,
      maxPackageSize: 65536,
      handshakeTimeout: 10_000,
      maxHeaderSize: 8 * 1024,
      maxBufferedBytes: 4 * 1024 * 1024,
      closeTimeout: 1_000,
    });
    assert.equal(connectorSettings({ heartbeat: 3 }, where).idleTimeout, 6_000);
    assert.equal(connectorSettings({ heartbeat: 3, heartbeatTimeout: 4.5 }, where).idleTimeout, 4_500);
    assert.equal(connectorSettings({ heartbeat: 0 }, where).heartbeatSeconds, 0, 'no heartbeats is allowed');
  });

  test('hooks pass through; the given numbers and flags win', () => {
    const settings = connectorSettings({ useDict: false, maxPackageSize: 1024, handshakeTimeout: 500, maxBufferedBytes: 2048, checkClient: () => true }, where);
    assert.deepEqual([settings.useDict, settings.maxPackageSize, settings.handshakeTimeout, settings.maxBufferedBytes], [false, 1024, 500, 2048]);
  });

  test('a wrong value or an unknown field is a ConfigError naming the field', () => {
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ heartbeat: -1 }, 'heartbeat', /expected a number of seconds, 0 or more, got -1/],
      [{ heartbeat: '3' }, 'heartbeat', /got "3"/],
      [{ maxPackageSize: 0 }, 'maxPackageSize', /expected a positive number, got 0/],
      [{ handshakeTimeout: Number.NaN }, 'handshakeTimeout', /expected a positive number, got null/],
      [{ maxHeaderSize: 8192.5 }, 'maxHeaderSize', /expected a positive integer, got 8192.5/],
      [{ useDict: 'yes' }, 'useDict', /expected true or false, got "yes"/],
      [{ checkClient: true }, 'checkClient', /expected a function, got boolean/],
      [{ useProtobuf: true }, 'useProtobuf', /unknown field \(known: heartbeat,/],
    ];
    for (const [config, field, message] of cases) {
      assert.throws(
        () => connectorSettings(config, where),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.equal(error.field, field);
          assert.equal(error.serverId, 'connector-1');
          assert.match(error.message, message);
          assert.match(error.message, /^app\.set\('connectorConfig'\) \[production\] server "connector-1": field /);
          return true;
        },
      );
    }
  });
});
