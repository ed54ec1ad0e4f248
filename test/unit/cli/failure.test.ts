import { describe, expect, it } from 'vitest';
import { formatFailedRun, formatRunFailure } from '../../../bin/cli/failure.js';

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

  it('drops the class name the ledger keeps in front of the error', () => {
    expect(
      formatRunFailure({ runId: 'r-4', error: 'QualityCheckError: too many rejects' }, 'run', 'l.log'),
    ).toMatch(/^run r-4 failed: too many rejects; /);
    expect(
      formatRunFailure({ runId: 'r-5', error: 'States.TaskFailed: worker exited' }, 'run', 'l.log'),
    ).toMatch(/^run r-5 failed: worker exited; /);
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

describe('formatFailedRun', () => {
  it("prints a failed run's counts, reasons and rejects path, then the one line of what to do, last", () => {
    const text = formatFailedRun(
      {
        runId: 'r-3',
        error: 'quality check failed: 2 of 10 rows rejected',
        counts: {
          source: 'ledger',
          read: 10,
          loaded: 0,
          rejected: 2,
          filtered: 1,
          filteredByRule: 1,
          deduplicated: 0,
          uncommitted: 7,
        },
        topRejectReasons: [{ reason: 'amount: cannot cast "…" to number', count: 2 }],
        rejectsLocation: '/h/staging/runs/r-3/rejects/',
      },
      'run',
      'l.log',
    );

    expect(text.split('\n')).toEqual([
      '  read 10 = loaded 0 + rejected 2 + filtered 1 + duplicate keys 0 + uncommitted 7',
      '  top reject reasons:',
      '         2  amount: cannot cast "…" to number',
      '  rejected rows with reasons: /h/staging/runs/r-3/rejects/ (sluice rejects r-3)',
      'run r-3 failed: quality check failed: 2 of 10 rows rejected; fix the cause, then finish it with: sluice redrive r-3 (details in l.log)',
    ]);
  });

  it('is the one line alone for a run that never started', () => {
    expect(formatFailedRun({ error: 'boom' }, 'run', 'l.log')).toBe(
      'run (not started) failed: boom (details in l.log)',
    );
  });
});
