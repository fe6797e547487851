/**
 * Micro-benchmark of the read path of persistent objects ("steamin" in zodbshootout terms): the
 * same property read from 1000 plain objects and from 1000 loaded persistent objects, in the same
 * loop. Run: `pnpm exec tsx bench/persistent-read.bench.ts`. Prints one JSON line at the end.
 *
 * Two kinds of persistent object: a Proxy-tracked class (`extends Persistent`) and a class with
 * declared fields (`extends Persistent.withFields(...)`, accessors over private fields, no Proxy).
 * Also measured, to show where the cost lies: a bare Proxy with an empty handler (no traps at
 * all) — V8 does not inline Proxy property access, so that is the floor for any Proxy design.
 * Each series gets its own copy of the loop, so no series pays for another's shapes.
 */
import { Persistent, registerClass } from '@tidaldb/core';

const N = 1000;
const ROUNDS = 20_000;

class PlainItem {
  value: number;
  name: string;
  constructor(i: number) {
    this.value = i;
    this.name = `item ${i}`;
  }
}

class Item extends Persistent {
  value: number;
  name: string;
  constructor(i: number) {
    super();
    this.value = i;
    this.name = `item ${i}`;
  }
}
registerClass('bench.Item', Item);

/** The same object with declared fields (`Persistent.withFields`): no Proxy. */
class DeclaredItem extends Persistent.withFields({ value: 0, name: '' }) {}
registerClass('bench.DeclaredItem', DeclaredItem);

type Sum = (objects: readonly { value: number }[]) => number;

/** A fresh copy of the summing loop (its own type feedback). */
const newSum = (): Sum =>
  new Function('objects', 'let s = 0; for (let i = 0; i < objects.length; i++) s += objects[i].value; return s;') as Sum;

/** Nanoseconds per property read. */
function measure(objects: readonly { value: number }[]): number {
  const sum = newSum();
  for (let i = 0; i < 2000; i++) sum(objects);
  const start = process.hrtime.bigint();
  let check = 0;
  for (let i = 0; i < ROUNDS; i++) check += sum(objects);
  const ns = Number(process.hrtime.bigint() - start) / (ROUNDS * objects.length);
  if (check <= 0) throw new Error('unexpected checksum');
  return ns;
}

const plain = Array.from({ length: N }, (_, i) => new PlainItem(i + 1));
const bareProxies = Array.from({ length: N }, (_, i) => new Proxy(new PlainItem(i + 1), {}));
const persistent = Array.from({ length: N }, (_, i) => new Item(i + 1));
const declared = Array.from({ length: N }, (_, i) => new DeclaredItem({ value: i + 1, name: `item ${i}` }));

const plainNs = measure(plain);
const declaredNs = measure(declared);
const bareNs = measure(bareProxies);
const persistentNs = measure(persistent);
console.log(`plain object:       ${plainNs.toFixed(2)} ns/read`);
console.log(`Proxy, no traps:    ${bareNs.toFixed(2)} ns/read (${(plainNs / bareNs).toFixed(3)}x plain)`);
console.log(`Proxy-tracked:      ${persistentNs.toFixed(2)} ns/read (${(plainNs / persistentNs).toFixed(3)}x plain)`);
console.log(`declared fields:    ${declaredNs.toFixed(2)} ns/read (${(plainNs / declaredNs).toFixed(3)}x plain)`);
console.log(
  JSON.stringify({
    plain_reads_per_s: Math.round(1e9 / plainNs),
    bare_proxy_reads_per_s: Math.round(1e9 / bareNs),
    persistent_reads_per_s: Math.round(1e9 / persistentNs),
    persistent_vs_plain: Number((plainNs / persistentNs).toFixed(3)),
    bare_proxy_vs_plain: Number((plainNs / bareNs).toFixed(3)),
    declared_reads_per_s: Math.round(1e9 / declaredNs),
    declared_vs_plain: Number((plainNs / declaredNs).toFixed(3)),
  }),
);
