/**
 * Strict JSON reading for the genesis file: UTF-8 (fatal), `JSON.parse`, and a scan for duplicate
 * object keys, which `JSON.parse` silently resolves to the last value. Two nodes reading one
 * genesis must see one meaning (its hash names the network, §3.1), so duplicates are an error.
 *
 * @module
 */
import { ValidationError } from '../../errors/index';

interface Frame {
  readonly obj: boolean;
  readonly path: string;
  keys: Set<string>;
  expectKey: boolean;
  index: number;
  lastKey: string;
}

function childPath(f: Frame | undefined): string {
  if (f === undefined) return '';
  if (f.obj) return f.path === '' ? f.lastKey : `${f.path}.${f.lastKey}`;
  return `${f.path}[${f.index}]`;
}

/**
 * Parse JSON text strictly: valid UTF-8 and JSON, no duplicate keys in any object. Throws
 * {@link ValidationError} (field `genesis` for syntax, the dotted path of a duplicate key).
 *
 * @example
 * ```ts
 * const doc = parseStrictJson(fileBytes);
 * ```
 */
export function parseStrictJson(bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new ValidationError('genesis', 'not valid UTF-8');
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ValidationError('genesis', `not valid JSON: ${(e as Error).message}`);
  }
  // The text is valid JSON now, so a flat scan that only tracks strings and brackets is exact.
  const stack: Frame[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      let j = i + 1;
      while (text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top?.obj && top.expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) {
          throw new ValidationError(top.path === '' ? key : `${top.path}.${key}`, 'duplicate key');
        }
        top.keys.add(key);
        top.lastKey = key;
        top.expectKey = false;
      }
      i = j;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      const parent = stack[stack.length - 1];
      stack.push({ obj: c === 0x7b, path: childPath(parent), keys: new Set(), expectKey: c === 0x7b, index: 0, lastKey: '' });
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top?.obj) top.expectKey = true;
      else if (top) top.index++;
    }
  }
  return doc;
}
