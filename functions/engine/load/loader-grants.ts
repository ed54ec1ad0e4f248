// What the loader login may do in the database (migration 7) and the hand-off of a released target to it.

import type { Warehouse } from '../ports/warehouse.js';
import type { DestinationSpec } from '../spec/schema.js';

/**
 * Migration 7: runs log in as a member of the loader group, so the loader must be able to do all a run
 * does to its targets — create partitions, ADD COLUMN (the safe migrations Prepare applies), DETACH and
 * DROP partitions (retention, the partition swap), create scratch and staging tables — and nothing more.
 *
 * PostgreSQL allows that DDL only to a table's owner, so the loader group owns the targets:
 * - `sluice.hand_target_to_loader(schema, table)` gives it a target the admin created (the pipeline-release
 *   custom resource calls it after creating the table): USAGE and CREATE on the target's schema (not its
 *   ownership: a schema such as `public` may hold other things) and ownership of the table and every
 *   partition. The migration calls it for every target already in `sluice.table_versions`, and hands over
 *   the staging tables the admin created, so earlier runs can still be cleaned up.
 * - The login (a member of the group, with INHERIT) has the owner's rights on the group's tables; what it
 *   creates during a run (partitions, swap tables, staging tables) it owns itself. It must not act as the
 *   group (`ALTER ROLE … SET role`): single-user secret rotation logs in as the login and changes its own
 *   password, which PostgreSQL allows only while the current user is the login.
 * - No CREATE on the database: a new target schema is created at release by the admin. A run whose schema
 *   was never released fails with `permission denied for database`, which names what is missing.
 * - The admin's default privileges of migration 3 gave the loader DML on every table and USAGE on every
 *   schema the admin creates afterwards; the loader owns what it needs now, so they are revoked (tables of
 *   other schemas stay out of its reach). The reader keeps SELECT on released targets (the admin's
 *   default privileges), which covers their partitions.
 * - Ledgers and the audit function keep the grants of migrations 3 and 4 (no privilege on the audit table).
 *
 * The admin joins the loader group (unless it is a superuser, for whom that is implied): ALTER OWNER TO
 * requires it.
 */
export function loaderOwnsTargetsSql(roles: { loader: string }): string {
  const { loader } = roles;
  return `
DO $join$
BEGIN
  IF NOT pg_has_role(current_user, '${loader}', 'USAGE') THEN
    EXECUTE format('GRANT %I TO %I', '${loader}', current_user);
  END IF;
END
$join$;

CREATE FUNCTION sluice.hand_target_to_loader(p_schema text, p_table text) RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
  v_table regclass := to_regclass(format('%I.%I', p_schema, p_table));
  v_part  regclass;
BEGIN
  IF v_table IS NULL THEN
    RETURN; -- a table the ledger remembers but someone dropped: nothing to hand over
  END IF;
  EXECUTE format('GRANT USAGE, CREATE ON SCHEMA %I TO ${loader}', p_schema);
  -- The parent first, then each partition: ALTER OWNER does not recurse into partitions.
  FOR v_part IN SELECT relid FROM pg_partition_tree(v_table) ORDER BY level LOOP
    EXECUTE format('ALTER TABLE %s OWNER TO ${loader}', v_part);
  END LOOP;
END
$fn$;
REVOKE ALL ON FUNCTION sluice.hand_target_to_loader(text, text) FROM PUBLIC;

DO $targets$
DECLARE t record;
BEGIN
  FOR t IN SELECT DISTINCT table_schema, table_name FROM sluice.table_versions LOOP
    PERFORM sluice.hand_target_to_loader(t.table_schema, t.table_name);
  END LOOP;
  FOR t IN SELECT c.oid::regclass AS rel FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'sluice_staging' AND c.relkind IN ('r', 'p') AND NOT c.relispartition LOOP
    EXECUTE format('ALTER TABLE %s OWNER TO ${loader}', t.rel);
  END LOOP;
END
$targets$;

ALTER DEFAULT PRIVILEGES REVOKE USAGE ON SCHEMAS FROM ${loader};
ALTER DEFAULT PRIVILEGES REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM ${loader};
`;
}

/**
 * Gives a target table the admin just created or migrated (with its partitions) to the loader group,
 * and lets the loader use and create in its schema. Idempotent. Run as the admin.
 */
export async function handTargetToLoader(wh: Warehouse, dest: Pick<DestinationSpec, 'schema' | 'table'>) {
  await wh.query('SELECT sluice.hand_target_to_loader($1, $2)', [dest.schema, dest.table]);
}
