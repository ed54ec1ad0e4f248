// mode: history from change events: every change in order per key, a version per change of a tracked column, starting at the source's commit instant.
import { quoteIdent, quoteQualified } from '../ports/sql.js';
import type { WarehouseTx } from '../ports/warehouse.js';
import type { DestinationSpec } from '../spec/schema.js';
import { CHANGE_COLUMNS, type ChangeCounts, changeIdentity } from './cdc-columns.js';
import { ORD_COLUMN, SEQ_COLUMN } from './merge-sql.js';
import { stagingTableName } from './run-row.js';
import { historyColumns } from './scd2.js';
import { targetTableName } from './target.js';

const [OP, POSITION, AT] = CHANGE_COLUMNS.map(quoteIdent) as [string, string, string, string];
const SEQ = quoteIdent(SEQ_COLUMN);
const ORD = quoteIdent(ORD_COLUMN);

/**
 * The run's changes, reduced to one per key and source transaction (its last), in commit order per
 * key. A change opens a version when the key has no current one (new, or deleted before) or a tracked
 * column differs from the version before it; a delete (unless `deletes: ignore`) closes. A version
 * ends where the key's next version or delete starts; its untracked columns are those of its last
 * change. Changes before the key's first new version update the current version's untracked columns
 * in place. Versions of a key never overlap: each one's `validTo` is the next one's `validFrom`.
 */
export async function applyHistory(
  tx: WarehouseTx,
  dest: DestinationSpec,
  runId: string,
): Promise<ChangeCounts> {
  const h = historyColumns(dest);
  const staging = quoteQualified(stagingTableName(runId));
  const target = quoteQualified(targetTableName(dest));
  const q = quoteIdent;
  const id = changeIdentity(dest).map(q);
  const cols = Object.keys(dest.columns).map(q);
  const tracked = h.tracked.map(q);
  const untracked = h.untracked.map(q);
  const row = (alias: string, names: string[]) =>
    names.length === 0 ? 'ROW()' : `ROW(${names.map((c) => `${alias}.${c}`).join(', ')})`;
  const ignore = dest.deletes !== 'hard' && dest.deletes !== 'soft';
  const current = `t.${q(h.isCurrent)}`;
  const w = `PARTITION BY ${id.map((k) => `c.${k}`).join(', ')} ORDER BY c.${SEQ}, c.${ORD}`;
  // One row per change that counts: `opens` a version or closes (`bound`), and the group it belongs to.
  await tx.query(
    `CREATE TEMP TABLE sluice_cdc_steps ON COMMIT DROP AS
     WITH c AS (
       SELECT DISTINCT ON (${id.join(', ')}, ${POSITION}) * FROM ${staging}${ignore ? ` WHERE ${OP} <> 'd'` : ''}
        ORDER BY ${id.join(', ')}, ${POSITION}, ${SEQ} DESC, ${ORD} DESC),
     l AS (
       SELECT c.*, row_number() OVER (${w}) AS n, lag(c.${OP}) OVER (${w}) AS prev_op,
              lag(${row('c', tracked)}::text) OVER (${w}) AS prev_tracked,
              (SELECT ${row('t', tracked)}::text FROM ${target} t WHERE ${current} AND ${id.map((k) => `t.${k} = c.${k}`).join(' AND ')}) AS cur_tracked
         FROM c),
     o AS (
       SELECT l.*, l.${OP} <> 'd' AND CASE WHEN l.n = 1 THEN l.cur_tracked IS NULL OR l.cur_tracked IS DISTINCT FROM ${row('l', tracked)}::text
                                            ELSE l.prev_op = 'd' OR l.prev_tracked IS DISTINCT FROM ${row('l', tracked)}::text END AS opens
         FROM l)
     SELECT o.*, o.opens OR o.${OP} = 'd' AS bound,
            count(*) FILTER (WHERE o.opens OR o.${OP} = 'd') OVER (PARTITION BY ${id.map((k) => `o.${k}`).join(', ')} ORDER BY o.${SEQ}, o.${ORD}) AS grp
       FROM o`,
  );
  const s = 'sluice_cdc_steps';
  const counts = await tx.query<{ staged: string }>(`SELECT count(*) AS staged FROM ${staging}`);
  // Changes before a key's first bound touch only the current version's untracked columns.
  const inPlace =
    untracked.length === 0
      ? { rowCount: 0 }
      : await tx.query(
          `UPDATE ${target} t SET ${untracked.map((c) => `${c} = g.${c}`).join(', ')}
             FROM (SELECT DISTINCT ON (${id.join(', ')}) * FROM ${s} WHERE grp = 0 ORDER BY ${id.join(', ')}, ${SEQ} DESC, ${ORD} DESC) g
            WHERE ${current} AND ${id.map((k) => `t.${k} = g.${k}`).join(' AND ')}
              AND ${row('t', untracked)} IS DISTINCT FROM ${row('g', untracked)}`,
        );
  const closed = await tx.query<{ deleted: boolean }>(
    `UPDATE ${target} t SET ${q(h.validTo)} = f.${AT}, ${q(h.isCurrent)} = false
       FROM (SELECT DISTINCT ON (${id.join(', ')}) * FROM ${s} WHERE bound ORDER BY ${id.join(', ')}, ${SEQ}, ${ORD}) f
      WHERE ${current} AND ${id.map((k) => `t.${k} = f.${k}`).join(' AND ')}
     RETURNING f.${OP} = 'd' AS deleted`,
  );
  // Each opening change starts a version: tracked columns its own, untracked those of its group's last
  // change, ending where the key's next bound starts.
  const opened = await tx.query(
    `INSERT INTO ${target} (${cols.join(', ')}, ${q(h.validFrom)}, ${q(h.validTo)}, ${q(h.isCurrent)})
     SELECT ${cols.map((c) => (untracked.includes(c) ? `g.${c}` : `b.${c}`)).join(', ')}, b.${AT}, b.next_at, b.next_at IS NULL
       FROM (SELECT x.*, lead(x.${AT}) OVER (PARTITION BY ${id.map((k) => `x.${k}`).join(', ')} ORDER BY x.${SEQ}, x.${ORD}) AS next_at
               FROM ${s} x WHERE x.bound) b
       JOIN LATERAL (SELECT * FROM ${s} y WHERE ${id.map((k) => `y.${k} = b.${k}`).join(' AND ')} AND y.grp = b.grp
                      ORDER BY y.${SEQ} DESC, y.${ORD} DESC LIMIT 1) g ON true
      WHERE b.opens`,
  );
  await tx.query(`DROP TABLE ${s}`);
  const deleted = closed.rows.filter((r) => r.deleted).length;
  const staged = Number(counts.rows[0]!.staged);
  return {
    staged_rows: staged,
    distinct_rows: staged,
    written: opened.rowCount,
    closed: closed.rowCount - deleted,
    deleted,
    updatedInPlace: inPlace.rowCount,
    moved: 0,
    restored: 0,
  };
}
