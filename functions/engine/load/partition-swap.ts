import { quoteIdent, quoteQualified } from '../../adapters/warehouse/sql.js';
import type { Warehouse, WarehouseTx } from '../../adapters/warehouse/types.js';
import { type DestinationSpec, PARTITION_SWAP_MIN_ROWS, PARTITION_SWAP_PARALLELISM } from '../spec/schema.js';
import { STAGING_SCHEMA } from './migrations.js';
import { asPartitionColumnType, boundLiteral } from './partition-units.js';
import { type TargetPartition, targetTableName } from './target.js';

/**
 * Filling an EMPTY partition without the second write through the parent.
 *
 * The merge inserts the run's staged rows into the target through its parent: every row is routed,
 * written to the heap and WAL, and inserted into every index one by one; it was a third of a first
 * load's time. When a partition the run fills is empty at commit (a first load, a new day) or is
 * replaced by it (replace-partitions, a full refresh), the same end state is reached by writing its
 * rows into a new table, building its unique keys in bulk, and swapping it in: DETACH + DROP the old
 * partition, RENAME the new table to its name, ATTACH it with the same bounds.
 *
 * - Before the commit's transaction, {@link prefillSwaps} writes the new tables (`parallelism`
 *   transactions at once on PostgreSQL, default 2) as partitions of scratch parents in the staging
 *   schema: nobody reads them, and a crash or failed run leaves only scratch that is dropped later.
 * - In the commit's transaction, {@link lockSwapTargets} locks each old partition against writers and
 *   checks it is still empty (or, replacing it, holds nothing outside the replaced unit); the commit
 *   merges the other partitions' rows as usual, then {@link swapInNewPartitions} swaps. Readers see
 *   all of the run or none, as with the merge.
 *
 * It is taken only where it cannot change the outcome, and otherwise the rows are merged:
 * - the target: no triggers (a swap fires none), no row security, not published and no logical
 *   replication slot in the database (logical decoding would not see the rows as inserts into the
 *   target), no foreign key pointing at it, owned by a role we act as, its default partition empty;
 * - each partition: a plain permanent table owned by the role we run as, with nothing of its own
 *   that the new table would lose (the privileges a new table gets there, no storage options or
 *   tablespace, no index, trigger or constraint not inherited from the parent), at least `minRows` of
 *   the run's rows (a swap's DDL costs milliseconds).
 * A key repeating within the run fails the bulk key build (23505): that transaction's partitions are
 * merged. A lock not granted within {@link SWAP_LOCK_TIMEOUT} (a long reader of the target), or
 * anything ATTACH refuses, rolls the commit back to its savepoint and the whole run is merged. The
 * parent's other indexes, CHECK and foreign-key constraints are built or validated by ATTACH itself.
 */

/** How long the swap waits for a lock before the commit falls back to the merge. */
export const SWAP_LOCK_TIMEOUT = '5s';

/**
 * SQLSTATEs after which the commit rolls back to its savepoint and merges instead: unique violation
 * (a key repeats in the run), check / exclusion / foreign-key violation found by ATTACH, lock not
 * available (timeout), deadlock, insufficient privilege, dependent objects (a view on the partition).
 */
export const SWAP_FALLBACK_CODES: ReadonlySet<string> = new Set([
  '23505',
  '23514',
  '23P01',
  '23503',
  '55P03',
  '40P01',
  '42501',
  '2BP01',
]);

/** The new table's CHECK of its unit's range, dropped once attached (the partition bound says it). */
const BOUND_CHECK = 'sluice_swap_bound';

/** A partition the run fills that can be swapped: where it is and what it is bound to. */
export interface SwapCandidate extends TargetPartition {
  schema: string;
  /** `FOR VALUES FROM (…) TO (…)` as PostgreSQL prints it. */
  bound: string;
}

/**
 * The run's partitions (with their staged row counts) that may be swapped, judged from the catalog;
 * emptiness is checked later, under lock ({@link lockSwapTargets}). Empty when the target cannot take
 * a swap at all.
 */
export async function swapCandidates(
  tx: Pick<WarehouseTx, 'query'>,
  dest: DestinationSpec,
  partitions: (TargetPartition & { rows: number })[],
): Promise<SwapCandidate[]> {
  const options = dest.partitionSwap ?? {
    enabled: true,
    minRows: PARTITION_SWAP_MIN_ROWS,
    parallelism: PARTITION_SWAP_PARALLELISM,
  };
  if (!options.enabled) return [];
  const big = partitions.filter((p) => p.rows >= options.minRows);
  if (big.length === 0) return [];
  const parent = quoteQualified(targetTableName(dest));
  const target = await tx.query<{ ok: boolean }>(
    `SELECT NOT p.relrowsecurity AND NOT p.relispartition
            AND pg_has_role(current_user, p.relowner, 'USAGE')
            AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = p.oid AND NOT t.tgisinternal)
            AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.confrelid = p.oid AND f.contype = 'f')
            AND NOT EXISTS (SELECT 1 FROM pg_publication WHERE puballtables)
            AND NOT EXISTS (SELECT 1 FROM pg_publication_rel r WHERE r.prrelid = p.oid)
            AND NOT EXISTS (SELECT 1 FROM pg_publication_namespace n WHERE n.pnnspid = p.relnamespace)
            AND NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_type = 'logical') AS ok
       FROM pg_class p WHERE p.oid = to_regclass($1)`,
    [parent],
  );
  if (!target.rows[0]?.ok) return [];
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
            AND c.reltablespace = 0 AND NOT c.relrowsecurity
            AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
            AND has_schema_privilege(current_user, c.relnamespace, 'CREATE')
            AND NOT EXISTS (SELECT 1 FROM pg_index x WHERE x.indrelid = c.oid
                              AND NOT EXISTS (SELECT 1 FROM pg_inherits xi WHERE xi.inhrelid = x.indexrelid))
            AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal)
            AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid
                              AND k.coninhcount = 0 AND k.conparentid = 0
                              AND k.contype IN ('c', 'f', 'p', 'u', 'x'))
            AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.confrelid = c.oid) AS ok
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE i.inhparent = to_regclass($1)`,
    [parent],
  );
  const defaultPartition = rows.find((r) => r.is_default);
  if (defaultPartition) {
    const filled = await tx.query<{ filled: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM ${quoteIdent(defaultPartition.schema)}.${quoteIdent(defaultPartition.name)}) AS filled`,
    );
    // ATTACH would scan it (under an exclusive lock) for rows of the new partition's range.
    if (filled.rows[0]!.filled) return [];
  }
  const byName = new Map(rows.filter((r) => r.ok && !r.is_default).map((r) => [r.name, r]));
  return big.flatMap((p) => {
    const found = byName.get(p.name);
    return found
      ? [
          {
            name: p.name,
            start: p.start,
            end: p.end,
            schema: found.schema,
            bound: found.bound,
          },
        ]
      : [];
  });
}

/**
 * Locks the partitions the new tables are for against writers (SHARE: readers go on) and keeps those
 * that can be swapped out: empty ones, or when the commit is `replacing` them (replace-partitions, a
 * full refresh), those holding no row outside the unit replaced; `rowsHeld` counts the rows they held
 * (replaced rows). Call after {@link setSwapLockTimeout}; a lock not granted in time raises 55P03.
 */
export async function lockSwapTargets(
  tx: WarehouseTx,
  dest: DestinationSpec,
  filled: Prefilled[],
  replacing: boolean,
): Promise<{ swaps: Prefilled[]; rowsHeld: number }> {
  const swaps: Prefilled[] = [];
  let rowsHeld = 0;
  for (const f of filled) {
    const table = `${quoteIdent(f.partition.schema)}.${quoteIdent(f.partition.name)}`;
    await tx.query(`LOCK TABLE ${table} IN SHARE MODE`);
    if (replacing) {
      // Replacing drops the partition whole: only if all it holds is in the unit being replaced.
      const held = await tx.query<{ n: string; inside: string }>(
        `SELECT count(*) AS n, count(*) FILTER (WHERE ${unitsPredicate(dest, [f.partition])}) AS inside FROM ${table}`,
      );
      if (held.rows[0]!.n !== held.rows[0]!.inside) continue;
      rowsHeld += Number(held.rows[0]!.n);
      swaps.push(f);
      continue;
    }
    const found = await tx.query<{ empty: boolean }>(`SELECT NOT EXISTS (SELECT 1 FROM ${table}) AS empty`);
    if (found.rows[0]!.empty) swaps.push(f);
  }
  return { swaps, rowsHeld };
}

/** Sets the transaction's lock_timeout to {@link SWAP_LOCK_TIMEOUT}; returns the previous value. */
export async function setSwapLockTimeout(tx: WarehouseTx): Promise<string> {
  const { rows } = await tx.query<{ previous: string }>(
    `SELECT current_setting('lock_timeout') AS previous, set_config('lock_timeout', $1, true)`,
    [SWAP_LOCK_TIMEOUT],
  );
  return rows[0]!.previous;
}

export async function restoreLockTimeout(tx: WarehouseTx, previous: string): Promise<void> {
  await tx.query(`SELECT set_config('lock_timeout', $1, true)`, [previous]);
}

/** SQL predicate: the partition column lies in one of the units `[start, end)`; bounds inlined (validated days). */
export function unitsPredicate(dest: DestinationSpec, units: { start: string; end: string }[]): string {
  if (units.length === 0) return 'false';
  const column = quoteIdent(dest.partitioning.column);
  const type = asPartitionColumnType(dest.columns[dest.partitioning.column]?.type ?? '');
  return units
    .map((u) => `(${column} >= ${boundLiteral(u.start, type)} AND ${column} < ${boundLiteral(u.end, type)})`)
    .join(' OR ');
}

/** A new table written for a partition, ready to be swapped in. */
export interface Prefilled {
  partition: SwapCandidate;
  /** The scratch parent it is a partition of until it is swapped in (`sluice_staging.run_<hex>_swap<n>`). */
  scratch: string;
  /** Staged rows it holds. */
  rows: number;
}

/**
 * Before the commit's transaction: writes new tables for the run's partitions that can be swapped and
 * are empty now (or, `replacing`, whose rows the commit replaces: replace-partitions, a full refresh),
 * in up to `destination.partitionSwap.parallelism` transactions at once (default 2; PGlite: one), each over its share of the partitions
 * (one pass over staging each). They are the run's scratch: nobody reads them; a crash leaves them to
 * {@link dropSwapTables} (the next commit attempt, failing or abandoning the run); the commit's
 * transaction checks again, under lock, before it swaps. A share in which a key repeats (23505 from
 * the bulk key build) is left to the merge; other errors fail the commit.
 */
export async function prefillSwaps(
  wh: Warehouse,
  dest: DestinationSpec,
  stagingTable: string,
  partitions: (TargetPartition & { rows: number })[],
  replacing: boolean,
): Promise<Prefilled[]> {
  await wh.transaction((tx) => dropSwapTables(tx, stagingTable));
  const candidates = await swapCandidates(wh, dest, partitions);
  const empty: SwapCandidate[] = [];
  for (const c of candidates) {
    if (replacing) {
      empty.push(c); // the commit replaces its rows
      continue;
    }
    const found = await wh.query<{ empty: boolean }>(
      `SELECT NOT EXISTS (SELECT 1 FROM ${quoteIdent(c.schema)}.${quoteIdent(c.name)}) AS empty`,
    );
    if (found.rows[0]!.empty) empty.push(c);
  }
  if (empty.length === 0) return [];
  const rowsOf = new Map(partitions.map((p) => [p.name, p.rows]));
  // Greedy shares by row count, largest first.
  const shares: { candidates: SwapCandidate[]; rows: number }[] = Array.from(
    {
      length: Math.min(
        wh.kind === 'pglite' ? 1 : (dest.partitionSwap?.parallelism ?? PARTITION_SWAP_PARALLELISM),
        empty.length,
      ),
    },
    () => ({ candidates: [], rows: 0 }),
  );
  for (const c of [...empty].sort((a, b) => rowsOf.get(b.name)! - rowsOf.get(a.name)!)) {
    const share = shares.reduce((least, s) => (s.rows < least.rows ? s : least));
    share.candidates.push(c);
    share.rows += rowsOf.get(c.name)!;
  }
  const outcomes = await Promise.allSettled(
    shares.map((share, i) =>
      wh.transaction(async (tx) => {
        const scratch = `${stagingTable}_swap${i}`;
        const { filled, rows } = await fillNewPartitions(tx, dest, stagingTable, scratch, share.candidates);
        const expected = filled.reduce((n, c) => n + rowsOf.get(c.name)!, 0);
        if (rows !== expected)
          throw new Error(
            `partition swap: wrote ${rows} rows into new partitions, staging holds ${expected}`,
          );
        return filled.map((partition) => ({ partition, scratch, rows: rowsOf.get(partition.name)! }));
      }),
    ),
  );
  const prefilled: Prefilled[] = [];
  for (const o of outcomes) {
    if (o.status === 'fulfilled') prefilled.push(...o.value);
    else if ((o.reason as { code?: string }).code !== '23505') throw o.reason;
  }
  return prefilled;
}

/** Drops the run's scratch parents and, with them, the new tables not swapped in. */
export async function dropSwapTables(tx: Pick<WarehouseTx, 'query'>, stagingTable: string): Promise<void> {
  const prefix = stagingTable.slice(STAGING_SCHEMA.length + 1);
  const { rows } = await tx.query<{ name: string }>(
    `SELECT relname AS name FROM pg_class
      WHERE relnamespace = $1::regnamespace AND relkind = 'p' AND relname LIKE $2`,
    [STAGING_SCHEMA, `${prefix}\\_swap%`],
  );
  for (const r of rows)
    await tx.query(`DROP TABLE ${quoteIdent(STAGING_SCHEMA)}.${quoteIdent(r.name)} CASCADE`);
}

/**
 * Writes the candidates' staged rows into new tables, one per candidate, through a scratch parent in
 * the staging schema (one pass over staging routes every row), with the target's primary key / unique
 * constraints built in bulk. Each new table sits in its partition's schema under a temporary name. A
 * candidate whose new table would not get the privileges its partition has (grants made on the
 * partition itself) is left to the merge. Returns the candidates filled and how many rows they hold;
 * raises 23505 when a key repeats in the run.
 */
export async function fillNewPartitions(
  tx: WarehouseTx,
  dest: DestinationSpec,
  stagingTable: string,
  scratch: string,
  candidates: SwapCandidate[],
): Promise<{ filled: SwapCandidate[]; rows: number }> {
  const parent = quoteQualified(targetTableName(dest));
  const scratchParent = quoteQualified(scratch);
  await tx.query(
    `CREATE TABLE ${scratchParent} (LIKE ${parent} INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING CONSTRAINTS)
       PARTITION BY RANGE (${quoteIdent(dest.partitioning.column)})`,
  );
  const filled: SwapCandidate[] = [];
  for (const c of candidates) {
    const fresh = newTable(c, scratch);
    await tx.query(`CREATE TABLE ${fresh} PARTITION OF ${scratchParent} ${c.bound}`);
    const acl = await tx.query<{ same: boolean }>(
      `SELECT (SELECT relacl FROM pg_class WHERE oid = to_regclass($1))
              IS NOT DISTINCT FROM (SELECT relacl FROM pg_class WHERE oid = to_regclass($2)) AS same`,
      [`${quoteIdent(c.schema)}.${quoteIdent(c.name)}`, fresh],
    );
    if (!acl.rows[0]!.same) {
      await tx.query(`DROP TABLE ${fresh}`);
      continue;
    }
    // Checked per row as it is written (cheap); it lets ATTACH skip scanning the table for its bounds.
    await tx.query(`ALTER TABLE ${fresh} ADD CONSTRAINT ${BOUND_CHECK} CHECK (${unitsPredicate(dest, [c])})`);
    filled.push(c);
  }
  if (filled.length === 0) return { filled, rows: 0 };
  const cols = Object.keys(dest.columns).map(quoteIdent).join(', ');
  const inserted = await tx.query(
    `INSERT INTO ${scratchParent} (${cols}) SELECT ${cols} FROM ${quoteQualified(stagingTable)}
      WHERE ${unitsPredicate(dest, filled)}`,
  );
  // Unique indexes in bulk (a sort each) rather than row by row; ATTACH adopts them as the parent's.
  const keys = await tx.query<{ def: string }>(
    `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint
      WHERE conrelid = to_regclass($1) AND contype IN ('p', 'u') ORDER BY conname`,
    [parent],
  );
  for (const k of keys.rows) {
    for (const c of filled) await tx.query(`ALTER TABLE ${newTable(c, scratch)} ADD ${k.def}`);
  }
  return { filled, rows: inserted.rowCount };
}

/**
 * Puts each new table in place of its empty partition: out of its scratch parent, the empty partition
 * detached and dropped, the new table renamed to its name and attached with its bounds (its unique
 * constraints renamed as the empty partition's were). Then drops the scratch parents (and with them
 * new tables not swapped in).
 */
export async function swapInNewPartitions(
  tx: WarehouseTx,
  dest: DestinationSpec,
  stagingTable: string,
  swaps: Prefilled[],
): Promise<void> {
  const parent = quoteQualified(targetTableName(dest));
  for (const { partition: c, scratch } of swaps) {
    const fresh = newTable(c, scratch);
    const old = `${quoteIdent(c.schema)}.${quoteIdent(c.name)}`;
    await tx.query(`ALTER TABLE ${quoteQualified(scratch)} DETACH PARTITION ${fresh}`);
    // The empty partition's unique constraints' names, by the parent constraint they belong to.
    const names = await tx.query<{ name: string; parent: string }>(
      `SELECT conname AS name, conparentid::text AS parent FROM pg_constraint
        WHERE conrelid = to_regclass($1) AND contype IN ('p', 'u') AND conparentid <> 0`,
      [old],
    );
    await tx.query(`ALTER TABLE ${parent} DETACH PARTITION ${old}`);
    await tx.query(`DROP TABLE ${old}`);
    await tx.query(`ALTER TABLE ${fresh} RENAME TO ${quoteIdent(c.name)}`);
    await tx.query(`ALTER TABLE ${parent} ATTACH PARTITION ${old} ${c.bound}`);
    await tx.query(`ALTER TABLE ${old} DROP CONSTRAINT ${BOUND_CHECK}`);
    // Now the new table's: renamed to what they were (their indexes follow).
    const adopted = await tx.query<{ name: string; parent: string }>(
      `SELECT conname AS name, conparentid::text AS parent FROM pg_constraint
        WHERE conrelid = to_regclass($1) AND contype IN ('p', 'u') AND conparentid <> 0`,
      [old],
    );
    for (const a of adopted.rows) {
      const wanted = names.rows.find((n) => n.parent === a.parent)?.name;
      if (wanted && wanted !== a.name)
        await tx.query(`ALTER TABLE ${old} RENAME CONSTRAINT ${quoteIdent(a.name)} TO ${quoteIdent(wanted)}`);
    }
  }
  await dropSwapTables(tx, stagingTable);
}

/** The new table for a candidate: its partition's schema, a name unique to the run (≤ 63 bytes). */
function newTable(c: SwapCandidate, scratch: string): string {
  const run = scratch.slice(STAGING_SCHEMA.length + 5, STAGING_SCHEMA.length + 17);
  return `${quoteIdent(c.schema)}.${quoteIdent(`sluice_new_${run}_${c.start.replaceAll('-', '')}`)}`;
}
