import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PgWarehouse } from '../../../functions/adapters/warehouse/pg.js';
import { runPipelineLocally } from '../../../functions/local/runner.js';
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

/** destination.deletes: hard from MySQL/MariaDB, by key snapshot (issue 17; binlog CDC is not built). */
describe.skipIf(!mysqlAvailable || !postgresAvailable)('deletes by key snapshot from MariaDB', () => {
  let source: ScratchMysql;
  let target: ScratchPg;
  let wh: PgWarehouse;
  let specFile: string;
  const logger = { debug() {}, info() {}, warn() {}, error() {} };
  const home = mkdtempSync(join(tmpdir(), 'sluice-my-deletes-'));
  const run = () => runPipelineLocally({ specFile, home, warehouse: wh, logger });
  const sourceRows = async () =>
    (
      (await source.query(
        `SELECT CAST(id AS CHAR) AS id, CAST(signup_day AS CHAR) AS day, name FROM customers ORDER BY id`,
      )) as [{ id: string; day: string; name: string }[]]
    )[0];
  const targetRows = async () =>
    (
      await target.client.query<{ id: string; day: string; name: string }>(
        `SELECT id::text AS id, signup_day::text AS day, name FROM crm.my_customers ORDER BY id`,
      )
    ).rows;

  beforeAll(async () => {
    source = await createScratchMysql('sluice_mydel');
    target = await createScratchPg('sluice_mydel_wh');
    await source.query(`
      CREATE TABLE customers (id BIGINT PRIMARY KEY, updated_at DATETIME(6) NOT NULL, signup_day DATE NOT NULL, name VARCHAR(32));
      INSERT INTO customers
      SELECT seq, TIMESTAMP'2026-01-01 00:00:00' + INTERVAL seq MINUTE, DATE'2026-01-01' + INTERVAL (seq % 90) DAY, CONCAT('c', seq)
        FROM seq_1_to_500;`);
    wh = openPgWarehouse(target.url);
    specFile = specFromFixture('my-customers-deletes.yaml', { SOURCE_DB: source.database });
  });
  afterAll(async () => {
    await wh?.close();
    await source?.dispose();
    await target?.dispose();
  });

  it('deletes what the source deleted and moves rows whose partition changed', async () => {
    expect((await run()).error).toBeUndefined();
    await source.query(`
      DELETE FROM customers WHERE id % 50 = 7;
      UPDATE customers SET signup_day = signup_day + INTERVAL 40 DAY, updated_at = TIMESTAMP'2026-06-01 00:00:00' WHERE id % 100 = 3;`);

    const result = await run();

    expect(result.error).toBeUndefined();
    const rows = await targetRows();
    expect(rows).toHaveLength(490);
    expect(rows).toEqual(await sourceRows());
  });
});
