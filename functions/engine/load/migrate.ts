// Versioned migrations of a target table: read its shape, apply a plan's changes in one recorded transaction.
import { appendAudit } from '../audit/log.js';
import { quoteQualified } from '../ports/sql.js';
import type { Warehouse, WarehouseTx } from '../ports/warehouse.js';
import type { DestinationSpec } from '../spec/schema.js';
import {
  type AllowFlag,
  type MigrationChange,
  type MigrationPlan,
  planMigration,
  type TableShape,
} from './migration-plan.js';

type Queryable = Pick<WarehouseTx, 'query'>;

/** Which spec a change came from, recorded in `sluice.table_versions`. */
export interface MigrationMeta {
  pipeline: string;
  version: number;
  hash: string;
}

/** `sluice migrate --apply` without the flag a change needs: nothing was applied. */
export class MigrationNotAllowedError extends Error {
  constructor(
    readonly table: string,
    readonly missing: MigrationChange[],
  ) {
    const flags = [...new Set(missing.map((c) => `--${c.allow}`))].join(' ');
    super(
      `migration of ${table} not applied: ${missing.length} change(s) need an explicit flag:\n${missing
        .map((c) => `  - ${c.description} [needs --${c.allow}]`)
        .join('\n')}\nRerun with ${flags} to apply them (nothing was changed).`,
    );
    this.name = 'MigrationNotAllowedError';
  }
}

/** A column of a table as the catalog has it. */
export interface CatalogColumn {
  name: string;
  type: string;
  not_null: boolean;
  has_default: boolean;
}

/** Every column of a table in order, as the catalog has it. */
export async function catalogColumns(q: Queryable, table: string): Promise<CatalogColumn[]> {
  const { rows } = await q.query<CatalogColumn>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
            (a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '') AS has_default
       FROM pg_attribute a
      WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [quoteQualified(table)],
  );
  return rows;
}

/** The table's columns, primary key and the columns recorded spec versions declared. */
export async function readTableShape(q: Queryable, dest: DestinationSpec): Promise<TableShape> {
  const table = `${dest.schema}.${dest.table}`;
  const columns = await catalogColumns(q, table);
  const key = await q.query<{ name: string; constraint: string }>(
    `SELECT a.attname AS name, c.conname AS constraint
       FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
      WHERE c.conrelid = to_regclass($1) AND c.contype = 'p'`,
    [quoteQualified(table)],
  );
  // Definitions a spec declared (not the rows schema evolution recorded, which list what it added).
  const declared = await q.query<{ name: string }>(
    `SELECT DISTINCT jsonb_object_keys(definition -> 'columns') AS name
       FROM sluice.table_versions
      WHERE table_schema = $1 AND table_name = $2 AND NOT definition ? 'evolved'`,
    [dest.schema, dest.table],
  );
  return {
    table,
    columns: columns.map((c) => ({
      name: c.name,
      type: c.type,
      notNull: c.not_null,
      hasDefault: c.has_default,
    })),
    key: key.rows.map((r) => r.name).sort(),
    ...(key.rows[0] ? { keyConstraint: key.rows[0].constraint } : {}),
    declared: new Set(declared.rows.map((r) => r.name)),
  };
}

/**
 * Applies changes in the caller's transaction and records them: a `migrated` row in
 * `sluice.table_versions` (the spec's definition plus what was done) and a `schema.migrated` audit record.
 */
export async function applyChanges(
  tx: WarehouseTx,
  dest: DestinationSpec,
  changes: MigrationChange[],
  meta: MigrationMeta,
): Promise<void> {
  for (const change of changes) for (const ddl of change.ddl) await tx.query(ddl);
  const table = `${dest.schema}.${dest.table}`;
  const migrated = changes.map((c) => c.description);
  await tx.query(
    `INSERT INTO sluice.table_versions (table_schema, table_name, pipeline, spec_version, spec_hash, action, definition)
     VALUES ($1, $2, $3, $4, $5, 'migrated', $6::jsonb)
     ON CONFLICT (table_schema, table_name, spec_hash) DO UPDATE
       SET action = 'migrated', definition = EXCLUDED.definition, applied_at = now()`,
    [
      dest.schema,
      dest.table,
      meta.pipeline,
      meta.version,
      meta.hash,
      JSON.stringify({
        columns: dest.columns,
        key: dest.key ?? null,
        partitioning: dest.partitioning ?? null,
        migrated,
      }),
    ],
  );
  await appendAudit(tx, {
    kind: 'schema.migrated',
    pipeline: meta.pipeline,
    detail: { table, action: 'migrated', changes: migrated, specVersion: meta.version, specHash: meta.hash },
  });
}

/**
 * `sluice migrate`: the plan of the table against the spec, applied when `apply` (every change not
 * safe must be allowed by its flag, else nothing is applied), in one transaction under the table's lock.
 *
 * @throws MigrationNotAllowedError listing the changes whose flag is missing.
 */
export async function migrateTargetTable(
  wh: Warehouse,
  dest: DestinationSpec,
  meta: MigrationMeta,
  options: { apply: boolean; allow?: ReadonlySet<AllowFlag> },
): Promise<MigrationPlan> {
  const table = `${dest.schema}.${dest.table}`;
  return wh.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`sluice.table.${table}`]);
    const exists = await tx.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [
      quoteQualified(table),
    ]);
    if (!exists.rows[0]?.found) return { table, changes: [] };
    const plan = planMigration(await readTableShape(tx, dest), dest);
    if (!options.apply || plan.changes.length === 0) return plan;
    const missing = plan.changes.filter((c) => c.allow && !options.allow?.has(c.allow));
    if (missing.length > 0) throw new MigrationNotAllowedError(table, missing);
    await applyChanges(tx, dest, plan.changes, meta);
    return plan;
  });
}
