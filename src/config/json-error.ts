/** The message of a JSON.parse failure, placed at a line and column of the file. */
import { errorText } from './describe.ts';

export function describeJsonError(text: string, err: unknown): string {
  const raw = errorText(err);
  // V8 appends the position and, in some messages, a copy of the input; the location we add is
  // more useful than either.
  const reason = raw
    .replace(/\s+in JSON at position \d+[\s\S]*$/, '')
    .replace(/,\s+(?:\.\.\.)?"[\s\S]*"(?:\.\.\.)? is not valid JSON$/, '');
  // Node 20 gives no position for "Unexpected token" and "Unexpected end" errors, so find it
  // ourselves when V8 did not say.
  const match = /at position (\d+)/.exec(raw);
  const offset = match ? Number(match[1]) : locateJsonError(text);
  if (offset === undefined) return `invalid JSON: ${reason}`;
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - (before.lastIndexOf('\n') + 1) + 1;
  return `invalid JSON at line ${line} column ${column}: ${reason}`;
}

/**
 * Offset of the first character at which `text` stops being JSON, or `undefined` when it is
 * valid. Only used to place an error JSON.parse has already found.
 */
function locateJsonError(text: string): number | undefined {
  let i = 0;
  const stop = (): never => {
    throw new JsonStop(i);
  };
  const space = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const string = (): void => {
    i++; // opening quote
    while (i < text.length) {
      const c = text[i] as string;
      if (c === '"') {
        i++;
        return;
      }
      if (c === '\\') {
        const e = text[i + 1];
        if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else {
          i++;
          stop();
        }
        continue;
      }
      if (c < ' ') stop();
      i++;
    }
    stop();
  };
  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const value = (): void => {
    space();
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      space();
      if (text[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (c === '{') {
          space();
          if (text[i] !== '"') stop();
          string();
          space();
          if (text[i] !== ':') stop();
          i++;
        }
        value();
        space();
        if (text[i] === ',') i++;
        else if (text[i] === close) {
          i++;
          return;
        } else stop();
      }
    }
    if (c === '"') return string();
    NUMBER.lastIndex = i;
    if (NUMBER.test(text)) {
      i = NUMBER.lastIndex;
      return;
    }
    for (const literal of ['true', 'false', 'null']) {
      if (text.startsWith(literal, i)) {
        i += literal.length;
        return;
      }
    }
    stop();
  };
  try {
    value();
    space();
    if (i < text.length) stop();
    return undefined;
  } catch (err) {
    if (err instanceof JsonStop) return err.at;
    throw err;
  }
}

class JsonStop {
  constructor(readonly at: number) {}
}
