import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('npm run bench:cpu', () => {
  it('runs the chunk pipeline without a database and reports µs per row, wall and CPU', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'bench/chunk-cpu.ts', '--rows', '2000'], {
      encoding: 'utf8',
    });
    // 1% of the generated rows are bad: they are read but not staged.
    expect(out).toMatch(
      /^read → parse → transform → validate → stage: 2,000 records, 1,9\d\d staged \(\d+ MiB\) in [\d.]+ s = [\d.]+ µs per row \(CPU [\d.]+ s = [\d.]+ µs per row\)\n$/,
    );
  }, 30_000);
});
