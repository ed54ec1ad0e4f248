// Target tables: created, or verified against the spec (safe changes migrated), and their range partitions.
import { appendAudit } from '../audit/log.js';
import { quoteIdent, quoteQualified } from '../ports/sql.js';
import type { Warehouse, WarehouseTx } from '../ports/warehouse.js';
import { COLUMN_TYPE_PATTERN, type DestinationSpec } from '../spec/schema.js';
import { PartitionLimitError, SchemaMismatchError } from './errors.js';
import { applyChanges, catalogColumns, readTableShape } from './migrate.js';
import { planMigration } from './migration-plan.js';
import {
  asPartitionColumnType,
  boundLiteral,
  defaultPartitionName,
  nextUnitStart,
  type PartitionColumnType,
  partitioningOf,
  partitionName,
  unitTruncExpression,
} from './partition-units.js';

/** Which spec a DDL change came from, recorded in `sluice.table_versions`. */
export interface SpecMeta {
  pipeline: string;
  version: number;
  hash: string;
}

/** A bad date column could otherwise create thousands of partitions in one run. */
export const MAX_NEW_PARTITIONS_PER_RUN = 1000;

/** `schema.table` of the destination, unquoted (as users write it). */
export function targetTableName(dest: DestinationSpec): string {
  return `${dest.schema}.${dest.table}`;
}

/** One range partition of the target: the unit `[start, end)` and its table name. */
export interface TargetPartition {
  name: string;
  start: string;
  end: string;
}

export interface EnsureTargetResult {
  /** `schema.table`. */
  table: string;
  /** True when this call created it (false: it existed and matches the spec). */
  created: boolean;
  /** The safe changes this call migrated the existing table with (empty or absent: none). */
  migrated?: string[];
}

/**
 * Creates the destination table (range-partitioned on the spec's column, with a primary key on the
 * spec's key and a `<table>_default` partition) or checks that the existing one matches the spec.
 * Records the applied or verified definition in `sluice.table_versions`. Needs `ensureInternalSchema`.
 *
 * @throws SchemaMismatchError listing every difference (missing column, other type, other key, …).
 */
export async function ensureTargetTable(
  wh: Warehouse,
  dest: DestinationSpec,
  meta: SpecMeta,
): Promise<EnsureTargetResult> {
  const table = targetTableName(dest);
  return wh.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`sluice.table.${table}`]);
    const existing = await tx.query<{ kind: string }>(
      'SELECT c.relkind AS kind FROM pg_class c WHERE c.oid = to_regclass($1)',
      [quoteQualified(table)],
    );
    const kind = existing.rows[0]?.kind;
    if (kind === undefined) {
      await createTargetTable(tx, dest);
      await recordTableVersion(tx, dest, meta, 'created');
      await appendAudit(tx, {
        kind: 'schema.migrated',
        pipeline: meta.pipeline,
        detail: { table, action: 'created', specVersion: meta.version, specHash: meta.hash },
      });
      return { table, created: true };
    }
    const wanted = dest.partitioning ? 'p' : 'r';
    if (kind === wanted) {
      // Versioned migrations: safe changes (a new nullable column, a wider type) are applied here, in
      // this transaction, and recorded; any other change refuses the run, naming each change.
      const plan = planMigration(await readTableShape(tx, dest), dest);
      const refused = plan.changes.filter((c) => c.allow);
      const differences = [
        ...refused.map((c) => `${c.description} [needs --${c.allow}]`),
        ...(await compareWithSpec(tx, dest)),
      ];
      if (differences.length > 0) {
        throw new SchemaMismatchError(
          table,
          differences,
          refused.length > 0
            ? `Nothing was changed. See the DDL with: sluice migrate ${meta.pipeline} --plan; apply it with: sluice migrate ${meta.pipeline} --apply ${[...new Set(refused.map((c) => `--${c.allow}`))].join(' ')} (or change the spec back).`
            : undefined,
        );
      }
      if (plan.changes.length > 0) await applyChanges(tx, dest, plan.changes, meta);
      else await recordTableVersion(tx, dest, meta, 'verified');
      if (dest.partitioning) await ensureDefaultPartition(tx, dest);
      return {
        table,
        created: false,
        ...(plan.changes.length > 0 ? { migrated: plan.changes.map((c) => c.description) } : {}),
      };
    }
    const differences =
      kind === wanted
        ? []
        : [
            dest.partitioning
              ? `is not a partitioned table (relkind ${kind}); the spec says partitioned by range on (${dest.partitioning.column})`
              : `is ${kind === 'p' ? 'a partitioned table' : `not a plain table (relkind ${kind})`}; the spec has no partitioning (an unpartitioned table)`,
          ];
    if (differences.length > 0) throw new SchemaMismatchError(table, differences);
    if (dest.partitioning) await ensureDefaultPartition(tx, dest);
    await recordTableVersion(tx, dest, meta, 'verified');
    return { table, created: false };
  });
}

function columnDdl(dest: DestinationSpec, name: string): string {
  const col = dest.columns[name]!;
  if (!COLUMN_TYPE_PATTERN.test(col.type)) throw new Error(`column "${name}": unsupported type ${col.type}`);
  return `${quoteIdent(name)} ${col.type}${col.nullable ? '' : ' NOT NULL'}`;
}

async function createTargetTable(tx: WarehouseTx, dest: DestinationSpec): Promise<void> {
  // Two tables of one new schema may be created at once: serialise the schema's creation too.
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`sluice.schema.${dest.schema}`]);
  // Ask pg_namespace with this statement's snapshot: after waiting on an advisory lock the catalog cache
  // may not yet show the schema the previous holder committed, and IF NOT EXISTS would then collide.
  const schema = await tx.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [dest.schema]);
  if (schema.rowCount === 0) await tx.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(dest.schema)}`);
  const parts = Object.keys(dest.columns).map((name) => columnDdl(dest, name));
  if (dest.key && dest.key.length > 0) parts.push(`PRIMARY KEY (${dest.key.map(quoteIdent).join(', ')})`);
  const partitionBy = dest.partitioning
    ? ` PARTITION BY RANGE (${quoteIdent(dest.partitioning.column)})`
    : '';
  await tx.query(
    `CREATE TABLE ${quoteQualified(targetTableName(dest))} (\n  ${parts.join(',\n  ')}\n)${partitionBy}`,
  );
  if (dest.partitioning) await ensureDefaultPartition(tx, dest);
}

async function ensureDefaultPartition(tx: WarehouseTx, dest: DestinationSpec): Promise<void> {
  const partitions = await listPartitions(tx, targetTableName(dest));
  if (partitions.some((p) => p.isDefault)) return;
  await tx.query(
    `CREATE TABLE ${quoteIdent(dest.schema)}.${quoteIdent(defaultPartitionName(dest.table))} PARTITION OF ${quoteQualified(targetTableName(dest))} DEFAULT`,
  );
}

async function recordTableVersion(
  tx: WarehouseTx,
  dest: DestinationSpec,
  meta: SpecMeta,
  action: 'created' | 'verified',
): Promise<void> {
  const definition = {
    columns: dest.columns,
    key: dest.key ?? null,
    partitioning: dest.partitioning ?? null,
  };
  await tx.query(
    `INSERT INTO sluice.table_versions (table_schema, table_name, pipeline, spec_version, spec_hash, action, definition)
     VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
     ON CONFLICT (table_schema, table_name, spec_hash) DO NOTHING`,
    [dest.schema, dest.table, meta.pipeline, meta.version, meta.hash, action, JSON.stringify(definition)],
  );
}

/** The table's primary key columns, sorted by name; empty when it has none. */
export async function primaryKeyColumns(tx: Pick<WarehouseTx, 'query'>, table: string): Promise<string[]> {
  const keys = await tx.query<{ name: string }>(
    `SELECT a.attname AS name
       FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
      WHERE i.indrelid = to_regclass($1) AND i.indisprimary`,
    [quoteQualified(table)],
  );
  return keys.rows.map((r) => r.name).sort();
}

/**
 * What differs between the table's partitioning and the spec, in the user's words; empty when they
 * match. Columns, types, nullability and the key are the migration planner's (migration-plan.ts).
 */
async function compareWithSpec(tx: WarehouseTx, dest: DestinationSpec): Promise<string[]> {
  const table = targetTableName(dest);
  const differences: string[] = [];
  if (!dest.partitioning) return differences;
  const partKey = await tx.query<{ strategy: string; name: string | null }>(
    `SELECT pt.partstrat AS strategy, a.attname AS name
       FROM pg_partitioned_table pt
       LEFT JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = ANY (pt.partattrs)
      WHERE pt.partrelid = to_regclass($1)`,
    [quoteQualified(table)],
  );
  const partColumns = partKey.rows.map((r) => r.name ?? '(expression)');
  if (partKey.rows[0]?.strategy !== 'r' || partColumns.join(',') !== dest.partitioning.column) {
    differences.push(
      `partitioning: table is partitioned ${partKey.rows[0]?.strategy === 'r' ? 'by range' : 'otherwise'} on (${partColumns.join(', ')}), spec says range on (${dest.partitioning.column})`,
    );
  }

  const recorded = await tx.query<{ by: string | null }>(
    `SELECT definition -> 'partitioning' ->> 'by' AS by
       FROM sluice.table_versions WHERE table_schema = $1 AND table_name = $2
      ORDER BY applied_at DESC LIMIT 1`,
    [dest.schema, dest.table],
  );
  const recordedBy = recorded.rows[0]?.by;
  if (recordedBy && recordedBy !== dest.partitioning.by) {
    differences.push(
      `partitioning: table is partitioned by ${recordedBy}, spec says by ${dest.partitioning.by}`,
    );
  }
  return differences;
}

export interface ExistingPartition {
  name: string;
  isDefault: boolean;
}

/** The table's partitions (in the table's schema, as Sluice creates them), the default one marked. */
export async function listPartitions(
  tx: Pick<WarehouseTx, 'query'>,
  table: string,
): Promise<ExistingPartition[]> {
  const { rows } = await tx.query<{ name: string; bound: string }>(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = to_regclass($1)`,
    [quoteQualified(table)],
  );
  return rows.map((r) => ({ name: r.name, isDefault: r.bound === 'DEFAULT' }));
}

/** Bound value as a $n param: the text PostgreSQL parses into the column's type. */
function boundParam(day: string, type: PartitionColumnType): string {
  return boundLiteral(day, type).slice(1, -1);
}

export function partitionLockKey(dest: DestinationSpec): string {
  return `sluice.partitions.${targetTableName(dest)}`;
}

/**
 * Creates the partitions the staged rows need, in its own short transaction under an advisory lock
 * on the table, and returns every partition the staged rows touch (existing or new), in date order.
 * Rows already sitting in the default partition for a new partition's range are moved into it.
 *
 * @param stagingTable `schema.table` holding the rows about to be merged (see createStagingTable).
 * @throws PartitionLimitError when more than {@link MAX_NEW_PARTITIONS_PER_RUN} would be created.
 */
export async function ensurePartitions(
  wh: Warehouse,
  dest: DestinationSpec,
  stagingTable: string,
): Promise<string[]> {
  return (await preparePartitions(wh, dest, stagingTable)).map((p) => p.name);
}

/** A partition the staged rows touch, with how many of them it gets. */
export interface StagedPartition extends TargetPartition {
  rows: number;
}

/** ensurePartitions, with each partition's unit bounds and staged row count (replace-partitions, swaps). */
export async function preparePartitions(
  wh: Warehouse,
  dest: DestinationSpec,
  stagingTable: string,
): Promise<StagedPartition[]> {
  const table = targetTableName(dest);
  // An unpartitioned table has no partitions to make; replace-partitions replaces all of it.
  if (!dest.partitioning) return [];
  const { column, by } = dest.partitioning;
  const type = asPartitionColumnType(dest.columns[column]?.type ?? '');
  return wh.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [partitionLockKey(dest)]);
    const units = await tx.query<{ unit: string; rows: string | number }>(
      `SELECT to_char(u, 'YYYY-MM-DD') AS unit, n AS rows
         FROM (SELECT ${unitTruncExpression(quoteIdent(column), type, by)} AS u, count(*) AS n
                 FROM ${quoteQualified(stagingTable)} WHERE ${quoteIdent(column)} IS NOT NULL GROUP BY 1) g
        ORDER BY 1`,
    );
    const wanted: StagedPartition[] = units.rows.map(({ unit, rows }) => ({
      name: partitionName(dest.table, unit, by),
      start: unit,
      end: nextUnitStart(unit, by),
      rows: Number(rows),
    }));
    const existing = await listPartitions(tx, table);
    const existingNames = new Set(existing.map((p) => p.name));
    const missing = wanted.filter((p) => !existingNames.has(p.name));
    if (missing.length === 0) return wanted;
    if (missing.length > MAX_NEW_PARTITIONS_PER_RUN) {
      throw new PartitionLimitError(
        table,
        missing.length,
        MAX_NEW_PARTITIONS_PER_RUN,
        missing[0]!.start,
        missing.at(-1)!.start,
      );
    }

    const defaultPartition = existing.find((p) => p.isDefault);
    const stranded = defaultPartition
      ? await unitsInDefault(tx, dest, type, defaultPartition.name)
      : new Set<string>();
    const toMove = missing.filter((p) => stranded.has(p.start));
    const parent = quoteQualified(table);
    const qualifiedDefault = defaultPartition
      ? `${quoteIdent(dest.schema)}.${quoteIdent(defaultPartition.name)}`
      : undefined;

    // PostgreSQL refuses a new partition while the default holds rows of its range: detach the
    // default, create, move those rows through the parent (so they route to the new partitions), reattach.
    if (toMove.length > 0 && qualifiedDefault)
      await tx.query(`ALTER TABLE ${parent} DETACH PARTITION ${qualifiedDefault}`);
    for (const p of missing) {
      await tx.query(
        `CREATE TABLE ${quoteIdent(dest.schema)}.${quoteIdent(p.name)} PARTITION OF ${parent}
           FOR VALUES FROM (${boundLiteral(p.start, type)}) TO (${boundLiteral(p.end, type)})`,
      );
    }
    if (toMove.length > 0 && qualifiedDefault) {
      const cols = (await catalogColumns(tx, table)).map((c) => quoteIdent(c.name)).join(', ');
      const col = quoteIdent(column);
      for (const p of toMove) {
        await tx.query(
          `WITH moved AS (
             DELETE FROM ${qualifiedDefault} WHERE ${col} >= $1 AND ${col} < $2 RETURNING ${cols}
           )
           INSERT INTO ${parent} (${cols}) SELECT ${cols} FROM moved`,
          [boundParam(p.start, type), boundParam(p.end, type)],
        );
      }
      await tx.query(`ALTER TABLE ${parent} ATTACH PARTITION ${qualifiedDefault} DEFAULT`);
    }
    return wanted;
  });
}

async function unitsInDefault(
  tx: WarehouseTx,
  dest: DestinationSpec,
  type: PartitionColumnType,
  defaultName: string,
): Promise<Set<string>> {
  const { column, by } = partitioningOf(dest);
  const { rows } = await tx.query<{ unit: string }>(
    `SELECT DISTINCT to_char(u, 'YYYY-MM-DD') AS unit
       FROM (SELECT DISTINCT ${unitTruncExpression(quoteIdent(column), type, by)} AS u
               FROM ${quoteIdent(dest.schema)}.${quoteIdent(defaultName)} WHERE ${quoteIdent(column)} IS NOT NULL) g`,
  );
  return new Set(rows.map((r) => r.unit));
}
