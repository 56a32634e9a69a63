import { stableHash, type Application } from 'shaddock';

/** chatofpomelo's gate: tells a client which connector to use, by hashing its uid. */
export default class GateHandler {
  constructor(private readonly app: Application) {}

  async queryEntry(msg: { uid?: string }): Promise<{ code: 200; host: string; port: number } | { code: 500 }> {
    const connectors = this.app.getServersByType('connector');
    if (!msg.uid || connectors.length === 0) return { code: 500 };
    const connector = connectors[stableHash(msg.uid) % connectors.length]!;
    return { code: 200, host: connector.clientHost ?? connector.host, port: connector.clientPort! };
  }
}
