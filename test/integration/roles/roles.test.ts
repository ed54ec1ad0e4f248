import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureInternalSchema,
  ensureTargetTable,
  handTargetToLoader,
  roleNames,
} from '../../../functions/engine/load/index.js';
import { loadSpecFile } from '../../../functions/engine/spec/load.js';
import { FAULT_SPEC } from '../../e2e/faults/support.js';
import { type TestWarehouse, warehouseTargets } from '../warehouse/targets.js';

const { loader, reader, auditor } = roleNames();

/** The roles migration 3 creates, each refused what it must not do — by the database, not by Sluice. */
describe.each(warehouseTargets)('runtime roles on $name', (target) => {
  let db: TestWarehouse;
  beforeAll(async () => {
    db = await target.open();
    await ensureInternalSchema(db.wh);
    const { spec, contentHash } = await loadSpecFile(FAULT_SPEC);
    await ensureTargetTable(db.wh, spec.destination, { pipeline: spec.name, version: 1, hash: contentHash });
    // As the pipeline-release custom resource does: the loader owns the targets runs write.
    await handTargetToLoader(db.wh, spec.destination);
    await db.wh.query(
      `INSERT INTO analytics.fault_orders (order_id, order_date, ordered_at, status, quantity, unit_price)
       VALUES (1, '2026-01-05', '2026-01-05 10:00:00', 'paid', 1, 9.5)`,
    );
  });
  afterAll(() => db?.dispose());

  /** Runs one statement as the role, in a transaction of its own. */
  const as = (role: string, sql: string) =>
    db.wh.transaction(async (tx) => {
      await tx.query(`SET LOCAL ROLE ${role}`);
      return tx.query(sql);
    });

  it('creates the three roles', async () => {
    const { rows } = await db.wh.query<{ rolname: string }>(
      'SELECT rolname FROM pg_roles WHERE rolname = ANY($1) ORDER BY 1',
      [[loader, reader, auditor]],
    );
    expect(rows.map((r) => r.rolname)).toEqual([auditor, loader, reader].sort());
  });

  it('lets the loader write ledgers and targets and append audit records', async () => {
    await as(
      loader,
      `INSERT INTO sluice.pipeline_locks (pipeline) VALUES ('roles-test') ON CONFLICT DO NOTHING`,
    );
    await as(loader, `UPDATE analytics.fault_orders SET quantity = 2 WHERE order_id = 1`);
    const appended = await as(
      loader,
      `SELECT sluice.audit_append('run.started', 'roles-test', NULL, '{}') AS seq`,
    );
    expect(appended.rows).toHaveLength(1);
  });

  it('records as actor the login that appended, even after SET ROLE, and the loader cannot name another', async () => {
    const login = `sluice_loader_login_${randomBytes(4).toString('hex')}`;
    await db.wh.query(`CREATE ROLE ${login} LOGIN IN ROLE ${loader}`);
    try {
      // As a loader login would connect: session_user is the login, then SET ROLE to the group. Reset
      // explicitly before the transaction ends: PGlite keeps a SET LOCAL SESSION AUTHORIZATION, and its
      // RESET SESSION AUTHORIZATION does not go back.
      const asLogin = (sql: string) =>
        db.wh.transaction(async (tx) => {
          const me = (await tx.query<{ u: string }>('SELECT session_user AS u')).rows[0]!.u;
          await tx.query(`SET LOCAL SESSION AUTHORIZATION ${login}`);
          await tx.query(`SET LOCAL ROLE ${loader}`);
          await tx.query('SAVEPOINT as_login');
          const result = await tx.query<{ seq: string }>(sql).catch(async (error: unknown) => {
            await tx.query('ROLLBACK TO SAVEPOINT as_login');
            return error instanceof Error ? error : new Error(String(error));
          });
          await tx.query('RESET ROLE');
          await tx.query(`SET SESSION AUTHORIZATION ${me}`);
          if (result instanceof Error) throw result;
          return result;
        });

      const { rows } = await asLogin(
        `SELECT sluice.audit_append('run.started', 'actor-test', NULL, '{}') AS seq`,
      );
      await expect(
        asLogin(`SELECT sluice.audit_append('run.started', 'actor-test', NULL, '{}', 'someone-else')`),
      ).rejects.toThrow(
        /function sluice\.audit_append\(unknown, unknown, unknown, unknown, unknown\) does not exist/,
      );

      const actor = await db.wh.query<{ actor: string }>(
        'SELECT actor FROM sluice.audit_log WHERE seq = $1',
        [rows[0]!.seq],
      );
      expect(actor.rows).toEqual([{ actor: login }]);
    } finally {
      await db.wh.query(`DROP OWNED BY ${login}`);
      await db.wh.query(`DROP ROLE ${login}`);
    }
  });

  it.each([
    ['UPDATE', `UPDATE sluice.audit_log SET detail = '{}'`],
    ['DELETE', 'DELETE FROM sluice.audit_log'],
    ['TRUNCATE', 'TRUNCATE sluice.audit_log'],
    [
      'INSERT (bypassing the chain)',
      `INSERT INTO sluice.audit_log VALUES (999, now(), 'run.started', NULL, NULL, 'x', '{}', repeat('0', 64), repeat('1', 64))`,
    ],
  ])('fails when the loader tries to %s the audit log', async (_what, sql) => {
    await expect(as(loader, sql)).rejects.toThrow(/permission denied/);
  });

  it('fails when the reader writes a target, or reads ledgers or audit', async () => {
    expect((await as(reader, 'SELECT count(*) FROM analytics.fault_orders')).rows).toEqual([{ count: 1 }]);
    await expect(as(reader, `UPDATE analytics.fault_orders SET quantity = 3`)).rejects.toThrow(
      /permission denied/,
    );
    await expect(as(reader, `DELETE FROM analytics.fault_orders`)).rejects.toThrow(/permission denied/);
    await expect(
      as(
        reader,
        `INSERT INTO analytics.fault_orders (order_id, order_date, ordered_at, status, quantity, unit_price)
                  VALUES (2, '2026-01-05', '2026-01-05 10:00:00', 'paid', 1, 1)`,
      ),
    ).rejects.toThrow(/permission denied/);
    await expect(as(reader, 'SELECT * FROM sluice.runs')).rejects.toThrow(/permission denied/);
    await expect(as(reader, 'SELECT * FROM sluice.audit_log')).rejects.toThrow(/permission denied/);
  });

  it('lets the auditor read the audit log and runs, and fails when it writes anything', async () => {
    const { rows } = await as(auditor, 'SELECT count(*)::int AS n FROM sluice.audit_log');
    expect((rows[0] as { n: number }).n).toBeGreaterThan(0);
    await as(auditor, 'SELECT count(*) FROM sluice.runs');
    await expect(as(auditor, `UPDATE sluice.audit_log SET detail = '{}'`)).rejects.toThrow(
      /permission denied/,
    );
    await expect(as(auditor, `SELECT sluice.audit_append('run.started', NULL, NULL, '{}')`)).rejects.toThrow(
      /permission denied/,
    );
    await expect(as(auditor, `DELETE FROM sluice.runs`)).rejects.toThrow(/permission denied/);
    await expect(as(auditor, 'SELECT * FROM analytics.fault_orders')).rejects.toThrow(/permission denied/);
  });
});

/** Migration 7 on a database deployed before it: targets and staging tables the admin created change hands. */
describe.each(warehouseTargets)('upgrading to migration 7 on $name', (target) => {
  let db: TestWarehouse;
  beforeAll(async () => {
    db = await target.open();
  });
  afterAll(() => db?.dispose());

  const ownerOf = async (table: string) =>
    (
      await db.wh.query<{ owner: string }>(
        `SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE oid = $1::regclass`,
        [table],
      )
    ).rows[0]?.owner;

  it('hands every target the ledger knows, its partitions and admin staging tables to the loader', async () => {
    await ensureInternalSchema(db.wh);
    const { spec, contentHash } = await loadSpecFile(FAULT_SPEC);
    await ensureTargetTable(db.wh, spec.destination, { pipeline: spec.name, version: 1, hash: contentHash });
    await db.wh.query('CREATE TABLE sluice_staging.run_leftover (x int)');
    await db.wh.query('CREATE TABLE analytics.not_a_target (x int)');
    const admin = await ownerOf('analytics.fault_orders');
    expect(admin).not.toBe(loader);
    // As if the database had stopped at migration 6.
    await db.wh.query('DELETE FROM sluice.schema_migrations WHERE version = 7');
    await db.wh.query('DROP FUNCTION sluice.hand_target_to_loader(text, text)');

    expect(await ensureInternalSchema(db.wh)).toEqual([7]);

    expect(await ownerOf('analytics.fault_orders')).toBe(loader);
    expect(await ownerOf('analytics.fault_orders_default')).toBe(loader);
    expect(await ownerOf('sluice_staging.run_leftover')).toBe(loader);
    expect(await ownerOf('analytics.not_a_target')).toBe(admin);
    const schema = await db.wh.query<{ usage: boolean; create: boolean }>(
      `SELECT has_schema_privilege($1, 'analytics', 'USAGE') AS usage, has_schema_privilege($1, 'analytics', 'CREATE') AS create`,
      [loader],
    );
    expect(schema.rows).toEqual([{ usage: true, create: true }]);
  });
});
