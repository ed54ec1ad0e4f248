// What change data capture needs from a PostgreSQL source, checked before anything is created: every missing setting in one message, with its fix.
import type pg from 'pg';

/** The CDC source's settings are not all there: `problems` says each missing one and how to fix it. */
export class CdcNotReadyError extends Error {
  constructor(
    readonly target: string,
    readonly problems: string[],
  ) {
    super(
      `change data capture from ${target} is not possible yet; nothing was created:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = 'CdcNotReadyError';
  }
}

/** A boolean as the driver returns it: true, or `t` from a client that reads every value as text. */
function yes(value: unknown): boolean {
  return value === true || value === 't';
}

/**
 * Checks, read-only, what logical replication from `table` needs: wal_level=logical, free replication
 * slots and WAL senders, a login allowed to replicate (REPLICATION, superuser, or RDS's rds_replication
 * role) and a table whose updates and deletes carry their key (a primary key, or REPLICA IDENTITY
 * FULL / USING INDEX). Throws one CdcNotReadyError naming every missing setting and its fix.
 *
 * @param table `table` or `schema.table`, as the spec names it.
 */
export async function checkCdcReadiness(
  client: pg.Client,
  table: string,
  target: string,
  /** The publication Sluice would create: when it does not exist yet, the login must be able to. */
  options: { publication?: string } = {},
): Promise<void> {
  const problems: string[] = [];
  const settings = await client.query<{ name: string; setting: string }>(
    `SELECT name, setting FROM pg_settings WHERE name IN ('wal_level', 'max_replication_slots', 'max_wal_senders', 'rds.logical_replication')`,
  );
  const setting = (name: string) => settings.rows.find((r) => r.name === name)?.setting;
  const onRds = setting('rds.logical_replication') !== undefined;
  if (setting('wal_level') !== 'logical')
    problems.push(
      onRds
        ? `wal_level is ${setting('wal_level')}, CDC needs logical: set rds.logical_replication = 1 in the cluster parameter group and reboot the writer`
        : `wal_level is ${setting('wal_level')}, CDC needs logical: ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL`,
    );
  for (const name of ['max_replication_slots', 'max_wal_senders'])
    if (Number(setting(name) ?? 0) < 1)
      problems.push(
        `${name} is ${setting(name) ?? 0}, CDC needs at least 1: ALTER SYSTEM SET ${name} = 10; then restart PostgreSQL`,
      );

  const role = await client.query<{ user: string; allowed: boolean }>(
    `SELECT current_user AS user,
            r.rolsuper OR r.rolreplication
              OR EXISTS (SELECT 1 FROM pg_roles g WHERE g.rolname = 'rds_replication' AND pg_has_role(current_user, g.oid, 'member')) AS allowed
       FROM pg_roles r WHERE r.rolname = current_user`,
  );
  const login = role.rows[0];
  if (!yes(login?.allowed))
    problems.push(
      onRds
        ? `login "${login?.user}" may not replicate: GRANT rds_replication TO "${login?.user}"`
        : `login "${login?.user}" may not replicate: ALTER ROLE "${login?.user}" REPLICATION`,
    );

  const found = await client.query<{ identity: string; has_pk: boolean; qualified: string; owns: boolean }>(
    `SELECT c.relreplident AS identity,
            EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS has_pk,
            format('%I.%I', n.nspname, c.relname) AS qualified,
            pg_has_role(current_user, c.relowner, 'USAGE') AND has_database_privilege(current_database(), 'CREATE') AS owns
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.oid = to_regclass($1)`,
    [
      table
        .split('.')
        .map((p) => `"${p.replaceAll('"', '""')}"`)
        .join('.'),
    ],
  );
  const t = found.rows[0];
  if (!t) problems.push(`table ${table} does not exist (or the login cannot see it)`);
  else {
    if (t.identity === 'n' || (t.identity === 'd' && !yes(t.has_pk)))
      problems.push(
        `table ${t.qualified} has no primary key or replica identity, so its updates and deletes carry no key: ALTER TABLE ${t.qualified} ADD PRIMARY KEY (…), or ALTER TABLE ${t.qualified} REPLICA IDENTITY FULL`,
      );
    const publication = options.publication;
    if (publication !== undefined && !yes(t.owns)) {
      const exists = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [publication]);
      if (exists.rowCount === 0)
        problems.push(
          `login "${login?.user}" may not create publication "${publication}" (it needs to own ${t.qualified} and CREATE on the database): create it as the owner: CREATE PUBLICATION "${publication}" FOR TABLE ${t.qualified}`,
        );
    }
  }
  if (problems.length > 0) throw new CdcNotReadyError(target, problems);
}
