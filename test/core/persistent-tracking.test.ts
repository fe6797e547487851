import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Persistent, TransactionManager, registerClass, type Connection, type DB } from '@tidaldb/core';
import { dbEnv } from './object-env.ts';

class Note extends Persistent {
  text = '';
  tags: string[] = [];
  meta: { views: number } = { views: 0 };
  _v_cache: string | undefined;

  append(more: string): void {
    this.text += more;
  }

  get shout(): string {
    return this.text.toUpperCase();
  }
}
registerClass('test.tracking.Note', Note);

let db: DB;
let dispose: () => Promise<void>;
let tm: TransactionManager;
let conn: Connection;

beforeEach(async () => {
  ({ db, dispose } = await dbEnv('memory'));
  tm = new TransactionManager();
  conn = db.open({ transactionManager: tm });
});
afterEach(async () => {
  await tm.abort();
  await dispose();
});

/** A committed note, loaded in `conn`, and a fresh way to read it back from the storage. */
async function savedNote(): Promise<Note> {
  const note = new Note();
  note.text = 'hello';
  conn.root().set('note', note);
  await tm.commit();
  return note;
}

async function readBack(): Promise<Note> {
  return db.transact((c) => {
    const n = c.root().get('note') as Note;
    return { text: n.text, tags: [...n.tags], meta: { ...n.meta }, _v_cache: n._v_cache } as Note;
  });
}

describe('change tracking', () => {
  it('marks an object changed and joins the transaction when a property is assigned', async () => {
    const note = await savedNote();
    note.text = 'changed';
    expect(note._p_changed).toBe(true);
    await tm.commit();
    expect((await readBack()).text).toBe('changed');
  });

  it('marks an object changed when a property is deleted, and stores the deletion', async () => {
    const note = await savedNote();
    delete (note as Partial<Note>).text;
    expect(note._p_state).toBe('changed');
    await tm.commit();
    expect((await readBack()).text).toBeUndefined();
  });

  it('marks an object changed when a property is defined with Object.defineProperty', async () => {
    const note = await savedNote();
    Object.defineProperty(note, 'text', { value: 'defined', writable: true, enumerable: true, configurable: true });
    expect(note._p_changed).toBe(true);
    await tm.commit();
    expect((await readBack()).text).toBe('defined');
  });

  it('tracks writes made by methods, which run with the tracked object as this', async () => {
    const note = await savedNote();
    note.append(' world');
    expect(note._p_changed).toBe(true);
    await tm.commit();
    expect((await readBack()).text).toBe('hello world');
  });

  it('does not mark changed nor store volatile _v_ properties', async () => {
    const note = await savedNote();
    note._v_cache = 'cached';
    expect(note._p_changed).toBe(false);
    expect(note._v_cache).toBe('cached');
    note.text = 'x';
    await tm.commit();
    expect((await readBack())._v_cache).toBeUndefined();
  });

  it('does not see in-place mutation of nested plain arrays and objects until _p_changed = true', async () => {
    const note = await savedNote();
    note.tags.push('a');
    note.meta.views++;
    expect(note._p_changed).toBe(false);
    await tm.commit();
    expect((await readBack()).tags).toEqual([]);

    note._p_invalidate(); // drop the untracked in-memory mutation
    note.tags.push('b');
    note.meta.views = 7;
    note._p_changed = true;
    await tm.commit();
    const back = await readBack();
    expect(back.tags).toEqual(['b']);
    expect(back.meta).toEqual({ views: 7 });
  });

  it('keeps modifications in memory but does not store them after _p_changed = false', async () => {
    const note = await savedNote();
    note.text = 'not stored';
    note._p_changed = false;
    expect(note.text).toBe('not stored');
    await tm.commit();
    expect((await readBack()).text).toBe('hello');
  });

  it('does not track unsaved objects (nothing to join) and stores their final state', async () => {
    const note = new Note();
    note.text = 'draft';
    expect(note._p_state).toBe('unsaved');
    expect(note._p_changed).toBe(false);
    conn.root().set('note', note);
    note.text = 'final';
    await tm.commit();
    expect((await readBack()).text).toBe('final');
  });

  it('excludes _p_ and _v_ properties from the default state and refuses to overwrite bookkeeping', () => {
    const note = new Note();
    note._v_cache = 'x';
    expect(Object.keys(note._p_getState()).sort()).toEqual(['meta', 'tags', 'text']);
    expect(() => {
      (note as unknown as { _p_oid: string })._p_oid = '0000000000000001';
    }).toThrow(TypeError);
  });

  it('treats symbol-keyed properties as volatile', async () => {
    const note = await savedNote();
    const key = Symbol('k');
    (note as unknown as Record<symbol, number>)[key] = 1;
    expect(note._p_changed).toBe(false);
    expect((note as unknown as Record<symbol, number>)[key]).toBe(1);
  });

  it('refuses to be frozen (a frozen object could not be loaded or tracked)', () => {
    expect(() => Object.freeze(new Note())).toThrow(TypeError);
  });

  it('is an instance of its class and runs getters on its state', async () => {
    const note = await savedNote();
    expect(note).toBeInstanceOf(Note);
    expect(note).toBeInstanceOf(Persistent);
    expect(note.shout).toBe('HELLO');
  });
});

describe('ghosts', () => {
  it('load their state on the first read of any property', async () => {
    const note = await savedNote();
    note._p_deactivate();
    expect(note._p_state).toBe('ghost');
    expect(note.text).toBe('hello');
    expect(note._p_state).toBe('saved');
  });

  it('load on Object.keys, the in operator and JSON.stringify too', async () => {
    const note = await savedNote();
    note._p_deactivate();
    expect(Object.keys(note).sort()).toEqual(['meta', 'tags', 'text']);
    note._p_deactivate();
    expect('text' in note).toBe(true);
    note._p_deactivate();
    expect(JSON.parse(JSON.stringify(note))).toEqual({ text: 'hello', tags: [], meta: { views: 0 } });
  });

  it('do not load when bookkeeping is read or when printed', async () => {
    const note = await savedNote();
    note._p_deactivate();
    expect(note._p_oid).toMatch(/^[0-9a-f]{16}$/);
    expect(note._p_serial).toMatch(/^[0-9a-f]{16}$/);
    expect(note._p_changed).toBe(false);
    expect(inspect(note)).toContain('<ghost oid');
    expect(note._p_state).toBe('ghost');
  });

  it('load before a write and then become changed', async () => {
    const note = await savedNote();
    note._p_deactivate();
    note.tags = ['t'];
    expect(note._p_state).toBe('changed');
    expect(note.text).toBe('hello');
  });

  it('lose volatile properties', async () => {
    const note = await savedNote();
    note._v_cache = 'x';
    note._p_deactivate();
    expect(note._v_cache).toBeUndefined();
  });

  it('are not made of changed objects by _p_deactivate, but are by _p_invalidate (dropping the change)', async () => {
    const note = await savedNote();
    note.text = 'unsaved change';
    note._p_deactivate();
    expect(note._p_state).toBe('changed');
    note._p_invalidate();
    expect(note._p_state).toBe('ghost');
    expect(note.text).toBe('hello');
  });
});

describe('custom state hooks', () => {
  class Point extends Persistent {
    x = 0;
    y = 0;
    override _p_getState(): Record<string, unknown> {
      return { xy: [this.x, this.y] };
    }
    override _p_setState(state: Record<string, unknown>): void {
      const [x, y] = state['xy'] as [number, number];
      this.x = x;
      this.y = y;
    }
  }
  registerClass('test.tracking.Point', Point);

  it('store what _p_getState returns and restore it with _p_setState, without marking the object changed', async () => {
    const p = new Point();
    p.x = 3;
    p.y = 4;
    conn.root().set('p', p);
    await tm.commit();
    const stored = await db.transact((c) => {
      const q = c.root().get('p') as Point;
      return { x: q.x, y: q.y, changed: q._p_changed, state: q._p_getState() };
    });
    expect(stored).toEqual({ x: 3, y: 4, changed: false, state: { xy: [3, 4] } });
  });
});
