import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  PersistentRef,
  assertStorable,
  classNameOf,
  decodeRecord,
  encodeRecord,
  oidFromBigInt,
  referencesOf,
  InvalidRecordError,
  UnstorableValueError,
} from '@tidaldb/core';

describe('record codec', () => {
  it('round-trips plain states with dates, sets, bytes and 64-bit bigints', () => {
    const state = { a: 1, s: 'x', d: new Date(5), set: new Set([1, 2]), b: new Uint8Array([1, 2]), big: 2n ** 60n, u: undefined };
    const { className, state: back } = decodeRecord(encodeRecord('app.Thing', state));
    expect(className).toBe('app.Thing');
    expect(back).toEqual(state);
  });

  it('round-trips arbitrary JSON values (with -0 stored as 0, as msgpack integers have no sign of zero)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        fc.pre(!JSON.stringify(value).includes('"__proto__"'));
        const asJson: unknown = JSON.parse(JSON.stringify({ value }));
        expect(decodeRecord(encodeRecord('k', { value })).state).toEqual(asJson);
      }),
    );
  });

  it('lists references without a connection and decodes them as PersistentRef', () => {
    const a = new PersistentRef(oidFromBigInt(7), 'app.A');
    const b = new PersistentRef(oidFromBigInt(9), 'app.B');
    const bytes = encodeRecord('app.Root', { a, list: [b, a] });
    expect(referencesOf(bytes)).toEqual([a.oid, b.oid]);
    const state = decodeRecord(bytes).state as { a: PersistentRef };
    expect(state.a).toBeInstanceOf(PersistentRef);
    expect(state.a.equals(a)).toBe(true);
    expect(classNameOf(bytes)).toBe('app.Root');
  });

  it('refuses functions, symbols, Maps and unregistered class instances with the property path', () => {
    class Foo {}
    const cases: Array<[unknown, string]> = [
      [{ f: () => 1 }, 'f'],
      [{ nested: { s: Symbol('x') } }, 'nested.s'],
      [{ list: [1, new Foo()] }, 'list[1]'],
      [{ m: new Map() }, 'm'],
      [{ huge: 2n ** 70n }, 'huge'],
      [{ nested: JSON.parse('{"__proto__": 1}') as unknown }, 'nested.__proto__'],
    ];
    for (const [state, path] of cases) {
      try {
        assertStorable(state, 'app.X oid 1');
        expect.unreachable();
      } catch (err) {
        expect(UnstorableValueError.is(err)).toBe(true);
        expect((err as UnstorableValueError).path).toBe(path);
      }
    }
  });

  it('rejects bytes that are not a record with InvalidRecordError', () => {
    expect(() => decodeRecord(new Uint8Array([0xc1]))).toThrow(InvalidRecordError);
    expect(() => decodeRecord(encodeRecord('x', 1).subarray(0, 3))).toThrow(InvalidRecordError);
  });
});
