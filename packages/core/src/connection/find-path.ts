/**
 * The property path (`items[2].owner`, in the notation of `UnstorableValueError`) at which
 * `needle` appears inside `state`, or '' if it does not. Only used to word errors, so it may walk
 * the whole state.
 */
export function findPath(state: unknown, needle: unknown): string {
  const seen = new Set<object>();
  const walk = (value: unknown, path: string): string | null => {
    if (value === needle) return path;
    if (typeof value !== 'object' || value === null || seen.has(value)) return null;
    seen.add(value);
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const found = walk(value[i], `${path}[${i}]`);
        if (found !== null) return found;
      }
    } else if (value instanceof Set) {
      let i = 0;
      for (const item of value) {
        const found = walk(item, `${path}{${i++}}`);
        if (found !== null) return found;
      }
    } else {
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) return null;
      for (const key of Object.keys(value)) {
        const found = walk((value as Record<string, unknown>)[key], path ? `${path}.${key}` : key);
        if (found !== null) return found;
      }
    }
    return null;
  };
  return walk(state, '') ?? '';
}
