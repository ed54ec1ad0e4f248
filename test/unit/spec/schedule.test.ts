import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../../functions/engine/spec/load.js';
import { formatProblem, SpecError } from '../../../functions/engine/spec/parse.js';
import { scheduleExpressionProblem } from '../../../functions/engine/spec/schedule.js';

function problemsOf(file: string): string[] {
  try {
    parseSpec(readFileSync(file, 'utf8'), file);
  } catch (err) {
    if (err instanceof SpecError) return err.problems.map(formatProblem);
    throw err;
  }
  return [];
}

describe('triggers.schedule', () => {
  it('fails when a cron expression is not AWS cron, with file, line and column', () => {
    // Act: day-of-month and day-of-week are both `*` (AWS requires `?` in one of them).
    const problems = problemsOf('test/fixtures/specs/bad-schedule.yaml');
    // Assess
    expect(problems).toEqual([
      'test/fixtures/specs/bad-schedule.yaml:12:13 triggers.schedule: cron(0 2 * * * *): exactly one of day-of-month ("*") and day-of-week ("*") must be "?"',
    ]);
  });

  it('accepts the forms the AWS documentation shows', () => {
    const valid = [
      'cron(0 2 * * ? *)',
      'cron(0/15 * * * ? *)',
      'cron(0 18 ? * MON-FRI *)',
      'cron(0 8 1 * ? *)',
      'cron(0 10 ? * 6L 2026)',
      'cron(0 10 ? * 2#1 *)',
      'cron(0 12 L * ? *)',
      'cron(0 8 15W * ? *)',
      'cron(0 5-20/2 ? * MON-FRI *)',
      'cron(0,30 8-17 ? * 2-6 *)',
      'cron(0 12 1 JAN,JUL ? *)',
      'rate(1 minute)',
      'rate(5 minutes)',
      'rate(12 hours)',
      'rate(1 day)',
      'at(2026-12-31T23:59:00)',
    ];
    expect(valid.filter((e) => scheduleExpressionProblem(e) !== undefined)).toEqual([]);
  });

  const invalid: [string, string][] = [
    ['cron(0 12 * * ?)', 'must have 6 fields'],
    ['cron(61 12 * * ? *)', 'minutes value 61 is outside 0-59'],
    ['cron(0 24 * * ? *)', 'hours value 24 is outside 0-23'],
    ['cron(0 12 ? 13 MON *)', 'month value 13 is outside 1-12'],
    ['cron(0 12 ? * 0 *)', 'day-of-week value 0 is outside 1-7'],
    ['cron(0 12 ? * FOO *)', 'illegal characters'],
    ['cron(0 12 ? * MON#7 *)', 'nth weekday out of range'],
    ['cron(* * * * ? 1969)', 'year value 1969 is outside 1970-2199'],
    ['cron(0 12 ? * ? *)', 'exactly one of day-of-month'],
    ['cron(0 0 30 2 ? *)', 'never fires'],
    ['rate(1 minutes)', 'singular unit: minute'],
    ['rate(2 day)', 'plural unit: days'],
    ['rate(0 hours)', 'at least 1'],
    ['rate(2 weeks)', 'minute(s), hour(s) or day(s)'],
    ['at(2026-02-30T00:00:00)', 'not a calendar date'],
    ['at(tomorrow)', 'must be at(yyyy-mm-ddThh:mm:ss)'],
    ['hourly', 'must be cron('],
  ];
  for (const [expression, message] of invalid) {
    it(`fails when the schedule is ${expression}`, () => {
      expect(scheduleExpressionProblem(expression)).toContain(message);
    });
  }
});
