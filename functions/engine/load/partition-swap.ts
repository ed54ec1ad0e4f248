import { quoteIdent, quoteQualified } from '../ports/sql.js';
import type { WarehouseTx } from '../ports/warehouse.js';
import { type DestinationSpec, PARTITION_SWAP_MIN_ROWS } from '../spec/schema.js';
import { asPartitionColumnType, boundLiteral, partitioningOf } from './partition-units.js';
import { listPartitions, primaryKeyColumns, type TargetPartition, targetTableName } from './target.js';

/**
 * Filling an EMPTY partition without the second write through the parent.
 *
 * The merge inserts the run's staged rows into the target through its parent: every row is routed,
 * written to the heap and WAL, and inserted into every index one by one; it was a third of a first
 * load's time. When a partition the run fills is empty at commit (a first load, a new day, a month
 * just begun), the same end state is reached by writing its rows into a new table, building its
 * indexes in bulk, and swapping it in: DETACH + DROP the empty partition, RENAME the new table to its
 * name, ATTACH it with the same bounds.
 *
 * All of it happens in the commit's transaction, so the new rows carry that transaction's id: a reader
 * sees all of the run or none of it at any isolation level, exactly as with the merge (a REPEATABLE
 * READ snapshot taken before the commit sees the swapped-in partition empty, as it saw the old one).
 * A partition that held rows when the commit began (replace-partitions, a full refresh) is never
 * swapped out: an older snapshot reading it after the swap would find its rows gone, so those rows
 * are deleted and the new ones merged, as before.
 *
 * Order and locks, in {@link swapInEmptyPartitions}'s caller (runs.ts, mergeOrSwap), inside a savepoint:
 * 1. SHARE ROW EXCLUSIVE on the target (other writers wait; readers go on), then SHARE on each
 *    candidate partition (a writer naming it directly waits too), each within {@link SWAP_LOCK_TIMEOUT};
 *    the still-empty candidates are kept. Taking the writer-excluding lock first means a concurrent
 *    commit into the same table waits for this one instead of deadlocking with it later.
 * 2. The new tables are written and indexed ({@link fillNewPartitions}), the other partitions' rows
 *    merged as usual.
 * 3. DETACH/ATTACH ({@link swapInEmptyPartitions}) take ACCESS EXCLUSIVE on the target: readers wait
 *    for it, so it is asked for last, for {@link SWAP_DETACH_LOCK_TIMEOUT} at most, and every index
 *    and foreign key of the target is already built and checked on the new tables (ATTACH adopts them).
 * Any database error on the way (a key repeating in the run breaks the unique index build, a lock not
 * granted in time, anything ATTACH refuses) rolls back to the savepoint, and the whole run is merged.
 *
 * It is taken only where it cannot change the outcome; otherwise the partition's rows are merged:
 * - the session reads committed (a REPEATABLE READ commit could find a partition empty that is not);
 * - the target: no triggers (a swap fires none), no row security, no identity column, not published
 *   and no logical replication slot in the database (logical decoding would not see the rows as
 *   inserts into the target), no foreign key from or to it, no exclusion constraint, its primary key
 *   the spec's key (as the merge requires), owned by a role we act as, its default partition empty
 *   (ATTACH would scan it);
 * - each partition: never written to (no pages: rows deleted lately would still be there for older
 *   snapshots), a plain permanent heap table owned by the role we run as, with nothing of its own
 *   that the new table would lose: the privileges, access method and tablespace a new table gets
 *   there, no storage options, publication, replica identity, comment, extended statistics, policy,
 *   view, column-level grant, statistics target, storage, compression or NOT NULL, index, trigger or
 *   constraint that the parent does not give it (column options such as n_distinct overrides and
 *   partition-level column defaults are not compared); and at least
 *   `destination.partitionSwap.minRows` of the run's rows (a swap's DDL costs milliseconds).
 */

/** How long the swap waits for the locks that keep writers out before falling back to the merge. */
export const SWAP_LOCK_TIMEOUT = '5s';
/** How long DETACH may wait for ACCESS EXCLUSIVE (readers queue behind it meanwhile). */
export const SWAP_DETACH_LOCK_TIMEOUT = '1s';

/** The new table's CHECK of its unit's range, dropped once attached (the partition bound says it). */
const BOUND_CHECK = 'sluice_swap_bound';

/** A partition the run fills that can be swapped: where it is and what it is bound to. */
export interface SwapCandidate extends TargetPartition {
  schema: string;
  /** `FOR VALUES FROM (…) TO (…)` as PostgreSQL prints it. */
  bound: string;
  /** Staged rows of the run it gets. */
  rows: number;
}

/**
 * The run's partitions (with their staged row counts) that may be swapped, judged from the catalog;
 * emptiness is checked under lock ({@link lockEmptyPartitions}). Empty when the target or the session
 * cannot take a swap at all.
 */
export async function swapCandidates(
  tx: Pick<WarehouseTx, 'query'>,
  dest: DestinationSpec,
  partitions: (TargetPartition & { rows: number })[],
): Promise<SwapCandidate[]> {
  const options = dest.partitionSwap ?? { enabled: true, minRows: PARTITION_SWAP_MIN_ROWS };
  if (!options.enabled) return [];
  const big = partitions.filter((p) => p.rows >= options.minRows);
  if (big.length === 0) return [];
  const parent = quoteQualified(targetTableName(dest));
  const target = await tx.query<{ ok: boolean }>(
    `SELECT current_setting('transaction_isolation') = 'read committed'
            AND NOT p.relrowsecurity AND NOT p.relispartition
            AND pg_has_role(current_user, p.relowner, 'USAGE')
            AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = p.oid AND NOT t.tgisinternal)
            AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.confrelid = p.oid AND f.contype = 'f')
            AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = p.oid AND k.contype IN ('f', 'x'))
            AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = p.oid AND a.attidentity <> '')
            AND NOT EXISTS (SELECT 1 FROM pg_publication WHERE puballtables)
            AND NOT EXISTS (SELECT 1 FROM pg_publication_rel r WHERE r.prrelid = p.oid)
            AND NOT EXISTS (SELECT 1 FROM pg_publication_namespace n WHERE n.pnnspid = p.relnamespace)
            AND NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_type = 'logical') AS ok
       FROM pg_class p WHERE p.oid = to_regclass($1)`,
    [parent],
  );
  if (!target.rows[0]?.ok) return [];
  // The merge dedupes a run's repeated keys when the primary key is the spec's key, and relies on it
  // to fail otherwise; the new tables' keys are the target's: they must be the same.
  const specKey = [...(dest.key ?? [])].sort().join(',');
  if (specKey && (await primaryKeyColumns(tx, targetTableName(dest))).join(',') !== specKey) return [];
  const { rows } = await tx.query<{
    name: string;
    schema: string;
    bound: string;
    is_default: boolean;
    ok: boolean;
  }>(
    `SELECT c.relname AS name, n.nspname AS schema,
            pg_get_expr(c.relpartbound, c.oid) AS bound, pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT' AS is_default,
            c.relkind = 'r' AND c.relpersistence = 'p' AND c.reloptions IS NULL
            AND c.reltablespace = 0 AND NOT c.relrowsecurity AND c.relreplident = 'd'
            AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
            AND has_schema_privilege(current_user, c.relnamespace, 'CREATE')
            AND NOT EXISTS (SELECT 1 FROM pg_index x WHERE x.indrelid = c.oid
                              AND NOT EXISTS (SELECT 1 FROM pg_inherits xi WHERE xi.inhrelid = x.indexrelid))
            AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal)
            AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid
                              AND k.coninhcount = 0 AND k.conparentid = 0
                              AND k.contype IN ('c', 'f', 'p', 'u', 'x'))
            AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.confrelid = c.oid)
            AND NOT EXISTS (SELECT 1 FROM pg_publication_rel r WHERE r.prrelid = c.oid)
            AND NOT EXISTS (SELECT 1 FROM pg_publication_namespace pn WHERE pn.pnnspid = c.relnamespace)
            AND NOT EXISTS (SELECT 1 FROM pg_description d
                             WHERE d.objoid = c.oid AND d.classoid = 'pg_class'::regclass)
            AND NOT EXISTS (SELECT 1 FROM pg_statistic_ext e WHERE e.stxrelid = c.oid)
            AND NOT EXISTS (SELECT 1 FROM pg_policy pp WHERE pp.polrelid = c.oid)
            AND NOT EXISTS (SELECT 1 FROM pg_depend v
                             WHERE v.refobjid = c.oid AND v.classid = 'pg_rewrite'::regclass)
            AND NOT EXISTS (SELECT 1 FROM pg_attribute a
                              LEFT JOIN pg_attribute pa ON pa.attrelid = i.inhparent AND pa.attname = a.attname
                             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                               AND (a.attacl IS NOT NULL OR a.attstattarget >= 0
                                    OR a.attstorage IS DISTINCT FROM pa.attstorage
                                    OR a.attcompression IS DISTINCT FROM pa.attcompression
                                    OR (a.attnotnull AND NOT coalesce(pa.attnotnull, false)))) AS ok
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE i.inhparent = to_regclass($1)`,
    [parent],
  );
  if (await defaultPartitionHoldsRows(tx, dest)) return [];
  const byName = new Map(rows.filter((r) => r.ok && !r.is_default).map((r) => [r.name, r]));
  return big.flatMap((p) => {
    const found = byName.get(p.name);
    return found ? [{ ...p, schema: found.schema, bound: found.bound }] : [];
  });
}

/**
 * Keeps other writers out of the target (SHARE ROW EXCLUSIVE: readers go on) and out of each
 * candidate partition (SHARE, for writers that name it directly), and returns the candidates never
 * written to (no pages at all). Merely empty is not enough: rows deleted by a transaction that
 * committed recently are still there for older snapshots, which would find them gone once the
 * partition is dropped. Nothing is returned when the default partition took rows meanwhile. Call
 * within {@link withLockTimeout}; a lock not granted in time raises 55P03.
 */
export async function lockEmptyPartitions(
  tx: WarehouseTx,
  dest: DestinationSpec,
  candidates: SwapCandidate[],
): Promise<SwapCandidate[]> {
  await tx.query(`LOCK TABLE ${quoteQualified(targetTableName(dest))} IN SHARE ROW EXCLUSIVE MODE`);
  const empty: SwapCandidate[] = [];
  for (const c of candidates) {
    const table = `${quoteIdent(c.schema)}.${quoteIdent(c.name)}`;
    await tx.query(`LOCK TABLE ${table} IN SHARE MODE`);
    const found = await tx.query<{ empty: boolean }>('SELECT pg_relation_size($1::regclass) = 0 AS empty', [
      table,
    ]);
    if (found.rows[0]!.empty) empty.push(c);
  }
  if (empty.length > 0 && (await defaultPartitionHoldsRows(tx, dest))) return [];
  return empty;
}

/** Whether the target's default partition holds rows: ATTACH would scan it under an exclusive lock. */
async function defaultPartitionHoldsRows(
  tx: Pick<WarehouseTx, 'query'>,
  dest: DestinationSpec,
): Promise<boolean> {
  const found = (await listPartitions(tx, targetTableName(dest))).find((p) => p.isDefault);
  if (!found) return false;
  const name = `${quoteIdent(dest.schema)}.${quoteIdent(found.name)}`;
  return (await tx.query<{ filled: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${name}) AS filled`)).rows[0]!
    .filled;
}

/** Runs fn with the transaction's lock_timeout set to `timeout`, then puts the previous one back. */
export async function withLockTimeout<T>(tx: WarehouseTx, timeout: string, fn: () => Promise<T>): Promise<T> {
  const { rows } = await tx.query<{ previous: string }>(
    `SELECT current_setting('lock_timeout') AS previous, set_config('lock_timeout', $1, true)`,
    [timeout],
  );
  const result = await fn();
  await tx.query(`SELECT set_config('lock_timeout', $1, true)`, [rows[0]!.previous]);
  return result;
}

/** SQL predicate: the partition column lies in one of the units `[start, end)`; bounds inlined (validated days). */
export function unitsPredicate(dest: DestinationSpec, units: { start: string; end: string }[]): string {
  if (units.length === 0) return 'false';
  const partitioning = partitioningOf(dest);
  const column = quoteIdent(partitioning.column);
  const type = asPartitionColumnType(dest.columns[partitioning.column]?.type ?? '');
  return units
    .map((u) => `(${column} >= ${boundLiteral(u.start, type)} AND ${column} < ${boundLiteral(u.end, type)})`)
    .join(' OR ');
}

/**
 * Writes the candidates' staged rows into new tables, one per candidate, through a scratch parent in
 * the staging schema (one pass over staging routes every row), then builds on each, in bulk, every
 * index and foreign key the target has, so that ATTACH only adopts them. Each new table sits in its
 * partition's schema under a temporary name. A candidate whose new table would not get its
 * partition's privileges or access method (grants made on the partition itself) is left to the
 * merge. `stagedUnits`: how many units the staged rows fall in. Returns the candidates filled and
 * how many rows they hold; raises 23505 when a key repeats within the run.
 */
export async function fillNewPartitions(
  tx: WarehouseTx,
  dest: DestinationSpec,
  stagingTable: string,
  candidates: SwapCandidate[],
  stagedUnits: number,
): Promise<{ filled: SwapCandidate[]; rows: number }> {
  const parent = quoteQualified(targetTableName(dest));
  const scratch = scratchParent(stagingTable);
  await tx.query(
    `CREATE TABLE ${quoteQualified(scratch)} (LIKE ${parent} INCLUDING DEFAULTS INCLUDING GENERATED
       INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMPRESSION INCLUDING STATISTICS)
       PARTITION BY RANGE (${quoteIdent(partitioningOf(dest).column)})`,
  );
  const filled: SwapCandidate[] = [];
  for (const c of candidates) {
    const fresh = newTable(c, stagingTable);
    await tx.query(`CREATE TABLE ${fresh} PARTITION OF ${quoteQualified(scratch)} ${c.bound}`);
    const same = await tx.query<{ same: boolean }>(
      `SELECT o.relacl IS NOT DISTINCT FROM f.relacl AND o.relam = f.relam AND o.reltablespace = f.reltablespace AS same
         FROM pg_class o, pg_class f WHERE o.oid = to_regclass($1) AND f.oid = to_regclass($2)`,
      [`${quoteIdent(c.schema)}.${quoteIdent(c.name)}`, fresh],
    );
    if (!same.rows[0]!.same) {
      await tx.query(`DROP TABLE ${fresh}`);
      continue;
    }
    // Checked per row as it is written (cheap); it lets ATTACH skip scanning the table for its bounds.
    const column = quoteIdent(partitioningOf(dest).column);
    await tx.query(
      `ALTER TABLE ${fresh} ADD CONSTRAINT ${BOUND_CHECK} CHECK (${column} IS NOT NULL AND (${unitsPredicate(dest, [c])}))`,
    );
    filled.push(c);
  }
  if (filled.length === 0) return { filled, rows: 0 };
  const cols = Object.keys(dest.columns).map(quoteIdent).join(', ');
  // Every staged row when every unit is filled (the scratch parent routes them; a row it has no
  // partition for fails the INSERT, and the merge takes over): the range test costs ~0.1 s per 1M rows.
  const where = filled.length === stagedUnits ? '' : `WHERE ${unitsPredicate(dest, filled)}`;
  const inserted = await tx.query(
    `INSERT INTO ${quoteQualified(scratch)} (${cols}) SELECT ${cols} FROM ${quoteQualified(stagingTable)} ${where}`,
  );
  // Unique keys as constraints, other indexes as indexes: built once the rows are in (a sort each, not
  // row by row), outside the exclusive lock ATTACH takes. (Targets with foreign keys are not swapped:
  // adding one would lock the referenced table against writers until the commit.)
  const constraints = await tx.query<{ def: string }>(
    `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint
      WHERE conrelid = to_regclass($1) AND contype IN ('p', 'u') ORDER BY contype, conname`,
    [parent],
  );
  const indexes = await tx.query<{ def: string; parent: string }>(
    `SELECT pg_get_indexdef(x.indexrelid) AS def, quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS parent
       FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE x.indrelid = to_regclass($1)
        AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.conrelid = x.indrelid)`,
    [parent],
  );
  for (const c of filled) {
    const fresh = newTable(c, stagingTable);
    for (const k of constraints.rows) await tx.query(`ALTER TABLE ${fresh} ADD ${k.def}`);
    for (const x of indexes.rows) {
      const sql = indexOn(x.def, x.parent, fresh);
      // An index definition this cannot rewrite: leave the whole run to the merge.
      if (!sql) return { filled: [], rows: 0 };
      await tx.query(sql);
    }
  }
  return { filled, rows: inserted.rowCount };
}

/**
 * `CREATE [UNIQUE] INDEX name ON ONLY <parent> USING …` (pg_get_indexdef of a partitioned index on
 * `parent`, as quote_ident prints it qualified) as the same index, unnamed, on `table`; undefined when
 * the definition is not of that shape.
 */
export function indexOn(definition: string, parent: string, table: string): string | undefined {
  const anchor = ` ON ONLY ${parent} USING `;
  const at = definition.indexOf(anchor);
  const head = /^CREATE (UNIQUE )?INDEX /.exec(definition);
  if (!head || at < 0) return undefined;
  return `CREATE ${head[1] ?? ''}INDEX ON ${table} USING ${definition.slice(at + anchor.length)}`;
}

/**
 * Puts each new table in place of its empty partition: out of the scratch parent, the empty
 * partition detached and dropped, the new table renamed to its name and attached with its bounds (its
 * indexes and constraints renamed as the empty partition's were). Then drops the scratch parent. Call within
 * {@link withLockTimeout} ({@link SWAP_DETACH_LOCK_TIMEOUT}).
 */
export async function swapInEmptyPartitions(
  tx: WarehouseTx,
  dest: DestinationSpec,
  stagingTable: string,
  swaps: SwapCandidate[],
): Promise<void> {
  const parent = quoteQualified(targetTableName(dest));
  const scratch = quoteQualified(scratchParent(stagingTable));
  // What the old partition's indexes and constraints are called, by the parent's they belong to.
  const indexNames = `SELECT c.relname AS name, i.inhparent::text AS parent
                        FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
                        JOIN pg_inherits i ON i.inhrelid = x.indexrelid WHERE x.indrelid = to_regclass($1)`;
  const constraintNames = `SELECT conname AS name, conparentid::text AS parent FROM pg_constraint
                            WHERE conrelid = to_regclass($1) AND conparentid <> 0`;
  for (const c of swaps) {
    const fresh = newTable(c, stagingTable);
    const old = `${quoteIdent(c.schema)}.${quoteIdent(c.name)}`;
    await tx.query(`ALTER TABLE ${scratch} DETACH PARTITION ${fresh}`);
    const oldIndexes = (await tx.query<Named>(indexNames, [old])).rows;
    const oldConstraints = (await tx.query<Named>(constraintNames, [old])).rows;
    await tx.query(`ALTER TABLE ${parent} DETACH PARTITION ${old}`);
    await tx.query(`DROP TABLE ${old}`);
    await tx.query(`ALTER TABLE ${fresh} RENAME TO ${quoteIdent(c.name)}`);
    await tx.query(`ALTER TABLE ${parent} ATTACH PARTITION ${old} ${c.bound}`);
    await tx.query(`ALTER TABLE ${old} DROP CONSTRAINT ${BOUND_CHECK}`);
    // The new table's, adopted by the parent's, get the names the old ones had (a key's index
    // renames its constraint with it; foreign keys have no index).
    for (const x of (await tx.query<Named>(indexNames, [old])).rows) {
      const wanted = oldIndexes.find((o) => o.parent === x.parent)?.name;
      if (wanted && wanted !== x.name)
        await tx.query(
          `ALTER INDEX ${quoteIdent(c.schema)}.${quoteIdent(x.name)} RENAME TO ${quoteIdent(wanted)}`,
        );
    }
    for (const k of (await tx.query<Named>(constraintNames, [old])).rows) {
      const wanted = oldConstraints.find((o) => o.parent === k.parent)?.name;
      if (wanted && wanted !== k.name)
        await tx.query(`ALTER TABLE ${old} RENAME CONSTRAINT ${quoteIdent(k.name)} TO ${quoteIdent(wanted)}`);
    }
  }
  await tx.query(`DROP TABLE ${scratch}`);
}

interface Named {
  name: string;
  parent: string;
}

/**
 * The new tables' rows into the target through its parent, then the scratch parent dropped: for when
 * the swap cannot take its exclusive lock in time. Their rows are unique (the keys were built) and the
 * partitions they are for are empty and locked, so a plain INSERT does what the merge would.
 */
export async function insertNewPartitionsThroughParent(
  tx: WarehouseTx,
  dest: DestinationSpec,
  stagingTable: string,
): Promise<void> {
  const cols = Object.keys(dest.columns).map(quoteIdent).join(', ');
  const scratch = quoteQualified(scratchParent(stagingTable));
  await tx.query(
    `INSERT INTO ${quoteQualified(targetTableName(dest))} (${cols}) SELECT ${cols} FROM ${scratch}`,
  );
  await tx.query(`DROP TABLE ${scratch}`);
}

/** `sluice_staging.run_<hex>_swap`: the scratch parent of the run's new tables. */
function scratchParent(stagingTable: string): string {
  return `${stagingTable}_swap`;
}

/** The new table for a candidate: its partition's schema, a name unique to the run (≤ 63 bytes). */
function newTable(c: SwapCandidate, stagingTable: string): string {
  const run = stagingTable.slice(stagingTable.indexOf('.run_') + 5).slice(0, 12);
  return `${quoteIdent(c.schema)}.${quoteIdent(`sluice_new_${run}_${c.start.replaceAll('-', '')}`)}`;
}
