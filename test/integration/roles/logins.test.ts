import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureInternalSchema, roleNames } from '../../../functions/engine/load/index.js';
import { ensureLogins } from '../../../functions/engine/load/logins.js';
import { type TestWarehouse, warehouseTargets } from '../warehouse/targets.js';

const { loader, reader, auditor } = roleNames();

/** The logins the migration custom resource creates for the runtime groups (issue 13.2). */
describe.each(warehouseTargets)('runtime logins on $name', (target) => {
  let db: TestWarehouse;
  // Roles are cluster-wide: unique names, dropped at the end, so parallel sessions never collide.
  const suffix = randomBytes(4).toString('hex');
  const names = {
    loader: `t_loader_${suffix}`,
    reader: `t_reader_${suffix}`,
    auditor: `t_auditor_${suffix}`,
  };
  const password = () => randomBytes(24).toString('base64url');
  beforeAll(async () => {
    db = await target.open();
    await ensureInternalSchema(db.wh);
  });
  afterAll(async () => {
    for (const name of Object.values(names)) await db?.wh.query(`DROP ROLE IF EXISTS ${name}`);
    await db?.dispose();
  });

  it('creates each login in its group only, without any other attribute, with a SCRAM password', async () => {
    const created = await ensureLogins(db.wh, [
      { group: 'loader', username: names.loader, password: password() },
      { group: 'reader', username: names.reader, password: password() },
      { group: 'auditor', username: names.auditor, password: password() },
    ]);
    expect(created).toEqual([names.loader, names.reader, names.auditor]);

    const { rows } = await db.wh.query<{
      rolname: string;
      rolcanlogin: boolean;
      rolsuper: boolean;
      rolcreatedb: boolean;
      rolcreaterole: boolean;
      groups: string[];
    }>(
      `SELECT r.rolname, r.rolcanlogin, r.rolsuper, r.rolcreatedb, r.rolcreaterole,
              array(SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                    WHERE m.member = r.oid ORDER BY 1)::text[] AS groups
         FROM pg_roles r WHERE r.rolname = ANY($1) ORDER BY r.rolname`,
      [Object.values(names)],
    );
    const byName = Object.fromEntries(rows.map((r) => [r.rolname, r]));
    for (const [group, name] of [
      [loader, names.loader],
      [reader, names.reader],
      [auditor, names.auditor],
    ] as const) {
      expect(byName[name]).toEqual({
        rolname: name,
        rolcanlogin: true,
        rolsuper: false,
        rolcreatedb: false,
        rolcreaterole: false,
        groups: [group],
      });
    }
    const stored = await db.wh.query<{ rolpassword: string }>(
      'SELECT rolpassword FROM pg_authid WHERE rolname = $1',
      [names.loader],
    );
    expect(stored.rows[0]?.rolpassword).toMatch(/^SCRAM-SHA-256\$4096:/);
  });

  it('updates the password of an existing login (a redeploy after rotation) instead of failing', async () => {
    const before = await db.wh.query<{ p: string }>(
      'SELECT rolpassword AS p FROM pg_authid WHERE rolname = $1',
      [names.reader],
    );
    await ensureLogins(db.wh, [{ group: 'reader', username: names.reader, password: password() }]);
    const after = await db.wh.query<{ p: string }>(
      'SELECT rolpassword AS p FROM pg_authid WHERE rolname = $1',
      [names.reader],
    );
    expect(after.rows[0]?.p).not.toBe(before.rows[0]?.p);
  });

  it('fails on a login name that is not a plain identifier, before touching the database', async () => {
    await expect(
      ensureLogins(db.wh, [{ group: 'loader', username: 'x; DROP ROLE postgres', password: password() }]),
    ).rejects.toThrow(/login name "x; DROP ROLE postgres" must be a lower-case PostgreSQL identifier/);
  });
});
