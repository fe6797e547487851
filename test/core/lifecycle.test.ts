import { readFileSync } from 'node:fs';
import { types } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  PERSISTENT_EVENTS,
  PERSISTENT_STATES,
  Persistent,
  TRANSITIONS,
  TransactionManager,
  registerClass,
  type Connection,
  type DB,
  type PersistentEvent,
  type PersistentState,
} from '@tidaldb/core';
import { dbEnv } from './object-env.ts';

class Item extends Persistent {
  value = 1;
}
registerClass('test.lifecycle.Item', Item);

class FieldsItem extends Persistent.withFields({ value: 1 }) {}
registerClass('test.lifecycle.FieldsItem', FieldsItem);

type AnyItem = Persistent & { value: number };
type ItemClass = new () => AnyItem;

/** Both kinds of persistent class: objects behind a Proxy, and objects with declared fields (no Proxy). */
const ITEM_CLASSES: ReadonlyArray<[string, ItemClass]> = [
  ['a Proxy-tracked class', Item],
  ['a class with declared fields', FieldsItem],
];

interface Subject {
  item: AnyItem;
  conn: Connection;
  tm: TransactionManager;
}

let db: DB;
let dispose: () => Promise<void>;
beforeEach(async () => {
  ({ db, dispose } = await dbEnv('memory'));
});
afterEach(async () => dispose());

/** An item of class `Class` in `state`, with the connection and transaction manager it lives in. */
async function subjectIn(Class: ItemClass, state: PersistentState): Promise<Subject> {
  const tm = new TransactionManager();
  const conn = db.open({ transactionManager: tm });
  if (state === 'unsaved') {
    const item = new Class();
    conn.add(item);
    return { item, conn, tm };
  }
  const item = new Class();
  conn.root().set('item', item);
  await tm.commit();
  if (state === 'ghost') item._p_deactivate();
  if (state === 'changed') item.value = 2;
  expect(item._p_state).toBe(state);
  return { item, conn, tm };
}

const apply: Record<PersistentEvent, (s: Subject) => Promise<void> | void> = {
  access: ({ item }) => {
    void item.value;
  },
  write: ({ item }) => {
    item.value = 3;
  },
  deactivate: ({ item }) => item._p_deactivate(),
  invalidate: ({ item }) => item._p_invalidate(),
  commit: ({ tm }) => tm.commit(),
  markSaved: ({ item }) => {
    item._p_changed = false;
  },
  unadd: ({ tm }) => tm.abort(),
};

describe('the persistent lifecycle follows its one transition table', () => {
  describe.each(ITEM_CLASSES)('for objects of %s', (_kind, Class) => {
    it('walks objects of that kind: behind a Proxy only for the class without declared fields', () => {
      expect(types.isProxy(new Class())).toBe(Class === Item);
    });

    for (const state of PERSISTENT_STATES) {
      for (const event of PERSISTENT_EVENTS) {
        const next = TRANSITIONS[state][event];
        if (next === null) continue;
        it(`moves a ${state} object to ${next} on ${event}`, async () => {
          const subject = await subjectIn(Class, state);
          await apply[event](subject);
          expect(subject.item._p_state).toBe(next);
        });
      }
    }

    it('leaves a ghost a ghost when a transaction commits other changes', async () => {
      const { item, conn, tm } = await subjectIn(Class, 'ghost');
      conn.root().set('other', 1);
      await tm.commit();
      expect(item._p_state).toBe('ghost');
    });

    it('un-adding clears the oid and the connection of an added object', async () => {
      const { item, tm } = await subjectIn(Class, 'unsaved');
      expect(item._p_oid).not.toBeNull();
      await tm.abort();
      expect(item._p_oid).toBeNull();
      expect(item._p_jar).toBeNull();
    });
  });

  it('lists as impossible exactly the transitions that make no sense: storing or un-adding a ghost, un-adding a stored object', () => {
    const impossible = PERSISTENT_STATES.flatMap((s) => PERSISTENT_EVENTS.filter((e) => TRANSITIONS[s][e] === null).map((e) => `${s}:${e}`));
    expect(impossible).toEqual(['ghost:commit', 'ghost:unadd', 'saved:unadd', 'changed:unadd']);
  });

  it('is printed in docs/guide/persistent-classes.md exactly as in the code', () => {
    const doc = readFileSync(new URL('../../docs/guide/persistent-classes.md', import.meta.url), 'utf8');
    const rows = doc.split('\n').filter((line) => /^\| \*\*\w+\*\* \|/.test(line));
    const parsed = Object.fromEntries(
      rows.map((line) => {
        const cells = line.split('|').slice(1, -1).map((c) => c.trim());
        const state = (cells[0] as string).replace(/\*/g, '');
        return [state, Object.fromEntries(PERSISTENT_EVENTS.map((e, i) => [e, cells[i + 1] === '–' ? null : cells[i + 1]]))];
      }),
    );
    expect(parsed).toEqual(TRANSITIONS);
  });
});
