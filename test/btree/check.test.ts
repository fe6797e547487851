import { describe, expect, it } from 'vitest';
import { BTree, BTreeCheckError, BTreeNode, type BTreeBucket } from '@tidaldb/core';

/** A three-level tree of 0..99 in buckets of at most 4, nodes of at most 3 children. */
function sample(): BTree<number, number> {
  const tree = new BTree<number, number>(null, { maxBucketSize: 4, maxNodeSize: 3 });
  for (let i = 0; i < 100; i++) tree.set(i, i);
  tree.check();
  return tree;
}

function buckets(tree: BTree<number, number>): Array<BTreeBucket<number, number>> {
  let node: unknown = tree.top;
  while (node instanceof BTreeNode) node = node.children[0];
  const out: Array<BTreeBucket<number, number>> = [];
  for (let b = node as BTreeBucket<number, number> | null; b !== null; b = b.next) out.push(b);
  return out;
}

function checkError(tree: BTree<number, number>): BTreeCheckError {
  try {
    tree.check();
  } catch (err) {
    expect(err).toBeInstanceOf(BTreeCheckError);
    return err as BTreeCheckError;
  }
  throw new Error('check() passed');
}

describe('BTree.check()', () => {
  it('names keys out of order inside a bucket, with where they are', () => {
    const tree = sample();
    const b = buckets(tree)[3]!;
    [b.keys[0], b.keys[1]] = [b.keys[1]!, b.keys[0]!];
    const err = checkError(tree);
    expect(err.message).toMatch(/keys 0 and 1 are out of order/);
    expect(err.path).toMatch(/^top > child \d+ > child \d+/);
  });

  it('finds a key that belongs to another bucket (order between buckets)', () => {
    const tree = sample();
    const bs = buckets(tree);
    bs[5]!.keys.push(bs[6]!.keys[0]! + 0.5);
    bs[5]!.values.push(0);
    expect(checkError(tree).message).toMatch(/is not below the upper bound/);
  });

  it('finds a separator outside its parent\'s bounds', () => {
    const tree = sample();
    const top = tree.top as BTreeNode<number, number>;
    const child = top.children[0] as BTreeNode<number, number>;
    child.keys[child.keys.length - 1] = 1000;
    expect(checkError(tree).message).toBe('BTree check failed at top > child 0: separator 1000 is not below the upper bound 32 set by the parent');
  });

  it('finds a bucket over its maximum size', () => {
    const tree = sample();
    const b = buckets(tree)[0]!;
    b.maxSize = 1;
    expect(checkError(tree).message).toMatch(/more than its maximum 1/);
  });

  it('finds a broken next pointer', () => {
    const tree = sample();
    const bs = buckets(tree);
    bs[2]!.next = bs[4]!;
    expect(checkError(tree).message).toMatch(/next does not point to bucket 3/);
  });

  it('finds an empty bucket inside a larger tree', () => {
    const tree = sample();
    const b = buckets(tree)[1]!;
    b.keys = [];
    b.values = [];
    expect(checkError(tree).message).toMatch(/empty bucket inside the tree/);
  });

  it('finds buckets at different depths and children that do not match the separators', () => {
    const tree = sample();
    const top = tree.top as BTreeNode<number, number>;
    top.children[top.children.length - 1] = buckets(tree).at(-1)!;
    expect(checkError(tree).message).toMatch(/top > child 2: a node mixes buckets and nodes/);

    const other = sample();
    (other.top as BTreeNode<number, number>).keys.pop();
    expect(checkError(other).message).toMatch(/separators but \d+ children/);
  });
});
