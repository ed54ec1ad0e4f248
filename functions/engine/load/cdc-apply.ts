// Change data capture in the commit: the run's change events (staged exactly once per chunk) applied in order per key, in the commit's one transaction.
import { quoteIdent, quoteQualified } from '../ports/sql.js';
import type { Warehouse, WarehouseTx } from '../ports/warehouse.js';
import type { DestinationSpec } from '../spec/schema.js';
import { CHANGE_COLUMNS, type ChangeCounts, changeIdentity } from './cdc-columns.js';
import { applyHistory } from './cdc-history.js';
import { RunStateError } from './errors.js';
import { MERGE_WORK_MEM, ORD_COLUMN, SEQ_COLUMN } from './merge-sql.js';
import { lockRun, stagingTableName } from './run-row.js';
import { historyColumns, historyTableDestination, isHistory } from './scd2.js';
import { preparePartitions, type StagedPartition, targetTableName } from './target.js';

export { CHANGE_COLUMNS, CHANGE_OPS, type ChangeCounts, changeIdentity } from './cdc-columns.js';

const [OP, POSITION, AT, UNCHANGED] = CHANGE_COLUMNS.map(quoteIdent) as [string, string, string, string];
const SEQ = quoteIdent(SEQ_COLUMN);
const ORD = quoteIdent(ORD_COLUMN);

/**
 * Adds the change columns to a change run's staging table (and, with `deletes: soft`, the target's
 * soft-delete column), under the run's lock like the staging table itself.
 */
export async function addChangeColumns(wh: Warehouse, runId: string, dest: DestinationSpec): Promise<void> {
  const staging = quoteQualified(stagingTableName(runId));
  await wh.transaction(async (tx) => {
    const run = await lockRun(tx, runId, 'share');
    if (run?.status !== 'running') throw new RunStateError(runId, run?.status, 'stage changes');
    await tx.query(
      `ALTER TABLE ${staging} ADD COLUMN IF NOT EXISTS ${OP} "char" NOT NULL,
         ADD COLUMN IF NOT EXISTS ${POSITION} pg_lsn NOT NULL, ADD COLUMN IF NOT EXISTS ${AT} timestamptz NOT NULL,
         ADD COLUMN IF NOT EXISTS ${UNCHANGED} text[]`,
    );
    if (dest.deletes === 'soft')
      await tx.query(
        `ALTER TABLE ${quoteQualified(targetTableName(dest))} ADD COLUMN IF NOT EXISTS ${quoteIdent(dest.softDeleteColumn ?? 'deleted_at')} timestamptz`,
      );
  });
}

/**
 * Before the commit's transaction: the partitions the changes reach (history: the commit instants
 * that start versions; upsert: the rows' partition values), created when missing.
 */
export async function prepareChangePartitions(
  wh: Warehouse,
  dest: DestinationSpec,
  runId: string,
): Promise<StagedPartition[]> {
  const staging = stagingTableName(runId);
  if (!isHistory(dest)) return preparePartitions(wh, dest, staging);
  const h = historyColumns(dest);
  const scratch = `${staging}_at`;
  await wh.query(`DROP TABLE IF EXISTS ${quoteQualified(scratch)}`);
  await wh.query(
    `CREATE TABLE ${quoteQualified(scratch)} AS SELECT DISTINCT ${AT} AS ${quoteIdent(h.validFrom)} FROM ${quoteQualified(staging)}`,
  );
  try {
    return await preparePartitions(wh, historyTableDestination(dest), scratch);
  } finally {
    await wh.query(`DROP TABLE IF EXISTS ${quoteQualified(scratch)}`);
  }
}

/**
 * In the commit's transaction. First the values a change did not carry (unchanged TOASTed columns)
 * are taken from the key's previous change in the run, else from the target, never NULL. Then upsert:
 * the last change per key wins (a delete deletes, soft-deletes or, with `deletes: ignore`, is left
 * out; a row whose partition column changed leaves its old partition); history: every change in
 * order, one version per change of a tracked column from its commit's instant.
 */
export async function applyChanges(
  tx: WarehouseTx,
  dest: DestinationSpec,
  runId: string,
): Promise<ChangeCounts> {
  await tx.query(`SET LOCAL work_mem = '${MERGE_WORK_MEM}'`);
  await fillUnchanged(tx, dest, runId);
  return isHistory(dest) ? applyHistory(tx, dest, runId) : applyUpsert(tx, dest, runId);
}

async function fillUnchanged(tx: WarehouseTx, dest: DestinationSpec, runId: string): Promise<void> {
  const staging = quoteQualified(stagingTableName(runId));
  const target = quoteQualified(targetTableName(dest));
  const id = changeIdentity(dest).map(quoteIdent);
  const { rows } = await tx.query<{ c: string }>(
    `SELECT DISTINCT unnest(${UNCHANGED}) AS c FROM ${staging} WHERE ${UNCHANGED} IS NOT NULL`,
  );
  const current = isHistory(dest) ? ` AND t.${quoteIdent(historyColumns(dest).isCurrent)}` : '';
  for (const { c } of rows) {
    if (!(c in dest.columns)) continue;
    const col = quoteIdent(c);
    const before = `(p.${SEQ}, p.${ORD}) < (s.${SEQ}, s.${ORD})`;
    // Oldest first, so a chain of changes that all left it alone takes the value of the one that set it.
    await tx.query(
      `UPDATE ${staging} s SET ${col} = CASE WHEN v.found THEN v.val ELSE (SELECT t.${col} FROM ${target} t WHERE ${id.map((k) => `t.${k} = s.${k}`).join(' AND ')}${current} LIMIT 1) END
         FROM ${staging} s2
         LEFT JOIN LATERAL (SELECT true AS found, p.${col} AS val FROM ${staging} p
                             WHERE ${id.map((k) => `p.${k} = s2.${k}`).join(' AND ')} AND p.${OP} <> 'd'
                               AND NOT (${quoteLiteral(c)} = ANY(coalesce(p.${UNCHANGED}, '{}')))
                               AND ${before.replaceAll('s.', 's2.')}
                             ORDER BY p.${SEQ} DESC, p.${ORD} DESC LIMIT 1) v ON true
        WHERE s2.${SEQ} = s.${SEQ} AND s2.${ORD} = s.${ORD} AND ${quoteLiteral(c)} = ANY(s.${UNCHANGED})`,
    );
  }
}

async function applyUpsert(tx: WarehouseTx, dest: DestinationSpec, runId: string): Promise<ChangeCounts> {
  const staging = quoteQualified(stagingTableName(runId));
  const target = quoteQualified(targetTableName(dest));
  const id = changeIdentity(dest).map(quoteIdent);
  const key = (dest.key ?? []).map(quoteIdent);
  const cols = Object.keys(dest.columns).map(quoteIdent);
  const sameId = id.map((k) => `t.${k} = l.${k}`).join(' AND ');
  const ignore = dest.deletes !== 'hard' && dest.deletes !== 'soft';
  const soft = dest.deletes === 'soft' ? quoteIdent(dest.softDeleteColumn ?? 'deleted_at') : undefined;
  await tx.query(
    `CREATE TEMP TABLE sluice_cdc_last ON COMMIT DROP AS
       SELECT DISTINCT ON (${id.join(', ')}) * FROM ${staging}${ignore ? ` WHERE ${OP} <> 'd'` : ''}
        ORDER BY ${id.join(', ')}, ${SEQ} DESC, ${ORD} DESC`,
  );
  const counts = await tx.query<{ staged: string; last: string }>(
    `SELECT (SELECT count(*) FROM ${staging}) AS staged, (SELECT count(*) FROM sluice_cdc_last) AS last`,
  );
  const deleted = ignore
    ? { rowCount: 0 }
    : soft
      ? await tx.query(
          `UPDATE ${target} t SET ${soft} = l.${AT} FROM sluice_cdc_last l WHERE l.${OP} = 'd' AND ${sameId} AND t.${soft} IS NULL`,
        )
      : await tx.query(`DELETE FROM ${target} t USING sluice_cdc_last l WHERE l.${OP} = 'd' AND ${sameId}`);
  const part = dest.partitioning ? quoteIdent(dest.partitioning.column) : undefined;
  const moved = part
    ? await tx.query(
        `DELETE FROM ${target} t USING sluice_cdc_last l
          WHERE l.${OP} <> 'd' AND ${sameId} AND t.${part} IS DISTINCT FROM l.${part}`,
      )
    : { rowCount: 0 };
  const restored = soft
    ? await tx.query(
        `UPDATE ${target} t SET ${soft} = NULL FROM sluice_cdc_last l WHERE l.${OP} <> 'd' AND ${sameId} AND t.${soft} IS NOT NULL`,
      )
    : { rowCount: 0 };
  const rest = cols.filter((c) => !key.includes(c));
  const written = await tx.query(
    `INSERT INTO ${target} AS t (${cols.join(', ')}) SELECT ${cols.join(', ')} FROM sluice_cdc_last WHERE ${OP} <> 'd'
     ON CONFLICT (${key.join(', ')}) ${
       rest.length === 0
         ? 'DO NOTHING'
         : `DO UPDATE SET ${rest.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}
            WHERE (${rest.map((c) => `t.${c}`).join(', ')}) IS DISTINCT FROM (${rest.map((c) => `EXCLUDED.${c}`).join(', ')})`
     }`,
  );
  await tx.query('DROP TABLE sluice_cdc_last');
  const last = Number(counts.rows[0]!.last);
  return {
    staged_rows: Number(counts.rows[0]!.staged),
    distinct_rows: last,
    written: written.rowCount,
    closed: 0,
    deleted: deleted.rowCount,
    updatedInPlace: 0,
    moved: moved.rowCount,
    restored: restored.rowCount,
  };
}

function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
