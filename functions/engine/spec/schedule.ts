import { Cron } from 'croner';

/**
 * Checks an EventBridge Scheduler expression the way AWS reads it, so a bad `triggers.schedule` is a
 * spec error with its line and column instead of a failed deploy. The cron fields are parsed by croner
 * (maintained, strict); the rules of AWS's 6-field dialect that croner does not know are the few lines
 * below: six fields, `?` in exactly one of day-of-month and day-of-week, `n/step` starting at n, weekdays
 * 1–7 (1 = Sunday), years 1970–2199. (aws-cron-parser, the one AWS-specific package, was not used: it
 * is unmaintained and accepts garbage such as `FOO` as a weekday.)
 *
 * @example scheduleExpressionProblem('cron(0 2 * * ? *)') // undefined: valid
 * @example scheduleExpressionProblem('rate(1 minutes)') // 'rate(1 …) takes a singular unit: minute'
 */
export function scheduleExpressionProblem(expression: string): string | undefined {
  const rate = /^rate\((\d+) ([a-z]+)\)$/.exec(expression);
  if (rate) return rateProblem(Number(rate[1]), rate[2]!);
  const at = /^at\((.*)\)$/.exec(expression);
  if (at) return atProblem(at[1]!);
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (cron) return cronProblem(cron[1]!);
  return 'must be cron(minutes hours day-of-month month day-of-week year), rate(value unit) or at(yyyy-mm-ddThh:mm:ss)';
}

function rateProblem(value: number, unit: string): string | undefined {
  const base = unit.replace(/s$/, '');
  if (!['minute', 'hour', 'day'].includes(base))
    return `rate unit "${unit}" must be minute(s), hour(s) or day(s)`;
  if (value < 1) return 'a rate must be at least 1';
  if (value === 1 && unit !== base) return `rate(1 …) takes a singular unit: ${base}`;
  if (value > 1 && unit === base) return `rate(${value} …) takes a plural unit: ${base}s`;
  return undefined;
}

function atProblem(text: string): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(text);
  if (!m) return `at(${text}) must be at(yyyy-mm-ddThh:mm:ss)`;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  const same =
    date.getUTCFullYear() === y &&
    date.getUTCMonth() === mo - 1 &&
    date.getUTCDate() === d &&
    date.getUTCHours() === h &&
    date.getUTCMinutes() === mi;
  return same && s < 60 ? undefined : `at(${text}) is not a calendar date and time`;
}

/** Field name, lowest and highest value, as AWS defines them. */
const FIELDS: [name: string, min: number, max: number][] = [
  ['minutes', 0, 59],
  ['hours', 0, 23],
  ['day-of-month', 1, 31],
  ['month', 1, 12],
  ['day-of-week', 1, 7],
  ['year', 1970, 2199],
];

function cronProblem(body: string): string | undefined {
  const fields = body.split(' ');
  if (fields.length !== 6 || fields.some((f) => f === ''))
    return `cron(${body}) must have 6 fields separated by one space: minutes hours day-of-month month day-of-week year`;
  const [, , dayOfMonth, , dayOfWeek] = fields as [string, string, string, string, string, string];
  if ((dayOfMonth === '?') === (dayOfWeek === '?'))
    return `cron(${body}): exactly one of day-of-month ("${dayOfMonth}") and day-of-week ("${dayOfWeek}") must be "?"`;
  const normalized: string[] = [];
  for (const [i, field] of fields.entries()) {
    const [name, min, max] = FIELDS[i]!;
    // Numbers outside AWS's range (croner allows weekday 0 and years up to 9999); the n of `#n` is croner's.
    for (const n of field.replace(/#\d+/g, '').match(/\d+/g) ?? []) {
      if (Number(n) < min || Number(n) > max)
        return `cron(${body}): ${name} value ${n} is outside ${min}-${max}`;
    }
    // AWS's `5/15` starts at 5 and steps to the end of the range; croner spells that `5-max/15`.
    normalized.push(
      field.replace(
        /(^|,)(\d+)\/(\d+)/g,
        (_, sep: string, start: string, step: string) => `${sep}${start}-${max}/${step}`,
      ),
    );
  }
  let job: Cron;
  try {
    job = new Cron(`0 ${normalized.join(' ')}`, {
      mode: '7-part',
      alternativeWeekdays: true,
      paused: true,
      timezone: 'UTC',
    });
  } catch (error) {
    return `cron(${body}): ${(error as Error).message.replace(/^CronPattern: /, '')}`;
  }
  if (!job.nextRun(new Date(Date.UTC(1970, 0, 1)))) return `cron(${body}) never fires`;
  return undefined;
}
