// Retention: partitions older than the spec keeps are detached and dropped, recorded in the audit log.
import { appendAudit } from '../audit/log.js';
import { quoteIdent, quoteQualified } from '../ports/sql.js';
import type { Warehouse } from '../ports/warehouse.js';
import type { DestinationSpec } from '../spec/schema.js';
import { nextUnitStart, shiftUnitStart, unitStartFromPartitionName, unitStartOf } from './partition-units.js';
import { listPartitions, partitionLockKey, targetTableName } from './target.js';

export interface RetentionOptions {
  /** The current time, for tests. @default new Date() */
  now?: Date;
}

/**
 * Detaches and drops the partitions that ended `retention.keep` units or more before the current
 * unit (the current unit plus `keep` earlier ones stay). Only partitions named the way Sluice names
 * them are considered; the default partition is never dropped. No-op without `retention`.
 *
 * @returns names of the dropped partitions, oldest first.
 */
export async function applyRetention(
  wh: Warehouse,
  dest: DestinationSpec,
  options: RetentionOptions = {},
): Promise<string[]> {
  const keep = dest.retention?.keep;
  if (keep === undefined || !dest.partitioning) return [];
  const { by } = dest.partitioning;
  const cutoff = shiftUnitStart(unitStartOf(options.now ?? new Date(), by), by, -keep);
  const table = targetTableName(dest);
  return wh.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [partitionLockKey(dest)]);
    const expired = (await listPartitions(tx, table))
      .filter((p) => !p.isDefault)
      .map((p) => ({ name: p.name, start: unitStartFromPartitionName(dest.table, p.name, by) }))
      .filter((p): p is { name: string; start: string } => p.start !== undefined)
      .filter((p) => nextUnitStart(p.start, by) <= cutoff)
      .sort((a, b) => a.start.localeCompare(b.start));
    for (const p of expired) {
      const qualified = `${quoteIdent(dest.schema)}.${quoteIdent(p.name)}`;
      await tx.query(`ALTER TABLE ${quoteQualified(table)} DETACH PARTITION ${qualified}`);
      await tx.query(`DROP TABLE ${qualified}`);
    }
    if (expired.length > 0) {
      await appendAudit(tx, {
        kind: 'partitions.dropped',
        detail: { table, partitions: expired.map((p) => p.name), keep, by },
      });
    }
    return expired.map((p) => p.name);
  });
}
