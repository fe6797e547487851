// A read-only LmdbStorage opened on a database that another process has open read-write: it
// reads everything, sees the writer's later commits at its next lastTransaction()/poll(), and
// refuses every write with ReadOnlyError.
import { describe, expect, it } from 'vitest';
import { LmdbStorage, ReadOnlyError, parseOid, parseTid } from '@tidaldb/core';
import { valueOf } from '@tidaldb/core/testing';
import { startChild, tempDir } from './helpers.ts';

describe('read-only LmdbStorage beside a writing process', () => {
  it("reads the writer's commits as they happen and refuses writes", async () => {
    const dir = await tempDir();
    const writer = startChild('writer.ts', [dir]);
    writer.send('commit one');
    const [oidText, tid1Text] = (await writer.nextLine()).split(' ');
    const oid = parseOid(oidText ?? '');
    const tid1 = parseTid(tid1Text ?? '');
    const ro = await LmdbStorage.open(dir, { readOnly: true });
    try {
      expect(ro.readOnly).toBe(true);
      expect(ro.lastTransaction()).toBe(tid1);
      expect(valueOf(ro.load(oid).data)).toBe('one');

      writer.send('commit two');
      const tid2 = parseTid((await writer.nextLine()).split(' ')[1] ?? '');
      expect(ro.lastTransaction()).toBe(tid2);
      expect(ro.poll(tid1)).toEqual({ lastTid: tid2, oids: new Set([oid]) });
      expect(valueOf(ro.load(oid).data)).toBe('two');
      expect(ro.history(oid, 5).map((h) => h.tid)).toEqual([tid2, tid1]);

      expect(() => ro.newOid()).toThrow(ReadOnlyError);
      expect(() => ro.tpcBegin({ user: '', description: '', extension: {} })).toThrow(ReadOnlyError);
      await expect(ro.undo(tid2, { user: '', description: '', extension: {} })).rejects.toThrow(ReadOnlyError);
      await expect(ro.pack(tid2)).rejects.toThrow(ReadOnlyError);
    } finally {
      await ro.close();
      writer.proc.stdin?.end();
      expect((await writer.exited).code).toBe(0);
    }
  });
});
