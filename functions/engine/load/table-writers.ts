// Which pipelines write a target table, from the run ledger: a full refresh of a shared table is refused.
import { quoteQualified } from '../ports/sql.js';
import type { WarehouseTx } from '../ports/warehouse.js';
import type { DestinationSpec } from '../spec/schema.js';
import { targetTableName } from './target.js';

type Queryable = Pick<WarehouseTx, 'query'>;

/**
 * A full refresh would delete rows other pipelines loaded: the table has no record of which pipeline
 * wrote a row, so a full refresh (which replaces the whole table) is refused on a shared one.
 */
export class SharedTableRefreshError extends Error {
  constructor(
    readonly pipeline: string,
    readonly table: string,
    readonly others: string[],
  ) {
    super(
      `--full-refresh of pipeline "${pipeline}" is refused: it replaces every row of ${table}, and the run ledger shows ` +
        `committed runs of other pipelines into that table (${others.map((o) => `"${o}"`).join(', ')}), whose rows it would delete. ` +
        'Give each pipeline a table of its own, or reload without replacing (a normal run; upsert mode updates rows by key).',
    );
    this.name = 'SharedTableRefreshError';
  }
}

/**
 * Other pipelines with a succeeded run that loaded rows into the destination table, by name. A run
 * records its target in its summary (`summary.target`) at commit; for runs committed before that was
 * recorded, a pipeline counts when `sluice.table_versions` shows it prepared that table.
 */
export async function otherPipelinesWritingTable(
  q: Queryable,
  dest: DestinationSpec,
  pipeline: string,
): Promise<string[]> {
  const { rows } = await q.query<{ pipeline: string }>(
    `SELECT DISTINCT r.pipeline
       FROM sluice.runs r
      WHERE r.status = 'succeeded' AND r.rows_loaded > 0 AND r.pipeline <> $3
        AND (r.summary ->> 'target' = $1 || '.' || $2
             OR (r.summary ->> 'target' IS NULL AND EXISTS (
                   SELECT 1 FROM sluice.table_versions v
                    WHERE v.table_schema = $1 AND v.table_name = $2 AND v.pipeline = r.pipeline)))
      ORDER BY 1`,
    [dest.schema, dest.table, pipeline],
  );
  return rows.map((r) => r.pipeline);
}

/**
 * Refuses a full refresh of a table other pipelines write. Inside the commit, `lock` first takes the
 * table in SHARE ROW EXCLUSIVE mode: a concurrent commit of another pipeline into it has then either
 * committed (and its run is seen) or waits until this transaction ends.
 *
 * @throws SharedTableRefreshError naming the other pipelines.
 */
export async function refuseSharedFullRefresh(
  q: Queryable,
  dest: DestinationSpec,
  pipeline: string,
  options: { lock?: boolean } = {},
): Promise<void> {
  const table = targetTableName(dest);
  if (options.lock) {
    const exists = await q.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [
      quoteQualified(table),
    ]);
    if (exists.rows[0]?.found)
      await q.query(`LOCK TABLE ${quoteQualified(table)} IN SHARE ROW EXCLUSIVE MODE`);
  }
  const others = await otherPipelinesWritingTable(q, dest, pipeline);
  if (others.length > 0) throw new SharedTableRefreshError(pipeline, table, others);
}
