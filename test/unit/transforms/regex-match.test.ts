import { describe, expect, it } from 'vitest';
import { runOne } from './run-transforms.js';

/**
 * `~=` runs on RE2 (linear time): a pattern that makes a backtracking engine explode on one short value
 * answers at once, and a pattern RE2 cannot run is refused when the spec is compiled (validate, plan).
 */
describe('regular expressions in filter and derive', () => {
  it('answers a catastrophic pattern on the 33-byte value that hung a run', () => {
    const note = `${'a'.repeat(32)}!`;

    const outcome = runOne([{ filter: 'note ~= "^(a+)+$"' }], { note });

    expect(outcome.kind).toBe('filtered');
  });

  it('matches ordinary patterns as before, and takes RE2 inline flags such as (?i)', () => {
    const row = { email: 'ann@b.org', code: 'AB-123' };

    expect(runOne([{ filter: 'email ~= "@b\\\\.org$"' }], row).kind).toBe('row');
    expect(runOne([{ filter: 'code ~= "^[A-Z]{2}-\\\\d+$"' }], row).kind).toBe('row');
    expect(runOne([{ filter: 'code ~= "(?i)^ab-"' }], row).kind).toBe('row');
    expect(runOne([{ filter: 'code ~= "^\\\\d"' }], row).kind).toBe('filtered');
  });

  it('fails when a pattern uses a backreference, at compile time, saying why', () => {
    expect(() => runOne([{ filter: 'code ~= "(a)\\\\1"' }], { code: 'aa' })).toThrow(
      'transforms[0].filter: invalid expression "code ~= \\"(a)\\\\\\\\1\\"": pattern "(a)\\\\1" is not a supported regular expression: invalid escape sequence: `\\1` (~= uses RE2 syntax: lookaround and backreferences cannot run in linear time)',
    );
  });

  it('fails when a pattern uses lookahead, at compile time', () => {
    expect(() => runOne([{ derive: { ok: 'code ~= "^(?!x)"' } }], { code: 'a' })).toThrow(
      /^transforms\[0\]\.derive\.ok: .*invalid or unsupported Perl syntax: `\(\?!`/,
    );
  });

  it('rejects the row when a pattern read from a column is not supported', () => {
    const outcome = runOne([{ filter: 'code ~= pattern' }], { code: 'a', pattern: '(?<=a)b' });

    expect(outcome.kind).toBe('rejected');
    expect((outcome as { reason: string }).reason).toContain(
      'pattern "(?<=a)b" is not a supported regular expression',
    );
  });
});
