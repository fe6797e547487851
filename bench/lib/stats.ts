/**
 * Small measuring helpers shared by the benchmarks: medians of samples and rates. Timing uses
 * `process.hrtime.bigint()` (monotonic, nanoseconds).
 */

/** The median of a non-empty list of numbers (the upper middle one for an even count). */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) throw new RangeError('median of no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** Operations per second for `count` operations done in `ns` nanoseconds (rounded). */
export function perSecond(count: number, ns: number): number {
  return Math.round((count * 1e9) / ns);
}

/** Nanoseconds `fn` took. */
export function timeNs(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start);
}

/** Nanoseconds the promise returned by `fn` took to settle (it must resolve). */
export async function timeNsAsync(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start);
}

/** `value` rounded to `digits` decimals, as a number (for JSON lines). */
export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
