/**
 * Micro-benchmark of `~=` on the hot path: V8's backtracking RegExp (the engine before) against re2js
 * (RE2 semantics, linear time; what filter/derive use now), on short strings like CSV cells.
 *
 *   npm run bench:regex -- [--strings 1e6]
 *
 * Prints, per pattern, the time of each engine over the same strings and the ratio. Not run in CI.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { compileLinearRegex, type LinearRegex } from '../functions/engine/transforms/regex.js';

const { values } = parseArgs({ options: { strings: { type: 'string', default: '1e6' } } });
const count = Number(values.strings);

const PATTERNS = ['@example\\.org$', '^[A-Z]{2}-\\d{3,6}$', '(?i)shipped|paid', '^\\s*$'];

function strings(n: number): string[] {
  const out: string[] = [];
  const statuses = ['shipped', 'PAID', 'open', 'cancelled'];
  for (let i = 0; i < n; i++) {
    switch (i % 4) {
      case 0:
        out.push(`user${i}@example.org`);
        break;
      case 1:
        out.push(`AB-${i % 1_000_000}`);
        break;
      case 2:
        out.push(statuses[i % statuses.length]!);
        break;
      default:
        out.push(i % 8 === 3 ? '   ' : `note ${i}`);
    }
  }
  return out;
}

function time(test: (s: string) => boolean, input: string[]): { ms: number; hits: number } {
  let hits = 0;
  const start = performance.now();
  for (const s of input) if (test(s)) hits++;
  return { ms: performance.now() - start, hits };
}

const input = strings(count);
console.log(`${count.toLocaleString('en')} short strings, node ${process.version}`);
console.log('pattern'.padEnd(24), 'RegExp ms'.padStart(10), 're2js ms'.padStart(10), 'ratio'.padStart(7));
for (const pattern of PATTERNS) {
  // RegExp has no inline (?i); give it the flag instead.
  const js = pattern.startsWith('(?i)') ? new RegExp(pattern.slice(4), 'i') : new RegExp(pattern);
  const re2 = compileLinearRegex(pattern) as LinearRegex;
  // Warm both up, then measure.
  time((s) => js.test(s), input.slice(0, 10_000));
  time((s) => re2.test(s), input.slice(0, 10_000));
  const before = time((s) => js.test(s), input);
  const after = time((s) => re2.test(s), input);
  if (before.hits !== after.hits)
    throw new Error(`${pattern}: engines disagree (${before.hits} vs ${after.hits})`);
  console.log(
    pattern.padEnd(24),
    before.ms.toFixed(0).padStart(10),
    after.ms.toFixed(0).padStart(10),
    `${(after.ms / before.ms).toFixed(1)}x`.padStart(7),
  );
}
// The pathological case: one 33-byte value. RegExp is given 25 bytes only (it doubles per byte).
const evil = '^(a+)+$';
const re2 = compileLinearRegex(evil) as LinearRegex;
const slow = time((s) => new RegExp(evil).test(s), [`${'a'.repeat(24)}!`]);
const fast = time((s) => re2.test(s), [`${'a'.repeat(32)}!`]);
console.log(
  `${evil} RegExp on 25 bytes: ${slow.ms.toFixed(0)} ms; re2js on 33 bytes: ${fast.ms.toFixed(2)} ms`,
);
