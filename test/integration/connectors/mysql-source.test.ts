import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PgWarehouse } from '../../../functions/adapters/warehouse/pg.js';
import mysqlSource from '../../../functions/connectors/mysql/connector.js';
import { type LocalRunOptions, runPipelineLocally } from '../../../functions/local/runner.js';
import { checkSourceContract } from '../../../functions/sdk/contract.js';
import {
  createScratchMysql,
  createScratchPg,
  mysqlAvailable,
  openPgWarehouse,
  postgresAvailable,
  type ScratchMysql,
  type ScratchPg,
  specFromFixture,
} from './databases.js';

const ROWS = 1_000_000;

describe.skipIf(!mysqlAvailable || !postgresAvailable)('mysql source on the real MariaDB', () => {
  let source: ScratchMysql;
  let target: ScratchPg;
  let wh: PgWarehouse;
  let specFile: string;
  const home = mkdtempSync(join(tmpdir(), 'sluice-home-'));
  const logger = { debug() {}, info() {}, warn() {}, error() {} };
  const run = (extra: Partial<LocalRunOptions> = {}) =>
    runPipelineLocally({ specFile, home, warehouse: wh, logger, ...extra });
  const count = async (sql: string) => Number((await target.client.query(sql)).rows[0].n);
  const cursor = async () =>
    (await target.client.query(`SELECT state FROM sluice.cursors WHERE pipeline = 'my-events'`)).rows[0]
      ?.state;

  beforeAll(async () => {
    source = await createScratchMysql('sluice_src');
    target = await createScratchPg('sluice_wh');
    await source.query(`
      CREATE TABLE events (id BIGINT PRIMARY KEY, updated_at DATETIME(6) NOT NULL, day DATE NOT NULL,
                           kind VARCHAR(16), amount DECIMAL(12,2), KEY (updated_at));
      INSERT INTO events
      SELECT seq, TIMESTAMP'2026-01-01 00:00:00' + INTERVAL seq SECOND, DATE'2026-01-01' + INTERVAL (seq % 59) DAY,
             IF(seq % 3 = 0, 'click', 'view'), (seq % 1000) / 10
        FROM seq_1_to_${ROWS};`);
    wh = openPgWarehouse(target.url);
    specFile = specFromFixture('my-events.yaml', { SOURCE_DB: source.database });
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
    expect(await count('SELECT count(DISTINCT id) AS n FROM analytics.events')).toBe(ROWS);
    expect(
      await count(
        `SELECT count(*) AS n FROM analytics.events WHERE id = 3 AND updated_at = '2026-01-01 00:00:03+00' AND kind = 'click' AND amount = 0.3`,
      ),
    ).toBe(1);
    expect(await cursor()).toEqual({ column: 'updated_at', value: '2026-01-12 13:46:40.000000' });
  });

  it('loads only the rows added since, on the next run', async () => {
    await source.query(`
      INSERT INTO events SELECT seq, TIMESTAMP'2026-02-01 00:00:00' + INTERVAL seq SECOND, DATE'2026-02-01', 'new', 1
        FROM seq_${ROWS + 1}_to_${ROWS + 500};
      UPDATE events SET updated_at = TIMESTAMP'2026-03-01 00:00:00', kind = 'updated' WHERE id = 7;`);

    const result = await run();

    expect(result.error).toBeUndefined();
    expect(result.summary?.loaded).toBe(501);
    expect(await count(`SELECT count(*) AS n FROM analytics.events WHERE kind IN ('new', 'updated')`)).toBe(
      501,
    );
    expect(await cursor()).toEqual({ column: 'updated_at', value: '2026-03-01 00:00:00.000000' });
  });

  it('backfills a window without moving the cursor', async () => {
    const before = await cursor();

    const result = await run({ backfill: { from: '2026-01-01 00:00:01', to: '2026-01-01 01:00:01' } });

    expect(result.error).toBeUndefined();
    // ids 1..3600 fall in the hour, but id 7 was moved to March by the previous test.
    expect(result.summary?.loaded).toBe(3599);
    expect(await cursor()).toEqual(before);
  });

  it('fails naming the source and the cause when the cursor column does not exist, cursor untouched', async () => {
    const before = await cursor();
    const bad = specFromFixture('my-events.yaml', { SOURCE_DB: source.database });
    writeFileSync(bad, readFileSync(bad, 'utf8').replace('column: updated_at', 'column: changed_at'));

    const result = await runPipelineLocally({ specFile: bad, home, warehouse: wh, logger });

    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/source mysql: .*Unknown column 'changed_at'/);
    expect(await cursor()).toEqual(before);
  });

  it('fails naming the source and the cause on wrong credentials, cursor untouched', async () => {
    const before = await cursor();
    const bad = specFromFixture('my-events.yaml', { SOURCE_DB: source.database });
    writeFileSync(bad, readFileSync(bad, 'utf8').replace('user: root', 'user: sluice_nobody'));

    const result = await runPipelineLocally({ specFile: bad, home, warehouse: wh, logger });

    expect(result.status).toBe('failed');
    expect(result.error).toMatch(
      /source mysql: cannot connect to sluice_nobody@127\.0\.0\.1:3306\/.*Access denied/,
    );
    expect(await cursor()).toEqual(before);
  });
  it.each(['minmax'])('keeps the connector contract (%s split)', async (split) => {
    await source.query(`CREATE TABLE small (id BIGINT PRIMARY KEY, updated_at DATETIME(6) NOT NULL, note VARCHAR(10));
      INSERT INTO small SELECT seq, TIMESTAMP'2026-01-01 00:00:00' + INTERVAL seq MINUTE, IF(seq % 10 = 0, NULL, CONCAT('n', seq)) FROM seq_1_to_500;`);

    const findings = await checkSourceContract({
      connector: mysqlSource,
      config: {
        connection: { host: '127.0.0.1', port: 3306, database: source.database, user: 'root' },
        table: 'small',
        key: 'id',
        split,
        cursor: { column: 'updated_at' },
        fetchSize: 100,
      },
      identity: (row) => String(row.id),
      expectedRows: 500,
    });
    await source.query('DROP TABLE small');

    expect(findings).toEqual([]);
  });
});
