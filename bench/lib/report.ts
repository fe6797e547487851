/**
 * Output helpers shared by the benchmarks: the machine line, an aligned text table, and the one
 * JSON line every benchmark ends with (scripts read the last line of the output).
 */
import { cpus } from 'node:os';

/** "Node v20.20.2, 2 × AMD EPYC …": what the figures were measured on. */
export function machineLine(): string {
  const cpu = cpus();
  return `Node ${process.version}, ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown cpu'}`;
}

/** Prints rows under a header, each column padded to its widest cell (first column left-aligned). */
export function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

/** A rate with thousands separators: 1234567 → "1,234,567". */
export function formatRate(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** Prints the final JSON line of a benchmark. */
export function printJsonLine(figures: Record<string, number | string | boolean>): void {
  console.log(JSON.stringify(figures));
}
