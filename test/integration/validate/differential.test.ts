import { isUtf8 } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileCast } from '../../../functions/engine/transforms/cast.js';
import { RowRejection } from '../../../functions/engine/transforms/step.js';
import { compileRowValidator } from '../../../functions/engine/validate/index.js';
import { type TestWarehouse, warehouseTargets } from '../warehouse/targets.js';

interface TypeCases {
  /** The `cast` target to send the values through as well, then the validator. */
  cast?: 'integer' | 'number' | 'boolean' | 'date' | 'timestamp';
  values: string[];
  /** Hex byte strings read as a text column (as the files connector reads bytes). */
  bytes?: string[];
  /** The allow-list: value (or hex) → why Sluice deliberately differs from PostgreSQL. */
  differs: Record<string, string>;
  /** Differences that start at a PostgreSQL major version. */
  differsSince?: Record<string, { pg: number; reason: string }>;
  /** Differences of the cast path only. */
  castDiffers?: Record<string, string>;
}
const FIXTURE = JSON.parse(readFileSync(resolve('test/fixtures/exact-values/differential.json'), 'utf8')) as {
  types: Record<string, TypeCases>;
};

type Outcome = { ok: true; text: string | null } | { ok: false; reason: string };

/** UTF-8, except that a lone surrogate is encoded as itself (WTF-8): the bytes a writer of it means. */
function wtf8Hex(text: string): string {
  if ((text as unknown as { isWellFormed(): boolean }).isWellFormed())
    return Buffer.from(text).toString('hex');
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.codePointAt(i)!;
    if (c > 0xffff) i++;
    if (c >= 0xd800 && c <= 0xdfff) bytes.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    else bytes.push(...Buffer.from(String.fromCodePoint(c)));
  }
  return Buffer.from(bytes).toString('hex');
}

function validate(type: string, value: unknown): Outcome {
  const outcome = compileRowValidator({ v: { type, nullable: true } })({ v: value });
  return outcome.ok ? { ok: true, text: outcome.values[0]! } : { ok: false, reason: outcome.reason };
}

function castThenValidate(type: string, to: NonNullable<TypeCases['cast']>, value: string): Outcome {
  const result = compileCast({ column: 'v', to }, 'differential')({ v: value });
  if (result instanceof RowRejection) return { ok: false, reason: result.reason };
  return validate(type, 'kind' in result ? undefined : result.v);
}

/** The files connector's reading of bytes: invalid UTF-8 is rejected, the rest decoded. */
function validateBytes(type: string, hex: string): Outcome {
  const bytes = Buffer.from(hex, 'hex');
  return isUtf8(bytes) ? validate(type, bytes.toString('utf8')) : { ok: false, reason: 'invalid UTF-8' };
}

/**
 * Stores the text into a column of the type, as COPY would (an assignment, not an explicit cast, which
 * would cut a varchar silently), and returns what the column holds as text, or the error.
 */
const TRY_INPUT = `
CREATE FUNCTION sluice_try_input(hex text, typ text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text; probe text := 'probe_' || md5(typ);
BEGIN
  PERFORM set_config('TimeZone', 'UTC', true);
  PERFORM set_config('DateStyle', 'ISO, MDY', true);
  EXECUTE format('CREATE TABLE IF NOT EXISTS %I (v %s)', probe, typ);
  -- An untyped literal goes through the type's input function with its typmod, as COPY does.
  EXECUTE format('INSERT INTO %I (v) VALUES (%L) RETURNING v::text', probe, convert_from(decode(hex, 'hex'), 'UTF8'))
    INTO r;
  RETURN 'ok:' || coalesce(r, '<null>');
EXCEPTION WHEN others THEN
  RETURN 'error:' || SQLERRM;
END $$`;

/**
 * Issue 12 scope 5 / issue 14: the same values through Sluice's validators (and casts) and through
 * PostgreSQL's own input functions (`convert_from(bytes, 'UTF8')::type`, which also judges the bytes),
 * compared value by value: either both refuse, or both accept and PostgreSQL stores the same value
 * from Sluice's output as from the original text. Every difference must be in the fixture's allow-list
 * with its reason, and every allow-listed value must still differ.
 */
describe.each(warehouseTargets)('validators against PostgreSQL input functions on $name', (target) => {
  let db: TestWarehouse;
  let major = 0;
  beforeAll(async () => {
    db = await target.open();
    await db.wh.query(TRY_INPUT);
    const { rows } = await db.wh.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
    major = Math.floor(Number(rows[0]!.v) / 10000);
  });
  afterAll(() => db?.dispose());

  const postgres = async (type: string, hexes: string[]): Promise<string[]> => {
    if (hexes.length === 0) return [];
    const { rows } = await db.wh.query<{ r: string }>(
      `SELECT sluice_try_input(h, $2) AS r FROM unnest($1::text[]) WITH ORDINALITY AS u(h, i) ORDER BY i`,
      [hexes, type],
    );
    return rows.map((r) => r.r);
  };

  const short = (text: string) =>
    text.length > 80 ? `${text.slice(0, 40)}…(${text.length} characters)` : text;

  /** Each value where Sluice and PostgreSQL disagree, described; undefined where they agree. */
  const compare = async (type: string, hexes: string[], outcomes: Outcome[]) => {
    const original = await postgres(type, hexes);
    const accepted = outcomes.map((o) => (o.ok && o.text !== null ? wtf8Hex(o.text) : undefined));
    const reread = await postgres(
      type,
      accepted.filter((h): h is string => h !== undefined),
    );
    let next = 0;
    const disagreement = (sluice: Outcome, i: number): string | undefined => {
      const pg = original[i]!;
      const pgAccepts = pg.startsWith('ok:');
      if (!sluice.ok)
        return pgAccepts ? `Sluice refuses (${sluice.reason}), PostgreSQL stores ${pg.slice(3)}` : undefined;
      if (sluice.text === null)
        return `Sluice stores NULL, PostgreSQL ${pgAccepts ? `stores ${pg.slice(3)}` : 'refuses'}`;
      const stored = reread[next++]!;
      if (!pgAccepts) return `Sluice stores ${stored.slice(3)}, PostgreSQL refuses (${pg.slice(6)})`;
      return stored === pg ? undefined : `Sluice stores ${stored.slice(3)}, PostgreSQL stores ${pg.slice(3)}`;
    };
    return outcomes.map((sluice, i) => {
      const d = disagreement(sluice, i);
      return d && short(d);
    });
  };

  for (const [type, cases] of Object.entries(FIXTURE.types)) {
    it(`agrees on ${type} except where the allow-list says why`, async () => {
      const labels = [...cases.values, ...(cases.bytes ?? [])];
      const hexes = [...cases.values.map(wtf8Hex), ...(cases.bytes ?? [])];
      const outcomes = [
        ...cases.values.map((v) => validate(type, v)),
        ...(cases.bytes ?? []).map((h) => validateBytes(type, h)),
      ];
      const differences = await compare(type, hexes, outcomes);
      const allowed = (label: string) => {
        const since = cases.differsSince?.[label];
        return label in cases.differs || (since !== undefined && major >= since.pg);
      };

      const unexpected = labels.flatMap((label, i) => {
        const d = differences[i];
        if (d !== undefined && !allowed(label)) return [`${JSON.stringify(label)}: ${d}`];
        if (d === undefined && allowed(label))
          return [`${JSON.stringify(label)}: allow-listed but no longer differs`];
        return [];
      });
      expect(unexpected).toEqual([]);
    });

    const to = cases.cast;
    if (to) {
      it(`agrees on ${type} through cast to ${to}, except where the allow-list says why`, async () => {
        const outcomes = cases.values.map((v) => castThenValidate(type, to, v));
        const differences = await compare(type, cases.values.map(wtf8Hex), outcomes);
        const allowed = (label: string) => {
          const since = cases.differsSince?.[label];
          return (
            label in cases.differs ||
            label in (cases.castDiffers ?? {}) ||
            (since !== undefined && major >= since.pg)
          );
        };

        const unexpected = cases.values.flatMap((label, i) => {
          const d = differences[i];
          if (d !== undefined && !allowed(label)) return [`${JSON.stringify(label)}: ${d}`];
          return [];
        });
        expect(unexpected).toEqual([]);
      });
    }
  }
});
