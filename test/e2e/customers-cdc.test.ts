import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchPg, type ScratchPg } from '../integration/connectors/databases.js';
import { runCli } from '../support/cli.js';
import { LOGICAL_PG_PORT, logicalPostgresForTests } from '../support/logical-pg.js';

/**
 * The example pipelines/customers-cdc.yaml through the CLI, on the seed its header names (in a scratch
 * database of the logical-WAL PostgreSQL instead of `crm`): one version per customer, then one more per
 * tracked change read from the replication slot, a closed version per deleted customer, and none for a
 * change of updated_at alone.
 */
const url = await logicalPostgresForTests('customers-cdc example');

describe.runIf(url)('pipelines/customers-cdc.yaml through the CLI (logical-WAL PostgreSQL)', () => {
  let source: pg.Client;
  let target: ScratchPg;
  let specFile: string;
  const database = `sluice_crm_cdc_${Math.random().toString(16).slice(2, 10)}`;
  const home = mkdtempSync(join(tmpdir(), 'sluice-customers-cdc-'));
  const run = () => runCli(['run', specFile, '--home', home], { DATABASE_URL: target.url });
  const versions = async () =>
    (
      await target.client.query<{ id: string; tier: string; current: boolean }>(
        'SELECT customer_id AS id, tier, is_current AS current FROM analytics.customer_cdc_history ORDER BY customer_id, valid_from',
      )
    ).rows.map((r) => ({ id: Number(r.id), tier: r.tier, current: r.current }));

  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    const u = new URL(url!);
    u.pathname = `/${database}`;
    source = new pg.Client({ connectionString: u.toString() });
    await source.connect();
    await source.query(readFileSync('pipelines/data/customers-cdc/crm.sql', 'utf8'));
    target = await createScratchPg('sluice_crm_cdc_wh');
    const dir = mkdtempSync(join(tmpdir(), 'sluice-customers-cdc-spec-'));
    specFile = join(dir, 'customers-cdc.yaml');
    writeFileSync(
      specFile,
      readFileSync('pipelines/customers-cdc.yaml', 'utf8')
        .replace('database: crm', `database: ${database}`)
        .replace('port: 5433', `port: ${LOGICAL_PG_PORT}`),
    );
  }, 120_000);
  afterAll(async () => {
    await source?.query(
      'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = current_database()',
    );
    await source?.end();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
    await target?.dispose();
  });

  it('records every version of a customer from the slot, and closes the version of a deleted one', async () => {
    const first = await run();
    expect(first.code, first.stderr).toBe(0);
    expect(await versions()).toHaveLength(500);

    await source.query(`UPDATE customers SET tier = 'platinum', updated_at = now() WHERE customer_id = 7`);
    await source.query(`UPDATE customers SET updated_at = now() WHERE customer_id = 8`);
    await source.query(`DELETE FROM customers WHERE customer_id = 9`);
    await source.query(`UPDATE customers SET tier = 'gold' WHERE customer_id = 7`);
    const second = await run();

    expect(second.code, second.stderr).toBe(0);
    const all = await versions();
    expect(all).toHaveLength(502);
    expect(all.filter((v) => v.id >= 7 && v.id <= 9)).toEqual([
      { id: 7, tier: 'silver', current: false },
      { id: 7, tier: 'platinum', current: false },
      { id: 7, tier: 'gold', current: true },
      { id: 8, tier: 'gold', current: true },
      { id: 9, tier: 'bronze', current: false },
    ]);
  }, 180_000);
});
