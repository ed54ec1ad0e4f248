// Planning a CDC run: the first load (slot first, then key-range chunks that record their snapshot), or the changes since the stored LSN as chunks cut at transaction boundaries.
import type pg from 'pg';
import type { CursorState, PlannedChunk, SourcePlan } from '../../../sdk/source.js';
import type { CdcConfig } from './config.js';
import { measureSlotLag } from './lag.js';
import { byteaValue, compareLsn, PgoutputDecoder } from './pgoutput.js';
import { checkCdcReadiness } from './preflight.js';
import { advanceSlot, checkSlot, ensureSlot } from './slot.js';
import type { ChunkSnapshot } from './snapshot.js';

/** What a CDC pipeline's cursor holds: the slot, the LSN loaded up to, and the first load's snapshots. */
export interface CdcCursor {
  slot: string;
  publication: string;
  /** Every transaction that committed at or after this LSN is still to be applied. */
  lsn: string;
  /** When the slot's position was taken (the first load's history versions start then). */
  from?: string;
  /** The first load's chunks and their snapshots, until the first change run consumed them. */
  snapshots?: ChunkSnapshot[];
}

/** A change chunk: transactions whose commit LSN is in [lower, upper). */
export interface CdcChunkSource {
  slot: string;
  publication: string;
  lower: string;
  upper: string;
  /** The first change run only: what the first load's chunks already read. */
  snapshots?: ChunkSnapshot[];
}

/**
 * The stored CDC cursor, or undefined (first run, full refresh, or a cursor of before CDC). After a
 * first load its chunks' snapshots come back as the engine stored them (`chunkStates`).
 */
export function storedCdcCursor(cursor: CursorState | undefined): CdcCursor | undefined {
  const cdc = cursor?.cdc as CdcCursor | undefined;
  if (!cdc || typeof cdc.lsn !== 'string') return undefined;
  const states = cursor?.chunkStates as
    | { source: ChunkSnapshot; state: { snapshot?: unknown } }[]
    | undefined;
  if (!states?.length) return cdc;
  const snapshots = states.map(({ source, state }) => {
    if (typeof state.snapshot !== 'string') throw new Error('a first load chunk stored no snapshot');
    return {
      ...(source.lo !== undefined ? { lo: source.lo } : {}),
      ...(source.hi !== undefined ? { hi: source.hi } : {}),
      ...(source.nulls ? { nulls: true } : {}),
      snapshot: state.snapshot,
    };
  });
  return { ...cdc, snapshots };
}

/**
 * The first run: readiness checked (nothing created when it fails), the key ranges planned by
 * `planRows` as for any run (each chunk marked to record the snapshot it reads in), then the
 * publication and the slot, whose consistent point is where the changes start: before any chunk
 * reads a row. The snapshots reach the cursor through the chunks' states (stored with the commit).
 */
export async function planFirstLoad(
  client: pg.Client,
  options: { table: string; target: string; slot: string; publication: string; dryRun: boolean },
  planRows: () => Promise<SourcePlan>,
): Promise<SourcePlan> {
  await checkCdcReadiness(client, options.table, options.target, { publication: options.publication });
  // Planning only reads key statistics; the chunks read the rows after the slot exists.
  const rows = await planRows();
  refuseNonIntegerRanges(rows.chunks);
  // `sluice plan`: what the first load would read, with nothing created.
  if (options.dryRun) return rows;
  const from = (await client.query<{ t: string }>('SELECT statement_timestamp()::text AS t')).rows[0]!.t;
  const { lsn } = await ensureSlot(client, options);
  const { lagBytes } = await measureSlotLag(client, options.slot);
  const cursor: CdcCursor = { slot: options.slot, publication: options.publication, lsn, from };
  return {
    ...rows,
    chunks: rows.chunks.map((c) => ({ ...c, source: { ...c.source, snapshot: true } })),
    cursor: { cdc: cursor },
    chunkStates: true,
    versionsFrom: from,
    lagBytes,
  };
}

/**
 * The next run tells which first-load chunk read a changed key by comparing integers (snapshot.ts):
 * ranges on another type are refused before anything is created, not after the load.
 */
function refuseNonIntegerRanges(chunks: PlannedChunk[]): void {
  for (const { source } of chunks)
    for (const bound of [source.lo, source.hi])
      if (bound !== undefined && !/^-?\d+$/.test(String(bound)))
        throw new Error(
          `CDC's first load splits the table on source.config.key, which must then be an integer (found the boundary ${JSON.stringify(bound)}): use an integer key, or chunks: 1`,
        );
}

/**
 * A change run: the slot must still hold everything after the stored LSN (SlotLostError otherwise;
 * never reset), is advanced to it when the last run committed but died before acknowledging, and the
 * transactions committed in [stored, flushed WAL) are cut into chunks of about `maxChangesPerChunk`
 * changes or `maxBytesPerChunk` bytes, never inside a transaction.
 */
export async function planChanges(
  client: pg.Client,
  stored: CdcCursor,
  names: { slot: string; publication: string },
  cdc: CdcConfig,
  options: { dryRun: boolean } = { dryRun: false },
): Promise<SourcePlan> {
  if (stored.slot !== names.slot)
    throw new Error(
      `the last run loaded changes of replication slot "${stored.slot}", the spec names "${names.slot}": run with --full-refresh to start over from the new slot`,
    );
  const { confirmed } = await checkSlot(client, names.slot, stored.lsn);
  if (compareLsn(confirmed, stored.lsn) < 0 && !options.dryRun)
    await advanceSlot(client, names.slot, stored.lsn);
  const upper = (await client.query<{ lsn: string }>('SELECT pg_current_wal_flush_lsn()::text AS lsn'))
    .rows[0]!.lsn;
  const { lagBytes } = await measureSlotLag(client, names.slot);
  const txns = await withSlot(() =>
    client.query<{ tag: number; bytes: number; data: Buffer | string | null }>(
      `SELECT get_byte(data, 0) AS tag, length(data) AS bytes, CASE WHEN get_byte(data, 0) = 67 THEN data END AS data
         FROM pg_logical_slot_peek_binary_changes($1, $2::pg_lsn, NULL, 'proto_version', '1', 'publication_names', $3)`,
      [names.slot, upper, names.publication],
    ),
  );
  const decoder = new PgoutputDecoder();
  const chunks: PlannedChunk[] = [];
  let lower = stored.lsn;
  let changes = 0;
  let bytes = 0;
  const cut = (end: string) => {
    const source: CdcChunkSource = {
      slot: names.slot,
      publication: names.publication,
      lower,
      upper: end,
      // Every chunk of the first change run: a change the first load read may sit in any of them.
      ...(stored.snapshots ? { snapshots: stored.snapshots } : {}),
    };
    chunks.push({ bytes, source: { cdc: source } as Record<string, unknown> });
    lower = end;
    changes = 0;
    bytes = 0;
  };
  let inTxn = 0;
  let txnBytes = 0;
  for (const row of txns.rows) {
    const tag = String.fromCharCode(Number(row.tag));
    if (tag === 'B') {
      inTxn = 0;
      txnBytes = 0;
    } else if (tag === 'C') {
      const commit = decoder.decode(byteaValue(row.data!));
      if (commit.kind !== 'commit') continue;
      // Only what commits in [stored, upper) is this run's; a transaction with no change of the table adds nothing.
      if (compareLsn(commit.commitLsn, stored.lsn) < 0 || compareLsn(commit.commitLsn, upper) >= 0) continue;
      changes += inTxn;
      bytes += txnBytes;
      if (changes >= cdc.maxChangesPerChunk || bytes >= cdc.maxBytesPerChunk) cut(commit.endLsn);
    } else if (tag === 'I' || tag === 'U' || tag === 'D' || tag === 'T') {
      inTxn++;
      txnBytes += Number(row.bytes);
    }
  }
  if (changes > 0) cut(upper);
  else if (chunks.length > 0) chunks[chunks.length - 1]!.source = extendTo(chunks[chunks.length - 1]!, upper);
  const cursor: CdcCursor = {
    slot: names.slot,
    publication: names.publication,
    lsn: upper,
    // Kept until a change run read with them.
    ...(chunks.length === 0 && stored.snapshots ? { snapshots: stored.snapshots } : {}),
  };
  return {
    chunks,
    units: [],
    skipped: 0,
    changes: true,
    cursor: { cdc: cursor },
    lagBytes,
  };
}

function extendTo(chunk: PlannedChunk, upper: string): Record<string, unknown> {
  const source = chunk.source.cdc as CdcChunkSource;
  return { cdc: { ...source, upper } };
}

/**
 * Runs `fn`, which reads the slot, waiting while another session holds the slot (a peek takes it
 * exclusively: the chunks of one run read it one after the other). Gives up after about a minute.
 */
export async function withSlot<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if ((err as { code?: string }).code !== '55006' || attempt >= 120) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
