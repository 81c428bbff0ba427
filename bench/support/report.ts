/** What both benchmarks share to read their settings and print their one table. */
import { BenchError } from './children.ts';

/** A numeric BENCH_* setting, or its default; out of range stops the bench with a clear message. */
export function numberSetting(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new BenchError(`${name}=${raw}: expected a number from ${min} to ${max}`);
  }
  return value;
}

/** Arithmetic over readings that may be missing (e.g. no /proc): missing stays missing. */
export const delta = (before: number | undefined, after: number | undefined) =>
  before === undefined || after === undefined ? undefined : after - before;
export const plus = (total: number | undefined, value: number | undefined) =>
  total === undefined || value === undefined ? undefined : total + value;

export const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
export const ms = (value: number | undefined) => (value === undefined ? 'n/a' : value.toFixed(value < 10 ? 2 : 1));
export const pct = (value: number | undefined) => (value === undefined ? 'n/a' : `${Math.round(value * 100)}%`);

/** A table; a row of one cell (a contender that did not run) is printed as is, across the columns. */
export function table(rows: string[][], rightAligned: Set<number>): string {
  const full = rows.filter((row) => row.length > 1);
  const widths = rows[0]!.map((_, column) => Math.max(...full.map((row) => (row[column] ?? '').length)));
  const line = (row: string[]) =>
    row.length === 1
      ? row[0]!
      : row
          .map((cell, column) =>
            rightAligned.has(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!),
          )
          .join('  ')
          .trimEnd();
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/** Runs a bench's main: its exit code, or 1 with the reason (a BenchError's message, else the stack). */
export function runBench(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      const message =
        error instanceof BenchError
          ? error.message
          : error instanceof Error
            ? (error.stack ?? error.message)
            : String(error);
      process.stderr.write(`${name} failed: ${message}\n`);
      process.exitCode = 1;
    },
  );
}
