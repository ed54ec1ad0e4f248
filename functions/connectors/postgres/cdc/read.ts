// Reading one change chunk: the slot peeked (never consumed) up to the chunk's end, the transactions committed in its range, as row records that carry their change.
import type pg from 'pg';
import type { Row, SourceRecord } from '../../../sdk/index.js';
import {
  byteaValue,
  compareLsn,
  PgoutputDecoder,
  type PgoutputMessage,
  type PgoutputRelation,
  type PgoutputTuple,
} from './pgoutput.js';
import type { CdcChunkSource } from './plan.js';
import { withSlot } from './plan.js';
import { checkSlot } from './slot.js';
import { committedInSnapshot, snapshotForKey } from './snapshot.js';

/** Messages fetched from the peek per round trip. */
const FETCH = 5000;

/**
 * The chunk's changes in commit order, a transaction at a time: inserts and updates as their new row,
 * deletes as their key, a key change as a delete of the old key then the new row. On the first change
 * run a change the first load's chunk already read (its transaction committed in that chunk's
 * snapshot) is left out. A TRUNCATE is refused: it deletes rows the stream does not name.
 */
export async function* readChangeBatches(
  client: pg.Client,
  chunk: CdcChunkSource,
  options: { table: string; key: string | undefined; columns: string[] | undefined },
): AsyncGenerator<SourceRecord[]> {
  // Someone else consuming the slot would hide changes from the peek: refuse rather than miss them.
  await checkSlot(client, chunk.slot, chunk.lower);
  await client.query('BEGIN');
  let open = true;
  try {
    await withSlot(() =>
      client.query(
        `DECLARE sluice_changes NO SCROLL CURSOR FOR
           SELECT data FROM pg_logical_slot_peek_binary_changes($1, $2::pg_lsn, NULL,
             'proto_version', '1', 'publication_names', $3)`,
        [chunk.slot, chunk.upper, chunk.publication],
      ),
    );
    const decoder = new PgoutputDecoder();
    let txn: { xid: number; at: string; changes: PgoutputMessage[] } | undefined;
    for (;;) {
      const res = await withSlot(() =>
        client.query<{ data: Buffer | string }>(`FETCH ${FETCH} FROM sluice_changes`),
      );
      for (const { data } of res.rows) {
        const m = decoder.decode(byteaValue(data));
        if (m.kind === 'begin') txn = { xid: m.xid, at: m.commitTime, changes: [] };
        else if (m.kind === 'commit') {
          const inRange =
            compareLsn(m.commitLsn, chunk.lower) >= 0 && compareLsn(m.commitLsn, chunk.upper) < 0;
          if (txn && inRange && txn.changes.length > 0) {
            const records = changeRecords(txn, m.commitLsn, chunk, options);
            if (records.length > 0) yield records;
          }
          txn = undefined;
        } else if (txn && m.kind !== 'relation' && m.kind !== 'other') txn.changes.push(m);
      }
      if (res.rows.length < FETCH) break;
    }
    await client.query('COMMIT');
    open = false;
  } finally {
    if (open) await client.query('ROLLBACK').catch(() => undefined);
  }
}

function changeRecords(
  txn: { xid: number; at: string; changes: PgoutputMessage[] },
  position: string,
  chunk: CdcChunkSource,
  options: { table: string; key: string | undefined; columns: string[] | undefined },
): SourceRecord[] {
  const out: SourceRecord[] = [];
  const emit = (op: 'insert' | 'update' | 'delete', tuple: PgoutputTuple, relation: PgoutputRelation) => {
    const row = pick(tuple.values, options.columns);
    if (chunk.snapshots && options.key !== undefined) {
      const keyColumn = relation.columns.find((c) => c.name === options.key);
      if (!keyColumn || (op === 'delete' && !keyColumn.key))
        throw new Error(
          `a ${op} of ${options.table} at ${position} carries no value of the key "${options.key}": CDC needs source.config.key to be the table's primary key`,
        );
      const snapshot = snapshotForKey(chunk.snapshots, tuple.values[options.key] ?? null);
      if (snapshot && committedInSnapshot(snapshot.snapshot, txn.xid)) return;
    } else if (chunk.snapshots?.[0] && committedInSnapshot(chunk.snapshots[0].snapshot, txn.xid)) return;
    const unchanged = tuple.unchanged.filter((c) => !options.columns || options.columns.includes(c));
    out.push({
      kind: 'row',
      row,
      location: `${options.table} ${op} at ${position}`,
      change: { op, position, at: txn.at, ...(unchanged.length > 0 ? { unchanged } : {}) },
    });
  };
  for (const m of txn.changes) {
    if (m.kind === 'insert') emit('insert', m.row, m.relation);
    else if (m.kind === 'update') {
      // The old key comes only when the key changed (or with REPLICA IDENTITY FULL): when it differs, the
      // row moved and its old key is gone.
      if (m.old && keyOf(m.old, m, options.key) !== keyOf(m.row, m, options.key))
        emit('delete', m.old, m.relation);
      emit('update', m.row, m.relation);
    } else if (m.kind === 'delete') emit('delete', m.old, m.relation);
    else if (m.kind === 'truncate')
      throw new Error(
        `${options.table} was truncated (transaction committed at ${position}): CDC cannot replay a TRUNCATE row by row; reload the table with --full-refresh`,
      );
  }
  return out;
}

/** The replica identity's values of a tuple, as one comparable string. */
function keyOf(
  tuple: PgoutputTuple,
  m: Extract<PgoutputMessage, { kind: 'update' }>,
  key: string | undefined,
): string {
  if (key !== undefined) return JSON.stringify(tuple.values[key] ?? null);
  return JSON.stringify(m.relation.columns.filter((c) => c.key).map((c) => tuple.values[c.name] ?? null));
}

function pick(values: Record<string, string | null>, columns: string[] | undefined): Row {
  if (!columns) return { ...values };
  const row: Row = {};
  for (const c of columns) if (c in values) row[c] = values[c];
  return row;
}
