/** The route dictionary (route ↔ code) the server gives in its handshake, cached across reconnects. */
import type { HandshakeReply } from './handshake.ts';
import { isRecord } from './wire.ts';

export class RouteDictionary {
  private routeToCode = new Map<string, number>();
  private codeToRoute = new Map<number, string>();
  private cachedDict: Record<string, number> | undefined;
  private cachedVersion: string | number | undefined;

  /** The cached dictionary's version, sent in every handshake so the server can leave it out. */
  get version(): string | number | undefined {
    return this.cachedVersion;
  }

  /** Route → code; empty when the server uses no dictionary. */
  toRecord(): Record<string, number> {
    return Object.fromEntries(this.routeToCode);
  }

  codeOf(route: string): number | undefined {
    return this.routeToCode.get(route);
  }

  routeOf(code: number): string | undefined {
    return this.codeToRoute.get(code);
  }

  /** Takes the server's dictionary, or keeps the cached one when the server left it out as current. */
  use(sys: NonNullable<HandshakeReply['sys']>): void {
    const dict = isRecord(sys.dict) ? sys.dict : isRecord(sys.routeToCode) ? sys.routeToCode : undefined;
    if (dict) {
      this.cachedDict = dict;
      this.cachedVersion = sys.dictVersion;
    } else if (sys.useDict === false || (sys.dictVersion !== undefined && sys.dictVersion !== this.cachedVersion)) {
      this.cachedDict = undefined;
      this.cachedVersion = undefined;
    }
    this.routeToCode = new Map();
    this.codeToRoute = new Map();
    for (const [route, code] of Object.entries(this.cachedDict ?? {})) {
      if (typeof code !== 'number') continue;
      this.routeToCode.set(route, code);
      this.codeToRoute.set(code, route);
    }
  }
}
