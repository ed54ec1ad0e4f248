import { describe, expect, it } from 'vitest';
import { formatRunFailure } from '../../../bin/cli/failure.js';

describe('formatRunFailure', () => {
  it('says what failed and names the redrive, on one line', () => {
    const line = formatRunFailure(
      { runId: 'r-1', error: 'quality check failed:\n  4 rows to load\n  fewer than quality.minRows 5' },
      'run',
      'home/logs/sluice.log',
    );

    expect(line).toBe(
      'run r-1 failed: quality check failed:; 4 rows to load; fewer than quality.minRows 5; fix the cause, then finish it with: sluice redrive r-1 (details in home/logs/sluice.log)',
    );
  });

  it('names no redrive for a run that was never recorded', () => {
    expect(formatRunFailure({ error: 'no pipeline "x"' }, 'run', 'l.log')).toBe(
      'run (not started) failed: no pipeline "x" (details in l.log)',
    );
  });

  it('says it was a redrive that failed', () => {
    expect(formatRunFailure({ runId: 'r-2', error: 'boom' }, 'redrive of run', 'l.log')).toMatch(
      /^redrive of run r-2 failed: boom; fix the cause, then finish it with: sluice redrive r-2 /,
    );
  });
});
