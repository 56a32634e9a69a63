/** The field rules the config schemas share: subject tokens, ports, milliseconds, flags. */
import { z } from 'zod';

// Each `error` says what was expected; problemOf (issues.ts) adds what was found, so every message
// reads "expected X, got Y". Issues raised by hand (code "custom") are complete as written.

/** NATS subject tokens: ids, server types, prefix and cluster all end up inside subjects. */
export const TOKEN = /^[A-Za-z0-9_-]+$/;
export const TOKEN_RULE = 'letters, digits, "_" or "-" only';

export const expected = (what: string) => ({ error: `expected ${what}` });

export const nonEmptyString = () => z.string(expected('a non-empty string')).min(1, expected('a non-empty string'));

export const subjectToken = (why: string) => {
  const e = expected(`${TOKEN_RULE} (${why})`);
  return z.string(e).regex(TOKEN, e);
};

export const port = () => {
  const e = expected('an integer port (1-65535)');
  return z.int(e).min(1, e).max(65535, e);
};

/** A client port may be 0: the OS picks a free one and the server announces what it got (tests). */
export const clientPort = () => {
  const e = expected('an integer port (0-65535; 0 = any free port)');
  return z.int(e).min(0, e).max(65535, e);
};

export const positiveInt = (what: string) => {
  const e = expected(what);
  return z.int(e).positive(e);
};

export const milliseconds = () => positiveInt('a positive integer number of milliseconds');

const flagError = expected('true or false');
/** Pomelo writes booleans both ways (`true` and `"true"`). */
export const flag = () =>
  z
    .union([z.boolean(flagError), z.enum(['true', 'false'], flagError)], flagError)
    .transform((v) => v === true || v === 'true');

