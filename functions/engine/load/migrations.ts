import { appendAudit } from '../audit/log.js';
import type { Warehouse } from '../ports/warehouse.js';
import { loaderOwnsTargetsSql } from './loader-grants.js';

/**
 * Sluice's own tables, in schema `sluice`, as versioned migrations. A migration never changes once
 * released: add a new one. Each runs in the transaction that records it.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const INTERNAL_SCHEMA = 'sluice';
export const STAGING_SCHEMA = 'sluice_staging';
/** Prefix of the runtime roles migration 3 creates. */
export const DEFAULT_ROLE_PREFIX = 'sluice';

export const MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    version: 1,
    name: 'runs, chunk ledger, pipeline locks, bookmarks, cursors, table versions',
    sql: `
CREATE SCHEMA IF NOT EXISTS sluice_staging;

CREATE TABLE sluice.runs (
  run_id            uuid PRIMARY KEY,
  pipeline          text NOT NULL CHECK (pipeline ~ '^[a-z][a-z0-9-]{0,47}$'),
  status            text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'abandoned')),
  spec_version      integer NOT NULL CHECK (spec_version > 0),
  spec_hash         text NOT NULL CHECK (spec_hash <> ''),
  trigger           jsonb NOT NULL DEFAULT '{}'::jsonb,
  full_refresh      boolean NOT NULL DEFAULT false,
  holder            text NOT NULL CHECK (holder <> ''),
  started_at        timestamptz NOT NULL DEFAULT now(),
  planned_at        timestamptz,
  finished_at       timestamptz,
  chunk_count       integer CHECK (chunk_count >= 0),
  skipped_sources   integer CHECK (skipped_sources >= 0),
  rows_read         bigint CHECK (rows_read >= 0),
  rows_loaded       bigint CHECK (rows_loaded >= 0),
  rows_rejected     bigint CHECK (rows_rejected >= 0),
  rows_filtered     bigint CHECK (rows_filtered >= 0),
  rows_deduplicated bigint CHECK (rows_deduplicated >= 0),
  partitions        text[] NOT NULL DEFAULT '{}',
  summary           jsonb,
  error             text,
  -- A run is finished exactly when it is no longer running.
  CONSTRAINT runs_finished_iff_not_running CHECK ((status = 'running') = (finished_at IS NULL)),
  CONSTRAINT runs_finished_after_start CHECK (finished_at IS NULL OR finished_at >= started_at),
  CONSTRAINT runs_planned_together CHECK ((planned_at IS NULL) = (chunk_count IS NULL)),
  -- Failed and abandoned runs say why; succeeded runs carry no error.
  CONSTRAINT runs_error_iff_unsuccessful CHECK ((status IN ('failed', 'abandoned')) = (error IS NOT NULL)),
  -- A succeeded run has its counts, and they add up: every row read is loaded, rejected, filtered or deduplicated.
  CONSTRAINT runs_succeeded_counts CHECK (
    status <> 'succeeded' OR (
      chunk_count IS NOT NULL AND rows_read IS NOT NULL AND rows_loaded IS NOT NULL AND rows_rejected IS NOT NULL
      AND rows_filtered IS NOT NULL AND rows_deduplicated IS NOT NULL
      AND rows_read = rows_loaded + rows_rejected + rows_filtered + rows_deduplicated))
);
-- One running run per pipeline, whatever the lock table says.
CREATE UNIQUE INDEX runs_one_running_per_pipeline ON sluice.runs (pipeline) WHERE status = 'running';
CREATE INDEX runs_by_pipeline_started ON sluice.runs (pipeline, started_at DESC);
CREATE INDEX runs_by_started ON sluice.runs (started_at DESC);

-- A row exists iff the chunk's rows are in the run's staging table: both are written in one transaction.
CREATE TABLE sluice.run_chunks (
  run_id        uuid NOT NULL REFERENCES sluice.runs (run_id) ON DELETE CASCADE,
  chunk_id      text NOT NULL CHECK (chunk_id <> ''),
  seq           integer NOT NULL CHECK (seq >= 0),
  route         text NOT NULL CHECK (route IN ('lambda', 'fargate')),
  rows_read     bigint NOT NULL CHECK (rows_read >= 0),
  rows_staged   bigint NOT NULL CHECK (rows_staged >= 0),
  rows_rejected bigint NOT NULL CHECK (rows_rejected >= 0),
  rows_filtered bigint NOT NULL CHECK (rows_filtered >= 0),
  bytes         bigint NOT NULL CHECK (bytes >= 0),
  loaded_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, chunk_id),
  -- seq orders rows for "latest wins": two chunks of a run never share one.
  CONSTRAINT run_chunks_seq_unique UNIQUE (run_id, seq),
  CONSTRAINT run_chunks_counts_add_up CHECK (rows_read = rows_staged + rows_rejected + rows_filtered)
);

-- One row per pipeline that ever ran; free when run_id is null. Locked with SELECT … FOR UPDATE.
CREATE TABLE sluice.pipeline_locks (
  pipeline    text PRIMARY KEY,
  run_id      uuid REFERENCES sluice.runs (run_id),
  holder      text,
  acquired_at timestamptz,
  expires_at  timestamptz,
  CONSTRAINT pipeline_locks_held_fully CHECK (
    (run_id IS NULL AND holder IS NULL AND acquired_at IS NULL AND expires_at IS NULL)
    OR (run_id IS NOT NULL AND holder IS NOT NULL AND acquired_at IS NOT NULL AND expires_at > acquired_at))
);

-- "Already loaded" for file sources: an object is skipped while its key and ETag are unchanged.
CREATE TABLE sluice.file_bookmarks (
  pipeline   text NOT NULL,
  object_key text NOT NULL CHECK (object_key <> ''),
  etag       text NOT NULL CHECK (etag <> ''),
  size       bigint NOT NULL CHECK (size >= 0),
  run_id     uuid NOT NULL REFERENCES sluice.runs (run_id),
  loaded_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (pipeline, object_key, etag)
);

-- Incremental sources' position; moves in the same transaction as the data it covers.
CREATE TABLE sluice.cursors (
  pipeline   text PRIMARY KEY,
  state      jsonb NOT NULL,
  run_id     uuid NOT NULL REFERENCES sluice.runs (run_id),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Target DDL Sluice applied or verified, per spec version: the schema history of every target table.
CREATE TABLE sluice.table_versions (
  table_schema text NOT NULL,
  table_name   text NOT NULL,
  pipeline     text NOT NULL,
  spec_version integer NOT NULL CHECK (spec_version > 0),
  spec_hash    text NOT NULL CHECK (spec_hash <> ''),
  action       text NOT NULL CHECK (action IN ('created', 'verified')),
  definition   jsonb NOT NULL,
  applied_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (table_schema, table_name, spec_hash)
);
`,
  },
  {
    version: 2,
    name: 'append-only, hash-chained audit log',
    sql: `
CREATE TABLE sluice.audit_log (
  seq       bigint PRIMARY KEY CHECK (seq > 0),
  at        timestamptz NOT NULL,
  kind      text NOT NULL CHECK (kind ~ '^[a-z]+[.][a-z-]+$'),
  pipeline  text,
  run_id    uuid,
  actor     text NOT NULL,
  -- Canonical JSON text (sorted keys), hashed exactly as stored.
  detail    text NOT NULL,
  prev_hash text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
  hash      text NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{64}$')
);
CREATE INDEX audit_log_by_run ON sluice.audit_log (run_id) WHERE run_id IS NOT NULL;

-- Each field as <UTF-8 byte length>:<value>, N for null: the text the hash covers (see auditRecordText).
CREATE FUNCTION sluice.audit_field(v text) RETURNS text LANGUAGE sql IMMUTABLE
  AS $fn$ SELECT CASE WHEN v IS NULL THEN 'N' ELSE octet_length(v)::text || ':' || v END $fn$;

-- The only way in. SECURITY DEFINER: callers need EXECUTE, never a privilege on the table itself.
CREATE FUNCTION sluice.audit_append(p_kind text, p_pipeline text, p_run_id uuid, p_detail text, p_actor text)
  RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
  v_seq  bigint;
  v_prev text;
  v_at   timestamptz := date_trunc('milliseconds', clock_timestamp());
  v_text text;
BEGIN
  -- One appender at a time per database, so seq and prev_hash form a single chain.
  PERFORM pg_advisory_xact_lock(hashtext('sluice.audit_log'));
  SELECT seq, hash INTO v_seq, v_prev FROM sluice.audit_log ORDER BY seq DESC LIMIT 1;
  v_seq := coalesce(v_seq, 0) + 1;
  v_prev := coalesce(v_prev, repeat('0', 64));
  v_text := sluice.audit_field(v_seq::text)
         || sluice.audit_field(to_char(v_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
         || sluice.audit_field(p_kind) || sluice.audit_field(p_pipeline) || sluice.audit_field(p_run_id::text)
         || sluice.audit_field(p_actor) || sluice.audit_field(p_detail);
  INSERT INTO sluice.audit_log (seq, at, kind, pipeline, run_id, actor, detail, prev_hash, hash)
  VALUES (v_seq, v_at, p_kind, p_pipeline, p_run_id, p_actor, p_detail, v_prev,
          encode(sha256(convert_to(v_prev || v_text, 'UTF8')), 'hex'));
  RETURN v_seq;
END
$fn$;

-- Append-only for everyone, table owner and superusers included: only disabling the trigger (which
-- the verifier then catches through the hash chain) gets past it.
CREATE FUNCTION sluice.audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql
AS $fn$
BEGIN
  RAISE EXCEPTION 'sluice.audit_log is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$fn$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON sluice.audit_log
  FOR EACH ROW EXECUTE FUNCTION sluice.audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON sluice.audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION sluice.audit_log_is_append_only();

REVOKE ALL ON sluice.audit_log FROM PUBLIC;
REVOKE ALL ON FUNCTION sluice.audit_append(text, text, uuid, text, text) FROM PUBLIC;
`,
  },
  {
    version: 3,
    name: 'runtime roles: loader, reader, auditor',
    sql: rolesSql(DEFAULT_ROLE_PREFIX),
  },
  {
    version: 4,
    name: 'audit actor is the session login; head readable for the anchor',
    sql: auditActorAndHeadSql(DEFAULT_ROLE_PREFIX),
  },
  {
    version: 5,
    name: 'file bookmarks keep the content hash; table versions record migrations',
    sql: `
-- A target's schema changes are versioned: 'migrated' rows say what a run or sluice migrate applied.
ALTER TABLE sluice.table_versions DROP CONSTRAINT table_versions_action_check;
ALTER TABLE sluice.table_versions
  ADD CONSTRAINT table_versions_action_check CHECK (action IN ('created', 'verified', 'migrated'));

-- SHA-256 of the whole file as loaded (uncompressed CSV and JSON Lines): a later version of the file
-- whose first size bytes hash to it only grew. NULL where the plan did not read the file whole.
ALTER TABLE sluice.file_bookmarks
  ADD COLUMN content_sha256 text CHECK (content_sha256 ~ '^[0-9a-f]{64}$');
`,
  },
  {
    version: 6,
    name: 'chunk timings: when each chunk load started and finished',
    // Nullable: chunks loaded before this migration have no timings (loaded_at is when they started).
    sql: `
ALTER TABLE sluice.run_chunks ADD COLUMN started_at timestamptz, ADD COLUMN finished_at timestamptz;
ALTER TABLE sluice.run_chunks ADD CONSTRAINT run_chunks_finished_after_start
  CHECK (finished_at IS NULL OR started_at IS NULL OR finished_at >= started_at);
`,
  },
  {
    version: 7,
    name: 'the loader owns its targets: runs log in as a loader login, not as the admin',
    sql: loaderOwnsTargetsSql(roleNames(DEFAULT_ROLE_PREFIX)),
  },
]);

/**
 * Migration 4. The actor was a parameter, so the loader login could write any name: now
 * `sluice.audit_append` takes it from `session_user`, the login of the connection (inside a SECURITY
 * DEFINER function `current_user` is the function's owner, and `SET ROLE` changes only `current_user`).
 * The head of the chain (and the hash at a given record) becomes readable through two SECURITY DEFINER
 * functions, so the loader can anchor it outside the database (see engine/audit/anchor.ts) without any
 * privilege on the table.
 */
export function auditActorAndHeadSql(prefix: string = DEFAULT_ROLE_PREFIX): string {
  const { loader, auditor } = roleNames(prefix);
  return `
DROP FUNCTION sluice.audit_append(text, text, uuid, text, text);

CREATE FUNCTION sluice.audit_append(p_kind text, p_pipeline text, p_run_id uuid, p_detail text)
  RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
  v_seq   bigint;
  v_prev  text;
  v_at    timestamptz := date_trunc('milliseconds', clock_timestamp());
  v_actor text := session_user;
  v_text  text;
BEGIN
  -- One appender at a time per database, so seq and prev_hash form a single chain.
  PERFORM pg_advisory_xact_lock(hashtext('sluice.audit_log'));
  SELECT seq, hash INTO v_seq, v_prev FROM sluice.audit_log ORDER BY seq DESC LIMIT 1;
  v_seq := coalesce(v_seq, 0) + 1;
  v_prev := coalesce(v_prev, repeat('0', 64));
  v_text := sluice.audit_field(v_seq::text)
         || sluice.audit_field(to_char(v_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
         || sluice.audit_field(p_kind) || sluice.audit_field(p_pipeline) || sluice.audit_field(p_run_id::text)
         || sluice.audit_field(v_actor) || sluice.audit_field(p_detail);
  INSERT INTO sluice.audit_log (seq, at, kind, pipeline, run_id, actor, detail, prev_hash, hash)
  VALUES (v_seq, v_at, p_kind, p_pipeline, p_run_id, v_actor, p_detail, v_prev,
          encode(sha256(convert_to(v_prev || v_text, 'UTF8')), 'hex'));
  RETURN v_seq;
END
$fn$;

-- The last record's seq and hash (no row when the log is empty).
CREATE FUNCTION sluice.audit_head() RETURNS TABLE (seq bigint, hash text)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $fn$ SELECT l.seq, l.hash FROM sluice.audit_log l ORDER BY l.seq DESC LIMIT 1 $fn$;

-- The hash of record p_seq (NULL when there is none).
CREATE FUNCTION sluice.audit_hash_at(p_seq bigint) RETURNS text
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $fn$ SELECT l.hash FROM sluice.audit_log l WHERE l.seq = p_seq $fn$;

REVOKE ALL ON FUNCTION sluice.audit_append(text, text, uuid, text), sluice.audit_head(),
  sluice.audit_hash_at(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sluice.audit_append(text, text, uuid, text) TO ${loader};
GRANT EXECUTE ON FUNCTION sluice.audit_head(), sluice.audit_hash_at(bigint) TO ${loader}, ${auditor};
`;
}

/** The roles' common prefix: `<prefix>_loader`, `<prefix>_reader`, `<prefix>_auditor`. */
export function roleNames(prefix: string = DEFAULT_ROLE_PREFIX) {
  if (!/^[a-z][a-z0-9_]{0,40}$/.test(prefix))
    throw new Error(`role prefix must be a lowercase identifier, got ${JSON.stringify(prefix)}`);
  return { loader: `${prefix}_loader`, reader: `${prefix}_reader`, auditor: `${prefix}_auditor` };
}

/**
 * The runtime roles (NOLOGIN groups: grant them to login users, or to the IAM-authenticated user in
 * Aurora) and what each may do in this database:
 * - loader: reads and writes the ledgers and the targets it creates, appends audit records through
 *   sluice.audit_append; no privilege at all on sluice.audit_log (so no UPDATE, DELETE, TRUNCATE);
 * - reader: SELECT on target tables (created from now on by the migrating user), nothing else;
 * - auditor: SELECT on the audit log and the run ledger.
 * Roles are cluster-wide and several databases may migrate at once, so creation tolerates a race.
 */
export function rolesSql(prefix: string = DEFAULT_ROLE_PREFIX): string {
  const { loader, reader, auditor } = roleNames(prefix);
  return `
DO $roles$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['${loader}', '${reader}', '${auditor}'] LOOP
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN', r);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL; -- another database's migration created it first
      END;
    END IF;
  END LOOP;
END
$roles$;
GRANT USAGE ON SCHEMA sluice TO ${loader}, ${auditor};
GRANT USAGE, CREATE ON SCHEMA sluice_staging TO ${loader};
GRANT SELECT, INSERT, UPDATE, DELETE
   ON sluice.runs, sluice.run_chunks, sluice.pipeline_locks, sluice.file_bookmarks, sluice.cursors,
      sluice.table_versions
   TO ${loader};
GRANT SELECT ON sluice.schema_migrations TO ${loader}, ${auditor};
GRANT EXECUTE ON FUNCTION sluice.audit_append(text, text, uuid, text, text) TO ${loader};
GRANT SELECT ON sluice.audit_log, sluice.runs, sluice.run_chunks, sluice.table_versions TO ${auditor};
-- Targets and their schemas are created later (by ensureTargetTable, as the migrating user).
ALTER DEFAULT PRIVILEGES GRANT USAGE ON SCHEMAS TO ${loader}, ${reader};
ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO ${reader};
ALTER DEFAULT PRIVILEGES GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${loader};
`;
}

/** Lock key of the migration transaction (any int8 works; this one reads as "sluice.migrations"). */
const MIGRATION_LOCK = "hashtext('sluice.migrations')";

/**
 * Brings schema `sluice` up to the latest migration. Idempotent and safe to call from many processes
 * at once: they queue on one transaction-scoped advisory lock, and each migration is recorded in
 * `sluice.schema_migrations` in the transaction that applies it.
 *
 * @returns the versions this call applied (empty when already up to date).
 */
export async function ensureInternalSchema(wh: Warehouse): Promise<number[]> {
  // Cheap check first, so the common case takes no lock at all.
  const current = await appliedVersions(wh);
  if (MIGRATIONS.every((m) => current.has(m.version))) return [];

  return wh.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
    await tx.query(`CREATE SCHEMA IF NOT EXISTS sluice`);
    await tx.query(`CREATE TABLE IF NOT EXISTS sluice.schema_migrations (
      version    integer PRIMARY KEY CHECK (version > 0),
      name       text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    // Read after taking the lock: a caller that waited sees what the one before it applied.
    const { rows } = await tx.query<{ version: number }>('SELECT version FROM sluice.schema_migrations');
    const done = new Set(rows.map((r) => Number(r.version)));
    const applied: number[] = [];
    for (const m of [...MIGRATIONS].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      await tx.query(m.sql);
      await tx.query('INSERT INTO sluice.schema_migrations (version, name) VALUES ($1, $2)', [
        m.version,
        m.name,
      ]);
      applied.push(m.version);
    }
    if (applied.length > 0) {
      await appendAudit(tx, {
        kind: 'schema.migrated',
        detail: { schema: INTERNAL_SCHEMA, versions: applied },
      });
    }
    return applied;
  });
}

async function appliedVersions(wh: Warehouse): Promise<Set<number>> {
  const { rows } = await wh.query<{ exists: boolean }>(
    `SELECT to_regclass('sluice.schema_migrations') IS NOT NULL AS exists`,
  );
  if (!rows[0]?.exists) return new Set();
  const res = await wh.query<{ version: number }>('SELECT version FROM sluice.schema_migrations');
  return new Set(res.rows.map((r) => Number(r.version)));
}
