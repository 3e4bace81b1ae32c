/** How much of a value an error message may quote: enough to recognise it, never a whole payload. */
export const QUOTE_MAX = 100;
/** The longest error text a node reports (a message quoting a value, plus the words around it). */
export const ERROR_TEXT_MAX = 400;

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * The message of anything thrown, for status text and logs: bounded, and never a throw itself (an object
 * without a prototype, a getter that throws, a Symbol).
 */
export function errorText(err: unknown): string {
  try {
    if (err instanceof Error) return cut(String(err.message || err.name), ERROR_TEXT_MAX);
    if (err && typeof err === 'object' && 'message' in err) return cut(String((err as { message: unknown }).message), ERROR_TEXT_MAX);
    return quote(err);
  } catch {
    return 'unknown error';
  }
}

/**
 * A value as an error message may show it: at most QUOTE_MAX characters, whatever it is (huge strings, BigInt,
 * objects without a prototype, circular ones, functions: their source is never shown).
 */
export function quote(value: unknown): string {
  try {
    switch (typeof value) {
      case 'string': return JSON.stringify(cut(value, QUOTE_MAX));
      case 'number': case 'boolean': case 'undefined': return String(value);
      case 'bigint': return `${cut(String(value), QUOTE_MAX)}n`;
      case 'symbol': return 'a symbol';
      case 'function': return 'a function';
    }
    if (value === null) return 'null';
    if (Array.isArray(value)) return `an array of ${value.length}`;
    if (ArrayBuffer.isView(value)) return `${value.constructor?.name ?? 'binary'} of ${value.byteLength} bytes`;
    const keys = Object.keys(value as object);
    return cut(`an object with ${keys.length} field(s)${keys.length ? `: ${keys.slice(0, 8).join(', ')}` : ''}`, QUOTE_MAX);
  } catch {
    return 'an unreadable value';
  }
}

/**
 * An error a node reports in the user's language: core code names what went wrong by a message key (and values
 * for its placeholders); the node translates it. The message is the key, for logs that have no translator.
 */
export class KeyedError extends Error {
  constructor(readonly key: string, readonly vars: Record<string, unknown> = {}) {
    super(key);
  }
}
