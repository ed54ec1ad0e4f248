import { UTCDate } from '@date-fns/utc/date';
import { utc } from '@date-fns/utc/utc';
import { format } from 'date-fns/format';
import { isValid } from 'date-fns/isValid';
import { parse } from 'date-fns/parse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inUtc, UtcDate } from './legacy-utc-date.js';
import { runOne } from './run-transforms.js';

/**
 * @date-fns/utc replaced a hand-written UTC Date in the cast transform (issue 18): date-fns must read
 * and write the same wall-clock values through both, including around DST changes, leap days and
 * years 0001–0099, whatever the machine's time zone: the tests run in Europe/Berlin (Node applies a
 * changed TZ at once), and the values straddle its DST changes.
 */
const FORMATS = [
  'yyyy-MM-dd',
  'dd/MM/yyyy',
  'MM/dd/yyyy HH:mm',
  'yyyy-MM-dd HH:mm:ss',
  'yyyy-MM-dd HH:mm:ss.SSS',
  'd MMM yyyy h:mm a',
  'EEE, dd MMM yyyy HH:mm:ss',
  "yyyy-MM-dd'T'HH:mm:ssXXX",
  'yyyyMMddHHmmss',
  'dd.MM.yy',
];
const INSTANTS = [
  Date.UTC(2026, 2, 29, 1, 30), // Europe springs forward
  Date.UTC(2026, 2, 8, 2, 30), // the US springs forward
  Date.UTC(2026, 9, 25, 1, 30), // Europe falls back
  Date.UTC(2024, 1, 29, 23, 59, 59, 999),
  Date.UTC(2000, 0, 1),
  Date.UTC(1999, 11, 31, 23, 59, 59),
  Date.UTC(1970, 0, 1),
  Date.UTC(2100, 11, 31, 12),
  Date.UTC(9999, 11, 31, 23, 59, 59),
  new Date('0001-01-01T00:00:00Z').getTime(),
  new Date('0099-12-01T06:07:08Z').getTime(),
];

describe('@date-fns/utc against the hand-written UtcDate it replaced', () => {
  const zone = process.env.TZ;
  beforeAll(() => {
    process.env.TZ = 'Europe/Berlin';
  });
  afterAll(() => {
    if (zone === undefined) delete process.env.TZ;
    else process.env.TZ = zone;
  });

  it('formats and parses every sample the same way', () => {
    // Prepare
    const disagreements: string[] = [];
    const legacyRef = new UtcDate(Date.UTC(2000, 0, 1));
    const ref = new UTCDate(Date.UTC(2000, 0, 1));
    // Act
    for (const pattern of FORMATS) {
      for (const instant of INSTANTS) {
        const text = format(new UTCDate(instant), pattern, { in: utc });
        const legacyText = format(new UtcDate(instant), pattern, { in: inUtc });
        if (text !== legacyText) disagreements.push(`format ${pattern} ${instant}: ${text} vs ${legacyText}`);
        const parsed = parse(text, pattern, ref, { in: utc });
        const legacyParsed = parse(text, pattern, legacyRef, { in: inUtc });
        if (
          isValid(parsed) !== isValid(legacyParsed) ||
          (isValid(parsed) && parsed.getTime() !== legacyParsed.getTime())
        )
          disagreements.push(
            `parse ${pattern} "${text}": ${parsed.toISOString()} vs ${legacyParsed.toISOString()}`,
          );
      }
    }
    // Assess
    expect(disagreements).toEqual([]);
  });

  it('casts a wall-clock timestamp on a DST change without moving it', () => {
    // Prepare: 02:30 does not exist on 29 March 2026 in Europe; in UTC (Lambda's zone) it does.
    const spec = { cast: { column: 'at', to: 'timestamp' as const, format: 'd MMM yyyy HH:mm' } };
    // Act
    const outcome = runOne([spec], { at: '29 Mar 2026 02:30' });
    // Assess
    expect(new Date(2026, 2, 29, 2, 30).getHours()).toBe(3); // the zone is in force: 02:30 is skipped
    expect(outcome).toEqual({ kind: 'row', row: { at: '2026-03-29T02:30:00' } });
  });
});
