import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchPg, type ScratchPg } from '../integration/connectors/databases.js';
import { type CdcSource, changeWorkload, createCdcSource, fingerprint } from '../support/cdc-source.js';
import { runCli } from '../support/cli.js';
import { logicalPostgresForTests } from '../support/logical-pg.js';

/**
 * CDC from PostgreSQL through the CLI (issue 17), on the tests' logical-WAL PostgreSQL: a first load
 * during which the source changes (those changes are neither lost nor applied twice), then a change
 * run with every kind of change; the upsert table equals the source, the history table holds exactly
 * one version per change. A dropped slot is refused, never reset.
 */
const url = await logicalPostgresForTests('CDC e2e');
const suffix = Math.random().toString(16).slice(2, 8);

describe.runIf(url)('CDC from PostgreSQL into upsert and history tables (logical-WAL PostgreSQL)', () => {
  let source: CdcSource;
  let target: ScratchPg;
  const home = mkdtempSync(join(tmpdir(), 'sluice-cdc-'));
  const specs: Record<string, string> = {};
  const pipelines = { upsert: `cdc-up-${suffix}`, history: `cdc-hist-${suffix}` };
  const tables = {
    upsert: `crm.${pipelines.upsert.replaceAll('-', '_')}_upsert`,
    history: `crm.${pipelines.history.replaceAll('-', '_')}_history`,
  };
  const cli = (kind: 'upsert' | 'history', env: Record<string, string> = {}) =>
    runCli(['run', specs[kind]!, '--home', home], { DATABASE_URL: target.url, ...env });

  beforeAll(async () => {
    source = await createCdcSource(url!);
    target = await createScratchPg('sluice_cdc_wh');
    specs.upsert = source.spec('pg-cdc-upsert.yaml', pipelines.upsert);
    specs.history = source.spec('pg-cdc-history.yaml', pipelines.history);
  }, 120_000);
  afterAll(async () => {
    await source?.dispose();
    await target?.dispose();
  });

  it('loads the table consistent with the slot while the source changes under the first load', async () => {
    for (const kind of ['upsert', 'history'] as const) {
      // The first chunk (ids below 1501) is loaded, the second not yet: the changes land in between.
      const release = join(home, `release-${kind}`);
      const first = cli(kind, {
        SLUICE_FAULT: 'after-chunk-commit:delay:1',
        SLUICE_FAULT_RELEASE_FILE: release,
        SLUICE_FAULT_DELAY_MS: '60000',
      });
      await waitForChunk(target, pipelines[kind]);
      const [updated, deleted, from] = kind === 'upsert' ? [3, 7, 3001] : [13, 17, 3011];
      await source.client.query(`
        UPDATE customers SET tier = 'silver' WHERE id % 100 = ${updated};
        DELETE FROM customers WHERE id % 100 = ${deleted};
        INSERT INTO customers SELECT g, date '2026-02-01', 'late' || g, 'bronze', NULL FROM generate_series(${from}, ${from + 9}) g;`);
      writeFileSync(release, '');
      const done = await first;
      expect(done.code, done.stderr).toBe(0);
    }
    // The changes' run: those the first load's second chunk read are not applied again.
    for (const kind of ['upsert', 'history'] as const) expect((await cli(kind)).code).toBe(0);

    expect(await fingerprint(target.client, tables.upsert)).toEqual(
      await fingerprint(source.client, 'customers'),
    );
    expect(await fingerprint(target.client, tables.history, 'is_current')).toEqual(
      await fingerprint(source.client, 'customers'),
    );
    // History's first chunk (ids below 1506) read before the changes, its second after: 1490 + 1485
    // first versions, and 15 more for the first chunk's changed tiers; none twice.
    expect(await versionCount(target, tables.history)).toBe(2990);
    expect(await historyDefects(target, tables.history)).toEqual({ repeats: 0, gaps: 0 });
  }, 240_000);

  it('applies inserts, updates, deletes, partition moves, key changes and unchanged TOAST values', async () => {
    const before = await versionCount(target, tables.history);
    await changeWorkload(source.client);

    for (const kind of ['upsert', 'history'] as const) {
      const run = await cli(kind);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/chunks\s+[2-9]/); // cut at transaction boundaries
    }

    expect(await fingerprint(target.client, tables.upsert)).toEqual(
      await fingerprint(source.client, 'customers'),
    );
    expect(await fingerprint(target.client, tables.history, 'is_current')).toEqual(
      await fingerprint(source.client, 'customers'),
    );
    expect(await versionCount(target, tables.history)).toBe(before + 164);
    expect(await historyDefects(target, tables.history)).toEqual({ repeats: 0, gaps: 0 });
  }, 240_000);

  it('soft-deletes with the source commit instant, and restores a key that comes back (deletes: soft)', async () => {
    const pipeline = `cdc-soft-${suffix}`;
    const table = `crm.${pipeline.replaceAll('-', '_')}_upsert`;
    const spec = source.spec('pg-cdc-upsert.yaml', pipeline);
    writeFileSync(spec, readFileSync(spec, 'utf8').replace('deletes: hard', 'deletes: soft'));
    expect((await runCli(['run', spec, '--home', home], { DATABASE_URL: target.url })).code).toBe(0);
    await source.client.query('DELETE FROM customers WHERE id % 100 = 80');
    await source.client.query(
      `INSERT INTO customers VALUES (180, date '2026-05-01', 'back', 'bronze', NULL)`,
    );

    const run = await runCli(['run', spec, '--home', home], { DATABASE_URL: target.url });

    expect(run.code, run.stderr).toBe(0);
    expect(await fingerprint(target.client, table, 'deleted_at IS NULL')).toEqual(
      await fingerprint(source.client, 'customers'),
    );
    const deleted = await target.client.query<{ n: number; stamped: number }>(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE deleted_at > now() - interval '10 minutes')::int AS stamped
         FROM ${table} WHERE deleted_at IS NOT NULL`,
    );
    expect(deleted.rows[0]).toEqual({ n: 29, stamped: 29 }); // 30 deleted, 180 came back
  }, 120_000);

  it('fails when the slot was dropped, naming it and loading nothing', async () => {
    await source.client.query(`UPDATE customers SET tier = 'lost' WHERE id = 1`);
    await source.client.query('SELECT pg_drop_replication_slot($1)', [
      `sluice_${pipelines.upsert.replaceAll('-', '_')}`,
    ]);

    const run = await cli('upsert');

    expect(run.code).toBe(1);
    expect(run.stderr + run.stdout).toContain(
      `replication slot "sluice_${pipelines.upsert.replaceAll('-', '_')}" does not exist (dropped?)`,
    );
    expect(
      (await target.client.query(`SELECT tier FROM ${tables.upsert} WHERE id = 1`)).rows[0]?.tier,
    ).not.toBe('lost');
  }, 120_000);
});

describe.runIf(url)('CDC bad input (logical-WAL PostgreSQL)', () => {
  let source: CdcSource;
  let target: ScratchPg;
  const home = mkdtempSync(join(tmpdir(), 'sluice-cdc-bad-'));
  const weak = `sluice_weak_${suffix}`;
  const run = (spec: string) => runCli(['run', spec, '--home', home], { DATABASE_URL: target.url });

  beforeAll(async () => {
    source = await createCdcSource(url!);
    target = await createScratchPg('sluice_cdc_bad_wh');
    await source.client.query(`
      CREATE TABLE customers_nokey (id bigint, signup_day date NOT NULL, name text, tier text, notes text);
      CREATE ROLE ${weak} LOGIN;
      GRANT SELECT ON customers_nokey TO ${weak};`);
  }, 120_000);
  afterAll(async () => {
    await source?.client.query(`DROP OWNED BY ${weak}; DROP ROLE IF EXISTS ${weak}`);
    await source?.dispose();
    await target?.dispose();
  });

  it('fails when the login may not replicate and the table has no key, naming both fixes and creating nothing', async () => {
    const spec = source.spec('pg-cdc-upsert.yaml', `cdc-bad-${suffix}`, {
      USER: weak,
      TABLE: 'customers_nokey',
    });

    const result = await run(spec);

    expect(result.code).toBe(1);
    const output = result.stderr + result.stdout;
    expect(output).toContain('is not possible yet; nothing was created');
    expect(output).toContain(`login "${weak}" may not replicate: ALTER ROLE "${weak}" REPLICATION`);
    expect(output).toContain(
      'table public.customers_nokey has no primary key or replica identity, so its updates and deletes carry no key',
    );
    expect(output).toContain(`login "${weak}" may not create publication "sluice_cdc_bad_${suffix}"`);
    expect(await source.slots()).toEqual([]);
    expect(await source.publications()).toEqual([]);
  }, 120_000);

  it('plans a first load with sluice plan without creating the slot or the publication', async () => {
    const spec = source.spec('pg-cdc-upsert.yaml', `cdc-plan-${suffix}`);

    const plan = await runCli(['plan', spec, '--home', home], { DATABASE_URL: target.url });

    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('2 chunk(s)');
    expect(await source.slots()).toEqual([]);
    expect(await source.publications()).toEqual([]);
  }, 120_000);

  it('fails when cdc is combined with a cursor, or with a mode that cannot apply changes, before anything starts', async () => {
    const withCursor = source.spec('pg-cdc-upsert.yaml', `cdc-cur-${suffix}`);
    writeFileSync(
      withCursor,
      readFileSync(withCursor, 'utf8').replace('cdc: {', 'cursor: { column: signup_day }\n    cdc: {'),
    );
    const append = source.spec('pg-cdc-upsert.yaml', `cdc-app-${suffix}`);
    writeFileSync(
      append,
      readFileSync(append, 'utf8').replace('mode: upsert', 'mode: append').replace('deletes: hard', ''),
    );

    const cursor = await run(withCursor);
    const appended = await run(append);

    expect(cursor.code).toBe(2);
    expect(cursor.stderr).toContain('source.config.cdc: cdc and cursor exclude each other');
    expect(appended.code).toBe(2);
    expect(appended.stderr).toContain(
      'source.config.cdc applies changes by key: destination.mode must be upsert or history, not append',
    );
    expect(await source.slots()).toEqual([]);
  }, 120_000);
});

/** Versions of a key that repeat the one before (a change applied twice), and versions that do not start where the one before ended. */
async function historyDefects(target: ScratchPg, table: string) {
  const { rows } = await target.client.query<{ repeats: number; gaps: number }>(
    `SELECT count(*) FILTER (WHERE (name, tier) IS NOT DISTINCT FROM (pn, pt) AND pto = valid_from)::int AS repeats,
            count(*) FILTER (WHERE pto IS NOT NULL AND pto > valid_from)::int AS gaps
       FROM (SELECT name, tier, valid_from, lag(name) OVER w AS pn, lag(tier) OVER w AS pt, lag(valid_to) OVER w AS pto
               FROM ${table} WINDOW w AS (PARTITION BY id ORDER BY valid_from)) v`,
  );
  return rows[0];
}

async function versionCount(target: ScratchPg, table: string): Promise<number> {
  return (await target.client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;
}

async function waitFor(check: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Until the pipeline's running run has one chunk in its ledger. */
async function waitForChunk(target: ScratchPg, pipeline: string): Promise<void> {
  await waitFor(async () => {
    const { rows } = await target.client
      .query<{ n: number }>(
        `SELECT count(*)::int AS n FROM sluice.run_chunks c JOIN sluice.runs r USING (run_id)
          WHERE r.pipeline = $1 AND r.status = 'running'`,
        [pipeline],
      )
      .catch(() => ({ rows: [{ n: 0 }] }));
    return rows[0]!.n >= 1;
  });
}
