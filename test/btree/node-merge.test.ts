import { describe, expect, it } from 'vitest';
import { BucketConflictError, mergeNodeStates, PersistentRef, type NodeState, type Oid } from '@tidaldb/core';

const r = (n: number): PersistentRef => new PersistentRef(n.toString(16).padStart(16, '0') as Oid, 'tidal.BTreeBucket');
/** A node from an alternating list: child, key, child, key, child … (children as numbers → refs). */
function n(...items: number[]): NodeState {
  const children = items.filter((_, i) => i % 2 === 0).map(r);
  const keys = items.filter((_, i) => i % 2 === 1);
  return { keys, children, maxSize: 8 };
}
const flat = (s: NodeState): unknown[] => s.children.flatMap((c, i) => (i === 0 ? [(c as PersistentRef).oid] : [s.keys[i - 1], (c as PersistentRef).oid]));

// Children are numbered 1xx so they are told apart from separators in the lists below.
const old = n(101, 10, 102, 20, 103);

function refuses(fn: () => unknown, detail: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(BucketConflictError.is(err)).toBe(true);
    expect((err as BucketConflictError).reasonNumber).toBe(11);
    expect((err as Error).message).toMatch(detail);
    return;
  }
  throw new Error('expected a reason-11 conflict');
}

describe('internal node merge', () => {
  it('merges splits of different children (fresh PersistentRef objects, compared by oid)', () => {
    const merged = mergeNodeStates(old, n(101, 5, 104, 10, 102, 20, 103), n(101, 10, 102, 20, 103, 25, 105));
    expect(flat(merged)).toEqual(flat(n(101, 5, 104, 10, 102, 20, 103, 25, 105)));
  });

  it('merges splits of neighbouring children', () => {
    const merged = mergeNodeStates(old, n(101, 5, 104, 10, 102, 20, 103), n(101, 10, 102, 15, 105, 20, 103));
    expect(flat(merged)).toEqual(flat(n(101, 5, 104, 10, 102, 15, 105, 20, 103)));
  });

  it('merges the removal of a child with a split two children away', () => {
    const merged = mergeNodeStates(n(101, 10, 102, 20, 103, 30, 106), n(101, 20, 103, 30, 106), n(101, 10, 102, 20, 103, 30, 106, 35, 107));
    expect(flat(merged)).toEqual(flat(n(101, 20, 103, 30, 106, 35, 107)));
  });

  it('merges when only one side changed the node', () => {
    expect(flat(mergeNodeStates(old, old, n(101, 5, 104, 10, 102, 20, 103)))).toEqual(flat(n(101, 5, 104, 10, 102, 20, 103)));
  });

  it('refuses two splits of the same child', () => {
    refuses(() => mergeNodeStates(old, n(101, 5, 104, 10, 102, 20, 103), n(101, 7, 105, 10, 102, 20, 103)), /same part of the node/);
  });

  it('refuses a split next to a removed child (the removal moves the split child\'s upper bound)', () => {
    refuses(() => mergeNodeStates(old, n(101, 20, 103), n(101, 5, 104, 10, 102, 20, 103)), /same part/);
    refuses(() => mergeNodeStates(old, n(102, 20, 103), n(101, 5, 104, 10, 102, 20, 103)), /same part/);
  });

  it('refuses a merge that would overflow the node, and malformed states', () => {
    const full = { ...n(101, 10, 102, 20, 103), maxSize: 4 };
    refuses(() => mergeNodeStates(full, { ...n(101, 5, 104, 10, 102, 20, 103), maxSize: 4 }, { ...n(101, 10, 102, 20, 103, 25, 105), maxSize: 4 }), /at most 4/);
    refuses(() => mergeNodeStates(old, { keys: [], children: [] }, old), /committed node state is malformed/);
  });
});
