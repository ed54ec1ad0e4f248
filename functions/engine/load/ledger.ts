// The chunk ledger and the staging table: the plan, loading each chunk exactly once, reconciling a redriven run.
import type { Readable } from 'node:stream';
import { type CopyFormat, quoteIdent, quoteQualified } from '../ports/sql.js';
import type { Warehouse } from '../ports/warehouse.js';
import { getRun } from '../read-side/runs.js';
import type { DestinationSpec } from '../spec/schema.js';
import type { ChunkCounts, ChunkRoute } from '../types.js';
import { RunStateError, StagedChunkMismatchError } from './errors.js';
import type { FaultInjector } from './fault-points.js';
import { ORD_COLUMN, SEQ_COLUMN } from './merge-sql.js';
import { lockRun, stagingTableName } from './run-row.js';

// ---------------------------------------------------------------------------------------------------
// Planning and staging

export interface RunPlan {
  chunkCount: number;
  /** Source units (files) skipped because an earlier run loaded them. */
  skippedSources: number;
  /**
   * What the run record's summary starts with (commit adds its counts): the source's columns and what
   * schemaEvolution did with those that reach no destination column.
   */
  summary?: Record<string, unknown>;
}

/** Records the plan of a running run. */
export async function recordPlan(wh: Warehouse, runId: string, plan: RunPlan): Promise<void> {
  const res = await wh.query(
    `UPDATE sluice.runs SET chunk_count = $2, skipped_sources = $3, planned_at = now(), summary = $4::jsonb
      WHERE run_id = $1 AND status = 'running'`,
    [runId, plan.chunkCount, plan.skippedSources, plan.summary ? JSON.stringify(plan.summary) : null],
  );
  if (res.rowCount !== 1)
    throw new RunStateError(runId, (await getRun(wh, runId))?.status, 'record the plan');
}

/**
 * Creates (if missing) the run's staging table and returns its name, `sluice_staging.run_<hex>`.
 * Columns: the destination's, same types, all nullable, then `_sluice_seq int` (chunk seq) and
 * `_sluice_ord bigint` (row ordinal in the chunk). UNLOGGED: on redrive, {@link reconcileStagingWithLedger}
 * finds the chunks a database crash emptied out of it, and they are made again from their source.
 */
export async function createStagingTable(
  wh: Warehouse,
  runId: string,
  dest: DestinationSpec,
): Promise<string> {
  const name = stagingTableName(runId);
  const columns = Object.entries(dest.columns).map(([col, spec]) => `${quoteIdent(col)} ${spec.type}`);
  columns.push(`${quoteIdent(SEQ_COLUMN)} integer NOT NULL`, `${quoteIdent(ORD_COLUMN)} bigint NOT NULL`);
  await wh.transaction(async (tx) => {
    const run = await lockRun(tx, runId, 'share');
    if (run?.status !== 'running') throw new RunStateError(runId, run?.status, 'create the staging table');
    await tx.query(
      `CREATE UNLOGGED TABLE IF NOT EXISTS ${quoteQualified(name)} (\n  ${columns.join(',\n  ')}\n)`,
    );
  });
  return name;
}

/**
 * Makes a resumed run's ledger tell the truth about its staging table before chunks load again: a
 * chunk whose rows are not all in staging (the table is UNLOGGED, so a database crash empties it; or it
 * was dropped) loses its ledger row and its staged rows, so it loads again, exactly once.
 *
 * @returns the chunk ids that will load again.
 */
export async function reconcileStagingWithLedger(wh: Warehouse, runId: string): Promise<string[]> {
  const staging = stagingTableName(runId);
  return wh.transaction(async (tx) => {
    const run = await lockRun(tx, runId, 'update');
    if (run?.status !== 'running') throw new RunStateError(runId, run?.status, 'reconcile its staging table');
    const exists = await tx.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [
      quoteQualified(staging),
    ]);
    const { rows } = exists.rows[0]?.found
      ? await tx.query<{ chunk_id: string; seq: number }>(
          `SELECT c.chunk_id, c.seq FROM sluice.run_chunks c
             LEFT JOIN (SELECT ${quoteIdent(SEQ_COLUMN)} AS seq, count(*) AS n FROM ${quoteQualified(staging)}
                         GROUP BY 1) s ON s.seq = c.seq
            WHERE c.run_id = $1 AND coalesce(s.n, 0) <> c.rows_staged`,
          [runId],
        )
      : await tx.query<{ chunk_id: string; seq: number }>(
          'SELECT chunk_id, seq FROM sluice.run_chunks WHERE run_id = $1',
          [runId],
        );
    if (rows.length === 0) return [];
    if (exists.rows[0]?.found) {
      await tx.query(
        `DELETE FROM ${quoteQualified(staging)} WHERE ${quoteIdent(SEQ_COLUMN)} = ANY($1::int[])`,
        [rows.map((r) => r.seq)],
      );
    }
    await tx.query('DELETE FROM sluice.run_chunks WHERE run_id = $1 AND chunk_id = ANY($2::text[])', [
      runId,
      rows.map((r) => r.chunk_id),
    ]);
    return rows.map((r) => r.chunk_id);
  });
}

// ---------------------------------------------------------------------------------------------------
// Loading chunks

/** The ledger's record of a loaded chunk, or undefined when it is not loaded: a cheap pre-check. */
export async function chunkLedgerEntry(
  wh: Warehouse,
  runId: string,
  chunkId: string,
): Promise<ChunkCounts | undefined> {
  const { rows } = await wh.query<LedgerCountsRow>(
    `SELECT rows_read, rows_staged, rows_rejected, rows_filtered FROM sluice.run_chunks
      WHERE run_id = $1 AND chunk_id = $2`,
    [runId, chunkId],
  );
  return rows[0] ? toChunkCounts(rows[0]) : undefined;
}

export interface LoadChunkInput {
  runId: string;
  chunk: { id: string; seq: number; route: ChunkRoute; bytes: number };
  /** Destination columns in the staged CSV's order, then `_sluice_seq`, `_sluice_ord`. */
  columns: string[];
  /**
   * Starts making the chunk's rows, called only once the chunk is claimed (a loaded chunk is never made
   * again): `rows` (PostgreSQL CSV without a header) streams into COPY as the rows are made, and `done`
   * settles after `rows` ends, with the chunk's final counts, once whatever else the chunk writes (its
   * rejects) is written. Either failing rolls the load back.
   */
  produce: () => { rows: Readable; done: Promise<ChunkCounts> };
  /** The body `rows` holds: PostgreSQL CSV (the default) or binary COPY. */
  format?: CopyFormat;
  /**
   * Delete propagation (deletes.ts): the chunk's source keys, CSV lines `key,seq`, copied into `table`
   * after the rows, in the same transaction, so a chunk's keys are staged exactly once with it.
   */
  keys?: { table: string; columns: string[]; lines: () => Readable };
  /** Crash tests' fault points inside the transaction (EngineDeps.faults); absent in production. */
  faults?: FaultInjector;
}

export interface LoadChunkResult {
  status: 'loaded' | 'already-loaded';
  /** The ledger's counts (on already-loaded: those of the load that won). */
  counts: ChunkCounts;
}

/**
 * Loads one chunk's rows into the run's staging table exactly once: the ledger row and the rows commit
 * in one transaction, the ledger row first (claimed with zero counts, given the final ones after the
 * COPY). A concurrent duplicate waits on the ledger's primary key until the first commits, then finds it
 * and copies nothing.
 *
 * @throws StagedChunkMismatchError when the COPY's row count differs from counts.staged.
 * @throws RunStateError when the run is not running.
 */
export async function loadChunkExactlyOnce(wh: Warehouse, input: LoadChunkInput): Promise<LoadChunkResult> {
  const { runId, chunk } = input;
  const staging = stagingTableName(runId);
  const tail = input.columns.slice(-2);
  if (tail[0] !== SEQ_COLUMN || tail[1] !== ORD_COLUMN || input.columns.length < 3) {
    throw new Error(`columns must list the destination columns, then ${SEQ_COLUMN} and ${ORD_COLUMN}`);
  }
  return wh.transaction(async (tx) => {
    // FOR SHARE: many chunks load at once, but commit and fail (FOR UPDATE) wait for them.
    const run = await lockRun(tx, runId, 'share');
    if (run?.status !== 'running') throw new RunStateError(runId, run?.status, `load chunk ${chunk.id}`);
    const claimed = await tx.query(
      `INSERT INTO sluice.run_chunks
         (run_id, chunk_id, seq, route, rows_read, rows_staged, rows_rejected, rows_filtered, bytes, started_at)
       VALUES ($1, $2, $3, $4, 0, 0, 0, 0, $5, clock_timestamp())
       ON CONFLICT (run_id, chunk_id) DO NOTHING
       RETURNING chunk_id`,
      [runId, chunk.id, chunk.seq, chunk.route, chunk.bytes],
    );
    if (claimed.rowCount === 0) {
      const { rows } = await tx.query<LedgerCountsRow>(
        `SELECT rows_read, rows_staged, rows_rejected, rows_filtered FROM sluice.run_chunks
          WHERE run_id = $1 AND chunk_id = $2`,
        [runId, chunk.id],
      );
      return { status: 'already-loaded' as const, counts: toChunkCounts(rows[0]!) };
    }
    const { rows, done } = input.produce();
    // `done` may fail while the COPY still runs: settle it now, so that is never an unhandled rejection.
    const made = done.then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    let copied: number;
    try {
      copied = await tx.copyCsv(staging, input.columns, rows, input.format);
    } catch (err) {
      rows.destroy();
      await made;
      throw err;
    }
    const outcome = await made;
    if (!outcome.ok) throw outcome.error;
    const counts = outcome.value;
    checkCountsAddUp(chunk.id, counts);
    if (copied !== counts.staged) throw new StagedChunkMismatchError(runId, chunk.id, copied, counts.staged);
    if (input.keys) await tx.copyCsv(input.keys.table, input.keys.columns, input.keys.lines());
    await tx.query(
      `UPDATE sluice.run_chunks
          SET rows_read = $3, rows_staged = $4, rows_rejected = $5, rows_filtered = $6,
              finished_at = clock_timestamp()
        WHERE run_id = $1 AND chunk_id = $2`,
      [runId, chunk.id, counts.read, counts.staged, counts.rejected, counts.filtered],
    );
    await input.faults?.hit('after-copy-before-commit', { runId, chunkId: chunk.id });
    return { status: 'loaded' as const, counts: { ...counts } };
  });
}

function checkCountsAddUp(chunkId: string, counts: ChunkCounts): void {
  if (counts.read !== counts.staged + counts.rejected + counts.filtered) {
    throw new Error(
      `chunk ${chunkId}: counts do not add up (read ${counts.read} ≠ staged ${counts.staged} + rejected ${counts.rejected} + filtered ${counts.filtered})`,
    );
  }
}

interface LedgerCountsRow {
  rows_read: number;
  rows_staged: number;
  rows_rejected: number;
  rows_filtered: number;
}

function toChunkCounts(r: LedgerCountsRow): ChunkCounts {
  return {
    read: Number(r.rows_read),
    staged: Number(r.rows_staged),
    rejected: Number(r.rows_rejected),
    filtered: Number(r.rows_filtered),
  };
}

export interface LedgerTotals extends ChunkCounts {
  chunks: number;
}

export async function ledgerTotals(db: Pick<Warehouse, 'query'>, runId: string): Promise<LedgerTotals> {
  const { rows } = await db.query<{
    chunks: number;
    read: number;
    staged: number;
    rejected: number;
    filtered: number;
  }>(
    `SELECT count(*) AS chunks, coalesce(sum(rows_read), 0) AS read, coalesce(sum(rows_staged), 0) AS staged,
            coalesce(sum(rows_rejected), 0) AS rejected, coalesce(sum(rows_filtered), 0) AS filtered
       FROM sluice.run_chunks WHERE run_id = $1`,
    [runId],
  );
  const r = rows[0]!;
  return {
    chunks: Number(r.chunks),
    read: Number(r.read),
    staged: Number(r.staged),
    rejected: Number(r.rejected),
    filtered: Number(r.filtered),
  };
}
