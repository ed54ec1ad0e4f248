import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchPg, postgresAvailable, type ScratchPg } from '../integration/connectors/databases.js';
import { runCli } from '../support/cli.js';

/**
 * The example pipelines/customers-history.yaml through the CLI, on the seed its header names (in a
 * scratch database instead of `crm`): one version per customer, then one more per tracked change, a
 * closed version per deleted customer, and none for a change of updated_at alone.
 */
describe.skipIf(!postgresAvailable)(
  'pipelines/customers-history.yaml through the CLI (real PostgreSQL)',
  () => {
    let source: ScratchPg;
    let target: ScratchPg;
    let specFile: string;
    const home = mkdtempSync(join(tmpdir(), 'sluice-customers-history-'));
    const run = () => runCli(['run', specFile, '--home', home], { DATABASE_URL: target.url });
    const versions = async () =>
      (
        await target.client.query<{ id: string; tier: string; current: boolean }>(
          'SELECT customer_id AS id, tier, is_current AS current FROM analytics.customer_history ORDER BY customer_id, valid_from',
        )
      ).rows.map((r) => ({ id: Number(r.id), tier: r.tier, current: r.current }));

    beforeAll(async () => {
      source = await createScratchPg('sluice_crm');
      target = await createScratchPg('sluice_crm_wh');
      await source.client.query(readFileSync('pipelines/data/customers-history/crm.sql', 'utf8'));
      const dir = mkdtempSync(join(tmpdir(), 'sluice-customers-history-spec-'));
      specFile = join(dir, 'customers-history.yaml');
      writeFileSync(
        specFile,
        readFileSync('pipelines/customers-history.yaml', 'utf8').replace(
          'database: crm',
          `database: ${source.database}`,
        ),
      );
    });
    afterAll(async () => {
      await source?.dispose();
      await target?.dispose();
    });

    it('records every version of a customer, and closes the version of a deleted one', async () => {
      const first = await run();
      expect(first.code, first.stderr).toBe(0);
      expect(await versions()).toHaveLength(500);

      await source.client.query(`
      UPDATE customers SET tier = 'platinum', updated_at = now() WHERE customer_id = 7;
      UPDATE customers SET updated_at = now() WHERE customer_id = 8;
      DELETE FROM customers WHERE customer_id = 9;`);
      const second = await run();

      expect(second.code, second.stderr).toBe(0);
      const all = await versions();
      expect(all).toHaveLength(501);
      expect(all.filter((v) => v.id >= 7 && v.id <= 9)).toEqual([
        { id: 7, tier: 'silver', current: false },
        { id: 7, tier: 'platinum', current: true },
        { id: 8, tier: 'gold', current: true },
        { id: 9, tier: 'bronze', current: false },
      ]);
    });
  },
);
