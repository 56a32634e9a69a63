import type { Connection } from './connection.ts';
import type { RouteDictionary } from './dictionary.ts';
import { json, text } from './json.ts';
import type { ConnectorConfig, HandshakeRequest } from './types.ts';

const CODE_OK = 200;
const CODE_BAD_HANDSHAKE = 500;
const CODE_OLD_CLIENT = 501;

/**
 * Pomelo's handshake: checks a client's handshake body (JSON with `sys`, the app's `checkClient`
 * and `handshake`) and answers with the heartbeat interval and, when the client lacks it, the
 * route dictionary.
 */
export class Handshake {
  private readonly answers: { withDict?: Uint8Array; withoutDict?: Uint8Array } = {};

  constructor(
    private readonly config: ConnectorConfig,
    private readonly dictionary: RouteDictionary,
    private readonly heartbeatSeconds: number,
    private readonly useDict: boolean,
  ) {}

  /** Tells the session machine the outcome: at once, unless the app's own handshake function returns a promise. */
  verify(connection: Connection, body: Uint8Array): void {
    const { config } = this;
    const reject = (code: number, reason: string): void => {
      connection.machine.send({ type: 'REJECTED', response: json({ code }), reason });
    };
    let request: HandshakeRequest;
    try {
      request = JSON.parse(text(body)) as HandshakeRequest;
    } catch (error) {
      return reject(CODE_BAD_HANDSHAKE, `handshake is not JSON: ${(error as Error).message}`);
    }
    if (!request || typeof request !== 'object' || !request.sys || typeof request.sys !== 'object') {
      return reject(CODE_BAD_HANDSHAKE, 'handshake without "sys"');
    }
    if (config.checkClient && !config.checkClient(String(request.sys.type ?? ''), String(request.sys.version ?? ''))) {
      return reject(CODE_OLD_CLIENT, `client ${request.sys.type} ${request.sys.version} refused by checkClient`);
    }
    const hasDict = request.sys.dictVersion === this.dictionary.version;
    const accept = (user: unknown): void => connection.machine.send({ type: 'ACCEPTED', response: this.answer(hasDict, user) });
    if (!config.handshake) return accept(undefined);
    const refused = (error: unknown): void => reject(CODE_BAD_HANDSHAKE, `handshake refused: ${(error as Error)?.message ?? String(error)}`);
    let user: unknown;
    try {
      user = config.handshake(request, connection.session);
    } catch (error) {
      return refused(error);
    }
    if (user instanceof Promise) user.then(accept, refused);
    else accept(user);
  }

  /** The code-200 answer; without a `user` part it is the same bytes for every client, made once. */
  private answer(clientHasDict: boolean, user: unknown): Uint8Array {
    if (user === undefined) {
      const cached = clientHasDict ? this.answers.withoutDict : this.answers.withDict;
      if (cached) return cached;
    }
    const sys: Record<string, unknown> = { heartbeat: this.heartbeatSeconds };
    if (this.useDict) {
      const dictionary = this.dictionary;
      if (!clientHasDict) {
        sys.dict = dictionary.routeToCode;
        sys.routeToCode = dictionary.routeToCode;
        sys.codeToRoute = dictionary.codeToRoute;
        sys.dictVersion = dictionary.version;
      }
      sys.useDict = true;
    }
    const answer = json(user === undefined ? { code: CODE_OK, sys } : { code: CODE_OK, sys, user });
    if (user === undefined) this.answers[clientHasDict ? 'withoutDict' : 'withDict'] = answer;
    return answer;
  }
}
