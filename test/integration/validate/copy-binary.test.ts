import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BinaryCopyBuffer,
  BinaryCopyValueError,
  canCopyBinary,
} from '../../../functions/engine/validate/copy-binary.js';
import { compileRowValidator, encodeCopyCsvFields } from '../../../functions/engine/validate/index.js';
import { type TestWarehouse, warehouseTargets } from '../warehouse/targets.js';

// Binary COPY against the CSV path, through the real PostgreSQL (and PGlite): the same validated rows
// COPYed both ways must read back as the same text, value for value.

const COLUMNS: Record<string, string> = {
  t: 'text',
  v: 'varchar(12)',
  i2: 'smallint',
  i4: 'integer',
  i8: 'bigint',
  n: 'numeric',
  n122: 'numeric(12,2)',
  n306: 'numeric(30,6)',
  d: 'double precision',
  b: 'boolean',
  day: 'date',
  ts: 'timestamp',
  tstz: 'timestamptz',
  j: 'jsonb',
  u: 'uuid',
};
const NAMES = Object.keys(COLUMNS);

/** mulberry32: a small seeded generator, so a failure reproduces. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomDigits(rand: () => number, max: number): string {
  const n = 1 + Math.floor(rand() * max);
  let s = '';
  for (let i = 0; i < n; i++) s += String(Math.floor(rand() * 10));
  // Runs of zeros exercise the base-10000 groups that are stripped or kept.
  return rand() < 0.3 ? s.replace(/\d{1,4}$/, (m) => '0'.repeat(m.length)) : s;
}

function randomDecimal(rand: () => number, intDigits: number, fracDigits: number): string {
  const sign = rand() < 0.4 ? '-' : '';
  const int = rand() < 0.2 ? '0' : randomDigits(rand, intDigits);
  const frac = rand() < 0.3 ? '' : `.${randomDigits(rand, fracDigits)}`;
  return `${sign}${int}${frac}`;
}

const pick = <T>(rand: () => number, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const pad = (n: number, w: number) => String(n).padStart(w, '0');

function randomRow(rand: () => number): Record<string, unknown> {
  const year = pick(rand, [
    1,
    2,
    999,
    1969,
    1970,
    1999,
    2000,
    2001,
    2024,
    9999,
    1 + Math.floor(rand() * 9999),
  ]);
  const day = `${pad(year, 4)}-${pad(1 + Math.floor(rand() * 12), 2)}-${pad(1 + Math.floor(rand() * 28), 2)}`;
  const clock = `${pad(Math.floor(rand() * 24), 2)}:${pad(Math.floor(rand() * 60), 2)}:${pad(Math.floor(rand() * 60), 2)}`;
  const fraction = rand() < 0.5 ? '' : `.${randomDigits(rand, 9)}`;
  const row: Record<string, unknown> = {
    t: pick(rand, [
      '',
      'plain',
      'a,b',
      'say "hi"',
      'line\nbreak',
      '\\.',
      'ünï €😀',
      ' padded ',
      'x'.repeat(300),
    ]),
    v: pick(rand, ['', 'short', 'exactly12chr', 'é'.repeat(12)]),
    i2: String(pick(rand, [-32768, 32767, 0, -1, Math.floor(rand() * 65536) - 32768])),
    i4: String(pick(rand, [-2147483648, 2147483647, 0, Math.floor(rand() * 4294967296) - 2147483648])),
    i8: pick(rand, [
      '-9223372036854775808',
      '9223372036854775807',
      '0',
      '9007199254740993',
      '-999999999999999',
      '1000000000000000',
      String(Math.floor(rand() * 2 ** 53) * (rand() < 0.5 ? -1 : 1)),
    ]),
    n: pick(rand, [randomDecimal(rand, 40, 30), '0', '0.000', '-0.5', '10000', '0.0001', '9999.9999']),
    n122: randomDecimal(rand, 10, 4),
    n306: randomDecimal(rand, 24, 9),
    d: pick(rand, [
      String((rand() - 0.5) * 10 ** Math.floor(rand() * 600 - 300)),
      '1e308',
      '5e-324',
      '-0',
      '.5',
      '3.',
    ]),
    b: pick(rand, ['t', 'false', 'yes', '0', 'ON']),
    day,
    ts: `${day}${pick(rand, [' ', 'T'])}${clock}${fraction}`,
    tstz: `${day} ${clock}${fraction}${pick(rand, ['', 'Z', '+05:30', '-11'])}`,
    j: pick(rand, ['{"a":[1,2,{"b":null}]}', '"text"', '123.4500', '[]', '{"é":"😀","k":"v\\n"}', 'true']),
    u: pick(rand, ['00000000-0000-0000-0000-000000000000', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11']),
  };
  // Every column is sometimes NULL.
  for (const name of NAMES) if (rand() < 0.05) row[name] = null;
  return row;
}

const validate = compileRowValidator(
  Object.fromEntries(NAMES.map((n) => [n, { type: COLUMNS[n]!, nullable: true }])),
);

/** Rows the validator accepts, as its canonical text values. */
function validatedRows(count: number, seed: number): (string | null)[][] {
  const rand = random(seed);
  const rows: (string | null)[][] = [];
  while (rows.length < count) {
    const outcome = validate(randomRow(rand) as never);
    if (outcome.ok) rows.push(outcome.values);
  }
  return rows;
}

function csvBody(rows: (string | null)[][]): Buffer {
  return Buffer.from(rows.map((values, i) => `${encodeCopyCsvFields(values)},1,${i + 1}\n`).join(''));
}

function binaryBody(rows: (string | null)[][], flushBytes?: number): Buffer {
  const out = new BinaryCopyBuffer(
    NAMES.map((name) => ({ name, type: COLUMNS[name]! })),
    flushBytes,
  );
  const parts: Buffer[] = [];
  rows.forEach((values, i) => {
    if (out.addRow(values, 1, i + 1)) parts.push(out.take());
  });
  out.finish();
  parts.push(out.take());
  return Buffer.concat(parts);
}

describe.each(warehouseTargets)('binary COPY on $name', (target) => {
  let db: TestWarehouse;
  const ddl = (table: string) =>
    `CREATE TABLE ${table} (${NAMES.map((n) => `${n} ${COLUMNS[n]}`).join(', ')}, _sluice_seq integer NOT NULL, _sluice_ord bigint NOT NULL)`;
  const columns = [...NAMES, '_sluice_seq', '_sluice_ord'];

  beforeAll(async () => {
    db = await target.open();
    await db.wh.query(`SET TimeZone = 'UTC'; ${ddl('via_csv')}; ${ddl('via_binary')}`);
  });
  afterAll(() => db?.dispose());

  async function loadBoth(rows: (string | null)[][], flushBytes?: number) {
    await db.wh.query('TRUNCATE via_csv, via_binary');
    await db.wh.transaction(async (tx) => {
      expect(await tx.copyCsv('via_csv', columns, csvBody(rows))).toBe(rows.length);
      expect(await tx.copyCsv('via_binary', columns, binaryBody(rows, flushBytes), 'binary')).toBe(
        rows.length,
      );
    });
    const read = async (table: string) =>
      (
        await db.wh.query<{ r: string }>(
          `SET TimeZone = 'UTC'; SELECT row_text::text AS r FROM ${table} row_text ORDER BY _sluice_ord`,
        )
      ).rows.map((row) => row.r);
    return { csv: await read('via_csv'), binary: await read('via_binary') };
  }

  it('reads back 2,000 random validated rows exactly as the CSV path does', async () => {
    const rows = validatedRows(2000, 15);
    const { csv, binary } = await loadBoth(rows, 4096);
    expect(csv).toHaveLength(2000);
    expect(binary).toEqual(csv);
  });

  it('writes numerics digit for digit: signs, scales, zeros, groups of 10000', async () => {
    const rand = random(42);
    const rows: (string | null)[][] = [];
    const fixed = ['0', '0.0', '0.00000', '-0.0001', '10000', '10000.0000', '0.0001', '99999999', '1.5000'];
    for (let i = 0; rows.length < 3000; i++) {
      const n = i < fixed.length ? fixed[i]! : randomDecimal(rand, 60, 40);
      const outcome = validate({
        n,
        n122: randomDecimal(rand, 10, 6),
        n306: randomDecimal(rand, 24, 12),
      } as never);
      if (outcome.ok) rows.push(outcome.values);
    }
    const { csv, binary } = await loadBoth(rows);
    expect(binary).toEqual(csv);
    // The unconstrained column keeps the scale that was written.
    const kept = await db.wh.query<{ n: string }>(
      'SELECT n::text AS n FROM via_binary WHERE _sluice_ord <= 9 ORDER BY _sluice_ord',
    );
    expect(kept.rows.map((r) => r.n)).toEqual(fixed);
  });

  it('takes every value of the exact-values catalog that the validator accepts', async () => {
    const catalog = JSON.parse(
      readFileSync(resolve('test/fixtures/exact-values/differential.json'), 'utf8'),
    ) as { types: Record<string, { values: string[] }> };
    const rows: (string | null)[][] = [];
    for (const [type, cases] of Object.entries(catalog.types)) {
      const column = NAMES.find((n) => COLUMNS[n] === type);
      if (!column) continue;
      for (const value of cases.values) {
        const outcome = validate({ [column]: value } as never);
        if (outcome.ok) rows.push(outcome.values);
      }
    }
    expect(rows.length).toBeGreaterThan(50);
    const { csv, binary } = await loadBoth(rows);
    expect(binary).toEqual(csv);
  });
});

describe('binary COPY encoder', () => {
  const numeric = [{ name: 'amount', type: 'numeric(12,2)' }];

  it('fails when a numeric value is NaN, Infinity or not canonical text', () => {
    for (const value of ['NaN', 'Infinity', '-Infinity', '1e5', ' 1', '+1', '.5', '']) {
      const out = new BinaryCopyBuffer(numeric);
      expect(() => out.addRow([value], 1, 1), value).toThrow(BinaryCopyValueError);
      expect(() => out.addRow([value], 1, 1), value).toThrow(
        /column "amount": value .* is not canonical numeric/,
      );
    }
  });

  it('fails when an integer, date or timestamp is out of its canonical form', () => {
    const cases: [string, string][] = [
      ['integer', '2147483648'],
      ['integer', '1.0'],
      ['smallint', '40000'],
      ['bigint', '9223372036854775808'],
      ['date', '2024-1-01'],
      ['timestamp', '2024-01-01 10:00:00+00'],
      ['timestamptz', '2024-01-01 10:00:00'],
      ['boolean', 'true'],
      ['uuid', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'],
    ];
    for (const [type, value] of cases) {
      const out = new BinaryCopyBuffer([{ name: 'c', type }]);
      expect(() => out.addRow([value], 1, 1), `${type} ${value}`).toThrow(BinaryCopyValueError);
    }
  });

  it('has no binary form for real, so such a table stays on CSV', () => {
    expect(canCopyBinary(['text', 'real'])).toBe(false);
    expect(canCopyBinary(Object.values(COLUMNS))).toBe(true);
  });
});
