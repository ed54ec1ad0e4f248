// Issue 13.2: whole pipelines run as a loader login on the real PostgreSQL, and what that login is refused.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgWarehouse } from '../../../functions/adapters/warehouse/pg.js';
import { commitRun, ensureTargetTable, handTargetToLoader } from '../../../functions/engine/load/index.js';
import { loadSpecFile } from '../../../functions/engine/spec/load.js';
import { handleMigrationRequest } from '../../../functions/handlers/migrate.js';
import { runPipelineLocally } from '../../../functions/local/runner.js';
import { exampleSpec, partitionsOf, tableFingerprint } from '../../support/pipelines.js';
import { loadFixtureChunk, ordersSpec, startRun } from '../load/helpers.js';
import { type TestWarehouse, warehouseTargets, withAdminClient } from '../warehouse/targets.js';

// PostgreSQL only: a LOGIN role and a second connection as it need a server (CI=true never skips it).
const pg = warehouseTargets.filter((t) => t.name === 'pg');
if (pg.length === 0)
  console.warn('[loader-login] skipped: no PostgreSQL reachable (see warehouse/targets.ts)');

/** The example orders pipeline as one write mode, into its own table; `note` is left out (version 2 adds it). */
function ordersAs(mode: 'upsert' | 'append' | 'replace-partitions') {
  const table = `orders_${mode.replace('-', '_')}`;
  const p = exampleSpec([
    ['name: orders', `name: orders-${mode}`],
    ['table: orders', `table: ${table}`],
    ['mode: upsert', `mode: ${mode}`],
    ['  - trim: all\n', '  - trim: all\n  - drop: [note]\n'],
    ['    note: text\n', ''],
    // Append keeps every row, re-exported orders too: no key for them to collide on. Its chunks run in
    // the Fargate worker's container entry (a child process with the login's DATABASE_URL).
    ...(mode === 'append'
      ? ([
          ['  key: [order_id, order_date]\n', ''],
          ['  compute: auto', '  compute: fargate'],
        ] as [string, string][])
      : []),
  ]);
  return {
    ...p,
    pipeline: `orders-${mode}`,
    table: `analytics.${table}`,
    name: table,
    home: join(p.dir, '.sluice'),
  };
}

describe.each(pg)('a pipeline run as a loader login on $name', (target) => {
  let db: TestWarehouse;
  let login: string;
  let loginUrl: string;
  // Like Aurora's master user: CREATEROLE and the database's owner, but no superuser.
  const adminRole = `t_admin_${randomBytes(4).toString('hex')}`;
  let adminUrl: string;
  const upsert = ordersAs('upsert');
  const append = ordersAs('append');
  const replace = ordersAs('replace-partitions');
  const admin = () => new PgWarehouse({ connectionString: adminUrl, max: 2 });
  const urlOf = (user: string, password?: string) => {
    const url = new URL(db.url!);
    url.username = user;
    if (password) url.password = password;
    return url.toString();
  };

  /** Deploys as the stack does, as a non-superuser admin: migrations and the login, then each release. */
  beforeAll(async () => {
    db = await target.open();
    await db.wh.query(`CREATE ROLE ${adminRole} LOGIN CREATEROLE NOSUPERUSER`);
    await db.wh.query(`ALTER DATABASE ${new URL(db.url!).pathname.slice(1)} OWNER TO ${adminRole}`);
    adminUrl = urlOf(adminRole);
    login = `t_loader_login_${randomBytes(4).toString('hex')}`;
    const password = randomBytes(24).toString('base64url');
    const deps = {
      openWarehouse: async () => admin(),
      putStagingObject: async () => {},
      stagingBucket: 'sluice-test-staging',
      loginSecrets: async () => [{ group: 'loader' as const, username: login, password }],
      log: () => {},
    };
    await handleMigrationRequest(
      { RequestType: 'Create', ResourceProperties: { Kind: 'internal-schema' } },
      deps,
    );
    for (const p of [upsert, append, replace]) {
      const { spec } = await loadSpecFile(p.specFile);
      await handleMigrationRequest(
        {
          RequestType: 'Create',
          ResourceProperties: { Kind: 'pipeline', Pipeline: p.pipeline, Spec: JSON.stringify(spec) },
        },
        deps,
      );
    }
    loginUrl = urlOf(login, password);
    // Outside Sluice's reach: another team's schema, and a table of the admin's in the target schema.
    await db.wh.query(`CREATE SCHEMA finance; CREATE TABLE finance.payroll (id int, salary numeric)`);
    await db.wh.query(`CREATE TABLE analytics.admin_notes (id int)`);
  }, 120_000);
  afterAll(async () => {
    await db?.dispose();
    await withAdminClient(async (c) => {
      if (login) await c.query(`DROP ROLE IF EXISTS ${login}`);
      await c.query(`DROP ROLE IF EXISTS ${adminRole}`);
    });
  });

  /** Fargate chunks planned per run id: those run in the worker's container entry, as the login too. */
  const fargateChunks = new Map<string, number>();
  const run = (p: { specFile: string; home: string }, fullRefresh = false) =>
    runPipelineLocally({
      specFile: p.specFile,
      home: p.home,
      databaseUrl: loginUrl,
      fullRefresh,
      onEvent: (e) => {
        if (e.type === 'planned') fargateChunks.set(e.runId, e.fargateChunks);
      },
    });
  const fingerprint = (table: string) =>
    tableFingerprint(db.wh, table, 'order_id, order_date, ordered_at, sku');

  /** Runs statements on one connection of the loader login; the first error is thrown. */
  async function asLogin(sql: string): Promise<unknown> {
    const wh = new PgWarehouse({ connectionString: loginUrl, max: 1 });
    try {
      return (await wh.query(sql)).rows;
    } finally {
      await wh.close();
    }
  }

  it('loads every mode, through Lambda and the Fargate worker: counts add up, upsert and replace-partitions equal row for row', {
    timeout: 240_000,
  }, async () => {
    const results = [];
    for (const p of [upsert, append, replace]) {
      const result = await run(p);
      expect(result.error, p.pipeline).toBeUndefined();
      expect(result.status).toBe('succeeded');
      const s = result.summary!;
      expect(s.read).toBe(s.loaded + s.rejected + s.filtered);
      expect((await fingerprint(p.table)).rows).toBe(s.loaded);
      results.push(s);
    }
    expect(results.map((s) => s.read)).toEqual([4806, 4806, 4806]);
    expect(results.map((s) => (fargateChunks.get(s.runId) ?? 0) > 0)).toEqual([false, true, false]);
    expect(await fingerprint(replace.table)).toEqual(await fingerprint(upsert.table));
    // The released tables are the group's; the partitions the runs created, the login's.
    const owners = await db.wh.query<{ kind: string; owner: string }>(
      `SELECT DISTINCT c.relkind::text AS kind, pg_get_userbyid(c.relowner) AS owner FROM pg_class c
        WHERE c.relnamespace = 'analytics'::regnamespace AND c.relkind IN ('r', 'p')
          AND (c.relname ~ '^orders_.*_p2026' OR c.relname LIKE 'orders%' AND c.relkind = 'p')
        ORDER BY 1`,
    );
    expect(owners.rows).toEqual([
      { kind: 'p', owner: 'sluice_loader' },
      { kind: 'r', owner: login },
    ]);
    // The reader still reads what the loader owns.
    const read = await db.wh.transaction(async (tx) => {
      await tx.query('SET LOCAL ROLE sluice_reader');
      return tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${upsert.table}`);
    });
    expect(read.rows).toEqual([{ n: results[0]!.loaded }]);
    // The audit log names the login that ran them (the releases before were the admin's).
    const actors = await db.wh.query<{ actor: string }>(
      `SELECT DISTINCT actor FROM sluice.audit_log WHERE pipeline LIKE 'orders-%' AND kind LIKE 'run.%'`,
    );
    expect(actors.rows).toEqual([{ actor: login }]);
  });

  it('reruns loading nothing new, and a full refresh gives the same rows', { timeout: 240_000 }, async () => {
    const before = await fingerprint(upsert.table);
    const rerun = await run(upsert);
    expect(rerun.status).toBe('succeeded');
    expect(rerun.summary!.loaded).toBe(0);
    expect(await fingerprint(upsert.table)).toEqual(before);

    const refresh = await run(upsert, true);
    expect(refresh.error).toBeUndefined();
    expect(refresh.summary!.loaded).toBe(before.rows);
    expect(await fingerprint(upsert.table)).toEqual(before);
  });

  it('applies a safe schema change in the run (a new nullable column), then drops expired partitions', {
    timeout: 240_000,
  }, async () => {
    const before = await fingerprint(upsert.table);
    const v2 = readFileSync(upsert.specFile, 'utf8')
      .replace('version: 1', 'version: 2')
      .replace('  - drop: [note]\n', '')
      .replace('    currency: varchar(3)\n', '    currency: varchar(3)\n    note: text\n');
    writeFileSync(upsert.specFile, v2);

    const migrated = await run(upsert, true);

    expect(migrated.error).toBeUndefined();
    const noted = await db.wh.query<{ rows: number; noted: number }>(
      `SELECT count(*)::int AS rows, count(note)::int AS noted FROM ${upsert.table}`,
    );
    expect(noted.rows[0]!.rows).toBe(before.rows);
    expect(noted.rows[0]!.noted).toBeGreaterThan(0);
    const versions = await db.wh.query<{ action: string }>(
      `SELECT action FROM sluice.table_versions WHERE table_name = $1 AND spec_version = 2`,
      [upsert.name],
    );
    expect(versions.rows).toEqual([{ action: 'migrated' }]);

    // Keep May 2026 onwards, whatever today is: retention counts back from the current month.
    const now = new Date();
    const keep = now.getUTCFullYear() * 12 + now.getUTCMonth() - (2026 * 12 + 4);
    const kept = await db.wh.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${upsert.table} WHERE order_date >= '2026-05-01'`,
    );
    writeFileSync(
      upsert.specFile,
      v2
        .replace('version: 2', 'version: 3')
        .replace('retention: { keep: 120 }', `retention: { keep: ${keep} }`),
    );

    const pruned = await run(upsert);

    expect(pruned.error).toBeUndefined();
    expect(await partitionsOf(db.wh, 'analytics', upsert.name)).toEqual([
      `${upsert.name}_default`,
      `${upsert.name}_p202605`,
      `${upsert.name}_p202606`,
    ]);
    expect((await fingerprint(upsert.table)).rows).toBe(kept.rows[0]!.n);
  });

  it('swaps the empty partitions of a first load in as the login (new table, DETACH, DROP, ATTACH)', async () => {
    const { spec } = ordersSpec({ schema: 'swap_login', partitionSwap: { enabled: true, minRows: 1 } });
    const named = { ...spec, name: 'swap-login' };
    const release = admin();
    try {
      await ensureTargetTable(release, named.destination, { pipeline: named.name, version: 1, hash: 'h' });
      await handTargetToLoader(release, named.destination);
    } finally {
      await release.close();
    }
    const wh = new PgWarehouse({ connectionString: loginUrl, max: 2 });
    try {
      const runId = await startRun(wh, named, { chunks: 1 });
      await loadFixtureChunk(wh, runId, named, 'run2-upsert.csv');
      const committed = await commitRun(wh, { runId, spec: named, files: [], expectedChunks: 1 });

      const { rows } = await db.wh.query<{ swapped: string[] }>(
        `SELECT summary -> 'swapped' AS swapped FROM sluice.runs WHERE run_id = $1`,
        [runId],
      );
      expect(rows[0]!.swapped).toEqual(['orders_p202401', 'orders_p202402', 'orders_p202403']);
      const count = await db.wh.query<{ n: number }>('SELECT count(*)::int AS n FROM swap_login.orders');
      expect(count.rows).toEqual([{ n: committed.loaded }]);
    } finally {
      await wh.close();
    }
  });

  it('lets the login change its own password, as single-user secret rotation does', async () => {
    const next = randomBytes(24).toString('base64url');
    await asLogin(`ALTER USER ${login} WITH PASSWORD '${next}'`);
    await db.wh.query(`ALTER USER ${login} WITH PASSWORD '${new URL(loginUrl).password}'`);
  });

  it.each([
    [
      'drop a table it does not own',
      'DROP TABLE analytics.admin_notes',
      /must be owner of table admin_notes/,
    ],
    ['alter a table it does not own', 'ALTER TABLE analytics.admin_notes ADD COLUMN x int', /must be owner/],
    ['read another schema', 'SELECT * FROM finance.payroll', /permission denied for schema finance/],
    ['create a schema', 'CREATE SCHEMA sneaky', /permission denied for database/],
    [
      'update the audit log',
      `UPDATE sluice.audit_log SET detail = '{}'`,
      /permission denied for table audit_log/,
    ],
    ['delete the audit log', 'DELETE FROM sluice.audit_log', /permission denied for table audit_log/],
    ['create a role', 'CREATE ROLE sneaky_admin', /permission denied to create role/],
    [
      'grant itself more',
      'GRANT pg_read_all_data TO sluice_loader',
      /must have admin option on role "pg_read_all_data"|permission denied to grant role/,
    ],
  ])('fails when the loader login tries to %s', async (_what, sql, refusal) => {
    await expect(asLogin(sql)).rejects.toThrow(refusal);
  });

  it('fails when a run needs a schema nobody released, naming what is missing; nothing is created', {
    timeout: 120_000,
  }, async () => {
    const p = ordersAs('upsert');
    const text = readFileSync(p.specFile, 'utf8')
      .replace('name: orders-upsert', 'name: orders-unreleased')
      .replace('schema: analytics', 'schema: unreleased');
    writeFileSync(p.specFile, text);

    const result = await run(p);

    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/permission denied for database/);
    const schema = await db.wh.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'unreleased'`);
    expect(schema.rowCount).toBe(0);
  });
});
