// chatofpomelo's gate: names the connector a user should use, by hashing its uid.
'use strict';
const { roomHash } = require('../../../room-hash.js');

class GateHandler {
  constructor(app) {
    this.app = app;
  }

  async queryEntry(msg) {
    const connectors = this.app.getServersByType('connector');
    if (!msg.uid || !connectors || connectors.length === 0) return { code: 500 };
    const connector = connectors[roomHash(String(msg.uid)) % connectors.length];
    return { code: 200, host: connector.clientHost || connector.host, port: connector.clientPort };
  }
}

exports.default = function (app) {
  return new GateHandler(app);
};
