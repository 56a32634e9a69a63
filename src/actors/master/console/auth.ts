import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The cookie a signed-in browser carries. */
export const COOKIE = 'shaddock_console';

/**
 * Who may use the console: whoever has the admin token. A browser signs in once with
 * `?token=<admin token>` and is given a cookie that holds not the token but a MAC of it, so the
 * cookie alone cannot be replayed as an admin token on NATS; a script sends
 * `Authorization: Bearer <admin token>`.
 */
export class ConsoleAuth {
  private readonly cookieValue: string;

  constructor(private readonly token: string) {
    this.cookieValue = createHmac('sha256', token).update('shaddock console session').digest('hex');
  }

  /** Whether `candidate` is the admin token (in constant time). */
  isToken(candidate: string): boolean {
    return same(candidate, this.token);
  }

  /** Whether the request carries the console's cookie or the admin token as a bearer token. */
  allows(req: IncomingMessage): boolean {
    const header = req.headers.authorization;
    if (header?.startsWith('Bearer ') && this.isToken(header.slice('Bearer '.length).trim())) return true;
    const cookie = cookiesOf(req).get(COOKIE);
    return cookie !== undefined && same(cookie, this.cookieValue);
  }

  /** The `Set-Cookie` header that signs a browser in: HttpOnly, for this console's paths only. */
  setCookie(): string {
    return `${COOKIE}=${this.cookieValue}; HttpOnly; SameSite=Strict; Path=/`;
  }
}

function same(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function cookiesOf(req: IncomingMessage): Map<string, string> {
  const found = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0) found.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  return found;
}
