import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PgWarehouse } from '../../../functions/adapters/warehouse/pg.js';
import postgresSource from '../../../functions/connectors/postgres/connector.js';
import { runPipelineLocally } from '../../../functions/local/runner.js';
import { checkSourceContract } from '../../../functions/sdk/contract.js';
import {
  createScratchPg,
  openPgWarehouse,
  postgresAvailable,
  type ScratchPg,
  specFromFixture,
} from './databases.js';

const ROWS = 1_000_000;

describe.skipIf(!postgresAvailable)('postgres source on the real PostgreSQL', () => {
  let source: ScratchPg;
  let target: ScratchPg;
  let wh: PgWarehouse;
  let specFile: string;
  const home = mkdtempSync(join(tmpdir(), 'sluice-home-'));
  const logger = { debug() {}, info() {}, warn() {}, error() {} };
  const run = (extra: Parameters<typeof runPipelineLocally>[0] extends infer O ? Partial<O> : never = {}) =>
    runPipelineLocally({ specFile, home, warehouse: wh, logger, ...extra });
  const count = async (sql: string) => Number((await target.client.query(sql)).rows[0].n);
  const cursor = async () =>
    (await target.client.query(`SELECT state FROM sluice.cursors WHERE pipeline = 'pg-events'`)).rows[0]
      ?.state;

  beforeAll(async () => {
    source = await createScratchPg('sluice_src');
    target = await createScratchPg('sluice_wh');
    await source.client.query(`
      CREATE TABLE events (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL, day date NOT NULL, kind text, amount numeric(12,2));
      INSERT INTO events
      SELECT g, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second', date '2026-01-01' + (g % 59),
             CASE WHEN g % 3 = 0 THEN 'click' ELSE 'view' END, (g % 1000) / 10.0
        FROM generate_series(1, ${ROWS}) g;
      ANALYZE events;`);
    wh = openPgWarehouse(target.url);
    specFile = specFromFixture('pg-events.yaml', { SOURCE_DB: source.database });
  });
  afterAll(async () => {
    await wh?.close();
    await source?.dispose();
    await target?.dispose();
  });

  // Two cores shared with the rest of the suite: a 1M-row load gets more than the default minute.
  it('loads a 1M-row table once, in 8 key-range chunks, and sets the cursor to the max updated_at', {
    timeout: 150_000,
  }, async () => {
    const result = await run();

    expect(result.error).toBeUndefined();
    expect(result.summary?.chunks).toBe(8);
    expect(result.summary?.loaded).toBe(ROWS);
    expect(await count('SELECT count(*) AS n FROM analytics.events')).toBe(ROWS);
    expect(await count('SELECT count(DISTINCT id) AS n FROM analytics.events')).toBe(ROWS);
    expect(await cursor()).toEqual({ column: 'updated_at', value: '2026-01-12 13:46:40+00' });
  });

  it('loads only the rows added since, on the next run', async () => {
    await source.client.query(`
      INSERT INTO events
      SELECT g, timestamptz '2026-02-01 00:00:00+00' + g * interval '1 second', date '2026-02-01', 'new', 1
        FROM generate_series(${ROWS + 1}, ${ROWS + 500}) g;
      UPDATE events SET updated_at = timestamptz '2026-03-01 00:00:00+00', kind = 'updated' WHERE id = 7;`);

    const result = await run();

    expect(result.error).toBeUndefined();
    expect(result.summary?.loaded).toBe(501);
    expect(await count(`SELECT count(*) AS n FROM analytics.events WHERE kind IN ('new', 'updated')`)).toBe(
      501,
    );
    expect(await cursor()).toEqual({ column: 'updated_at', value: '2026-03-01 00:00:00+00' });
  });

  it('backfills a window without moving the cursor', async () => {
    const before = await cursor();

    const result = await run({ backfill: { from: '2026-01-01 00:00:01+00', to: '2026-01-01 01:00:01+00' } });

    expect(result.error).toBeUndefined();
    // ids 1..3600 fall in the hour, but id 7 was moved to March by the previous test.
    expect(result.summary?.loaded).toBe(3599);
    expect(await cursor()).toEqual(before);
  });

  it('loads nothing when nothing changed', async () => {
    const result = await run();

    expect(result.error).toBeUndefined();
    expect(result.summary?.loaded).toBe(0);
  });

  it('fails naming the source and the cause when the cursor column does not exist, cursor untouched', async () => {
    const before = await cursor();
    const bad = specFromFixture('pg-events.yaml', { SOURCE_DB: source.database });
    writeFileSync(bad, readFileSync(bad, 'utf8').replace('column: updated_at', 'column: changed_at'));

    const result = await runPipelineLocally({ specFile: bad, home, warehouse: wh, logger });

    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/source postgres: .*column "changed_at" does not exist/);
    expect(await cursor()).toEqual(before);
  });

  it('fails naming the source and the cause when the database is unreachable, cursor untouched', async () => {
    const before = await cursor();
    const bad = specFromFixture('pg-events.yaml', { SOURCE_DB: source.database });
    writeFileSync(bad, readFileSync(bad, 'utf8').replace('port: 5432', 'port: 1'));

    const result = await runPipelineLocally({ specFile: bad, home, warehouse: wh, logger });

    expect(result.status).toBe('failed');
    expect(result.error).toMatch(
      /source postgres: cannot connect to postgres@127\.0\.0\.1:1\/.*ECONNREFUSED/,
    );
    expect(await cursor()).toEqual(before);
  });
  it.each(['minmax', 'quantiles'])('keeps the connector contract (%s split)', async (split) => {
    await source.client.query(`CREATE TABLE small (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL, note text);
      INSERT INTO small SELECT g, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 minute', CASE WHEN g % 10 = 0 THEN NULL ELSE 'n' || g END FROM generate_series(1, 500) g;`);

    const findings = await checkSourceContract({
      connector: postgresSource,
      config: {
        connection: { host: '127.0.0.1', port: 5432, database: source.database, user: 'postgres' },
        table: 'small',
        key: 'id',
        split,
        cursor: { column: 'updated_at' },
        fetchSize: 100,
      },
      identity: (row) => String(row.id),
      expectedRows: 500,
    });
    await source.client.query('DROP TABLE small');

    expect(findings).toEqual([]);
  });
});
