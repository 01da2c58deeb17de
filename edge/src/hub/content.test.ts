import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BoundedContent } from './content';

describe('BoundedContent', () => {
  it('never holds more than its byte and entry bounds, and keeps the latest put', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ key: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), len: fc.nat({ max: 120 }) }), { maxLength: 60 }),
        (ops) => {
          const store = new BoundedContent(200, 4);
          for (const { key, len } of ops) {
            const held = store.put(key, new Uint8Array(len).fill(len % 256));
            expect(store.bytes).toBeLessThanOrEqual(200);
            expect(store.size).toBeLessThanOrEqual(4);
            if (held) expect(store.get(key)?.length).toBe(len);
          }
        },
      ),
    );
  });

  it('evicts the least recently used entry first', () => {
    const store = new BoundedContent(30, 10);
    store.put('a', new Uint8Array(10));
    store.put('b', new Uint8Array(10));
    store.put('c', new Uint8Array(10));
    store.get('a');
    store.put('d', new Uint8Array(10));
    expect(store.get('b')).toBeUndefined();
    expect(store.get('a')).toBeDefined();
    expect(store.get('c')).toBeDefined();
    expect(store.get('d')).toBeDefined();
  });

  it('refuses an item larger than the whole bound without evicting anything', () => {
    const store = new BoundedContent(10, 10);
    store.put('a', new Uint8Array(5));
    expect(store.put('big', new Uint8Array(11))).toBe(false);
    expect(store.get('a')).toBeDefined();
  });
});
