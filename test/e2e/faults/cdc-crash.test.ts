import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchPg, type ScratchPg } from '../../integration/connectors/databases.js';
import { type CdcSource, changeWorkload, createCdcSource, fingerprint } from '../../support/cdc-source.js';
import { runCli } from '../../support/cli.js';
import { logicalPostgresForTests } from '../../support/logical-pg.js';

/**
 * CDC change runs killed (exit 137, as kill -9) in the middle of their chunks, inside their commit, and
 * between the commit and the slot's acknowledgement; the next run takes over. The changes are staged
 * exactly once per chunk and applied only in the commit, and the slot moves only after it: the
 * target ends equal to the source, the history holds each change once, the slot where the cursor is.
 */
const url = await logicalPostgresForTests('CDC crash tests');
const suffix = Math.random().toString(16).slice(2, 8);

describe.runIf(url)(
  'CDC runs killed mid-run, mid-commit and before the slot moved (logical-WAL PostgreSQL)',
  () => {
    let source: CdcSource;
    let target: ScratchPg;
    const home = mkdtempSync(join(tmpdir(), 'sluice-cdc-crash-'));
    const specs: Record<string, string> = {};
    const pipelines = { upsert: `cdc-kup-${suffix}`, history: `cdc-khist-${suffix}` };
    const tables = {
      upsert: `crm.${pipelines.upsert.replaceAll('-', '_')}_upsert`,
      history: `crm.${pipelines.history.replaceAll('-', '_')}_history`,
    };
    const slot = (kind: 'upsert' | 'history') => `sluice_${pipelines[kind].replaceAll('-', '_')}`;
    const cli = (kind: 'upsert' | 'history', fault?: string) =>
      runCli(['run', specs[kind]!, '--home', home, '--concurrency', '1'], {
        DATABASE_URL: target.url,
        ...(fault ? { SLUICE_FAULT: fault } : {}),
      });
    const positions = async (kind: 'upsert' | 'history') => {
      const stored = await target.client.query<{ lsn: string }>(
        `SELECT state->'cdc'->>'lsn' AS lsn FROM sluice.cursors WHERE pipeline = $1`,
        [pipelines[kind]],
      );
      const confirmed = await source.client.query<{ lsn: string }>(
        'SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1',
        [slot(kind)],
      );
      return { stored: stored.rows[0]?.lsn, slot: confirmed.rows[0]?.lsn };
    };

    beforeAll(async () => {
      source = await createCdcSource(url!);
      target = await createScratchPg('sluice_cdc_crash_wh');
      specs.upsert = source.spec('pg-cdc-upsert.yaml', pipelines.upsert);
      specs.history = source.spec('pg-cdc-history.yaml', pipelines.history);
      for (const kind of ['upsert', 'history'] as const) expect((await cli(kind)).code).toBe(0);
      await changeWorkload(source.client);
    }, 180_000);
    afterAll(async () => {
      await source?.dispose();
      await target?.dispose();
    });

    for (const kind of ['upsert', 'history'] as const)
      it(`${kind}: killed after its second chunk, in its commit, and after it before the slot moved; then a clean run`, async () => {
        const versionsBefore = await count(target, tables[kind]);
        expect((await cli(kind, 'after-chunk-commit:die:2')).code).toBe(137);
        expect((await cli(kind, 'inside-run-commit:die')).code).toBe(137);
        expect(await count(target, tables[kind])).toBe(versionsBefore); // nothing applied yet
        expect((await cli(kind, 'after-run-commit:die')).code).toBe(137);
        // Committed, not acknowledged: the slot is behind the stored LSN.
        const between = await positions(kind);
        expect(between.slot).not.toBe(between.stored);

        await source.client.query(`UPDATE customers SET tier = '${kind}' WHERE id % 100 = 95`);
        const clean = await cli(kind);

        expect(clean.code, clean.stderr).toBe(0);
        const where = kind === 'history' ? 'is_current' : 'true';
        expect(await fingerprint(target.client, tables[kind], where)).toEqual(
          await fingerprint(source.client, 'customers'),
        );
        // The workload's 164 versions, and 30 for each tier change of ids ending in 95 (the upsert test's ran first).
        if (kind === 'history')
          expect(await count(target, tables[kind])).toBe(versionsBefore + 164 + 30 + 30);
        const after = await positions(kind);
        expect(after.slot).toBe(after.stored);
      }, 300_000);
  },
);

async function count(target: ScratchPg, table: string): Promise<number> {
  return (await target.client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;
}
