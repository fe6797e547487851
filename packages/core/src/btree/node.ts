import { registerClass } from '../persistent/class-registry.ts';
import { Persistent } from '../persistent/persistent.ts';
import { bucketConflict } from './conflict-reasons.ts';
import { mergeNodeStates, type NodeState } from './node-merge.ts';
import type { NodeData, TreeNode } from './tree-shape.ts';

/** Children per internal node unless the tree says otherwise. */
export const DEFAULT_MAX_NODE_SIZE = 128;

function asNodeState(state: unknown, name: string): NodeState {
  if (typeof state !== 'object' || state === null) throw bucketConflict(11, undefined, `no ${name} node state to merge`);
  return state as NodeState;
}

/**
 * An internal node of a BTree, stored as its own persistent object (registered as
 * `'tidal.BTreeNode'`): `children` (all buckets or all nodes) and the separators between them,
 * `keys[i]` being the lowest key of `children[i + 1]`'s range. Used through `BTree`.
 *
 * Concurrent changes merge when they touch different children (two splits of different buckets
 * under this node, say); see `mergeNodeStates`.
 */
export class BTreeNode<K = unknown, V = unknown>
  extends Persistent.withFields({ keys: (): unknown[] => [], children: (): unknown[] => [], maxSize: DEFAULT_MAX_NODE_SIZE })
  implements NodeData<K, V>
{
  // Declared fields (no Proxy); the generic types the field declaration above cannot name.
  declare keys: K[];
  declare children: Array<TreeNode<K, V>>;

  constructor(maxSize: number = DEFAULT_MAX_NODE_SIZE) {
    super();
    this.maxSize = maxSize;
  }

  /** @throws BucketConflictError reason 11 when both sides changed the same children */
  static resolveConflict(old: unknown, committed: unknown, mine: unknown): NodeState {
    return mergeNodeStates(asNodeState(old, 'old'), asNodeState(committed, 'committed'), asNodeState(mine, 'new'));
  }
}

registerClass('tidal.BTreeNode', BTreeNode);
