import { Readable } from 'node:stream';
import * as z from 'zod';
import { deletesMode, KEY_COLUMN, keysTableName } from '../load/deletes.js';
import { chunkLedgerEntry, loadChunkExactlyOnce } from '../load/index.js';
import { compileTransforms, createDeduper, secretsNeededBy } from '../transforms/index.js';
import type { ChunkCounts, ChunkDescriptor, RejectRecord, Row } from '../types.js';
import { BinaryCopyBuffer, canCopyBinary, utf8Write } from '../validate/copy-binary.js';
import { compileRowValidator, encodeCopyCsvFields } from '../validate/index.js';
import { compileChangeStaging } from './change-staging.js';
import { parseConnectorConfig } from './connector-config.js';
import { credentialResolver } from './credentials.js';
import type { EngineDeps } from './deps.js';
import { stagingLayout } from './layout.js';
import { recordBatches } from './record-batches.js';
import { rejectRedactor } from './reject-redaction.js';
import { retryStep } from './retry.js';
import { type RunSpec, readRunSpec } from './run-spec.js';

const chunkDescriptorSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'must be a safe chunk id'),
  seq: z.number().int().min(0),
  bytes: z.number().min(0),
  route: z.enum(['lambda', 'fargate']),
  source: z.record(z.string(), z.unknown()),
});

/** The Map's batch (ItemBatcher shape): the chunks of one run. */
export const chunkBatchSchema = z.object({
  Items: z.array(chunkDescriptorSchema).min(1),
  BatchInput: z.object({ runId: z.string().uuid() }),
});

export interface ChunkResult {
  id: string;
  status: 'loaded' | 'already-loaded';
  counts: ChunkCounts;
}

/** Processes a batch of chunks one after the other; a chunk already in the ledger is a no-op. */
export async function processChunkBatch(
  rawInput: unknown,
  deps: EngineDeps,
): Promise<{ chunks: ChunkResult[] }> {
  const input = chunkBatchSchema.parse(rawInput);
  const runId = input.BatchInput.runId;
  const runSpec = await readRunSpec(deps.staging, runId);
  const results: ChunkResult[] = [];
  for (const chunk of input.Items) {
    results.push(await processChunk(runId, chunk, runSpec, deps));
  }
  return { chunks: results };
}

/**
 * extract → parse → transform → validate → stage (COPY-ready CSV + rejects) → load exactly once.
 * `read = staged + rejected + filtered` holds for every chunk; the rejects file says why for each row.
 * A transient error (a dropped connection, a deadlock…) replays the whole chunk from its source: its load
 * transaction rolled back, or it committed and the ledger makes the replay a no-op.
 */
export function processChunk(
  runId: string,
  chunk: ChunkDescriptor,
  runSpec: RunSpec,
  deps: EngineDeps,
): Promise<ChunkResult> {
  return retryStep(deps, `load chunk ${chunk.id} of run ${runId}`, () =>
    processChunkOnce(runId, chunk, runSpec, deps),
  );
}

async function processChunkOnce(
  runId: string,
  chunk: ChunkDescriptor,
  runSpec: RunSpec,
  deps: EngineDeps,
): Promise<ChunkResult> {
  const done = await chunkLedgerEntry(deps.warehouse, runId, chunk.id);
  if (done) {
    deps.onChunkDone?.({
      runId,
      chunkId: chunk.id,
      status: 'already-loaded',
      counts: done,
      bytes: chunk.bytes,
    });
    return { id: chunk.id, status: 'already-loaded', counts: done };
  }
  const { spec, baseDir } = runSpec;
  const connector = deps.connectors.getSource(spec.source.connector);
  const config = parseConnectorConfig(connector.configSchema, spec);

  const hashKeys: Record<string, Buffer> = {};
  for (const name of secretsNeededBy(spec.transforms))
    hashKeys[name] = Buffer.from(await deps.secrets.get(name), 'utf8');
  const transform = compileTransforms(spec.transforms, { hashKeys });
  // A change run stages every change in order (cdc-apply.ts applies them per key): no dedupe.
  const changes = runSpec.changes ? compileChangeStaging(spec.destination) : undefined;
  const deduper = changes ? undefined : createDeduper(spec.transforms, spec.destination.key);
  const columns = [...Object.keys(spec.destination.columns), ...(changes?.columns ?? [])];
  const validate = compileRowValidator(spec.destination.columns);
  let chunkState: Record<string, unknown> | undefined;

  // The source is read inside the chunk's load transaction, so nothing the read needs may wait for the
  // warehouse (with PGlite, or a pool of busy connections, it never would come): its credentials, whose
  // every read is audited in the warehouse, are read now and served from the resolver's cache.
  const credential = credentialResolver(spec, deps.secrets);
  await Promise.all(Object.keys(spec.source.credentials ?? {}).map((name) => credential(name)));

  const counts = { read: 0, staged: 0, rejected: 0, filtered: 0 };
  const rejects: string[] = [];
  const reasons = new Map<string, number>();
  // Hashed columns stay hashed in the rejects file and in the reasons (see reject-redaction.ts).
  const redact = rejectRedactor(spec.transforms, hashKeys);
  const reject = (record: Omit<RejectRecord, 'chunk'>) => {
    const r = redact ? redact(record) : record;
    counts.rejected++;
    rejects.push(JSON.stringify({ chunk: chunk.id, ...r }));
    const reason = reasonTemplate(r.column, r.reason);
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  };
  const suffix = `,${chunk.seq},`;
  let ordinal = 0;

  // The staged rows stream out (into COPY, see `produce` below) as they are made, about a megabyte at a
  // time: COPY pulls (backpressure), so a chunk's rows are never all in memory.
  // Each row's line is written into a Buffer at once, so it dies young instead of surviving in a string
  // until the batch is flushed (that promotion was most of the chunk's GC time). Counts are final when
  // the rows are done.
  // Binary COPY when every column type has a binary form: the server then skips the types' input
  // functions (about half its CPU for the staging COPY, bench/copy-format.ts).
  const destination = Object.entries(spec.destination.columns).map(([name, c]) => ({ name, type: c.type }));
  // A change run (CDC) stages its op, position, instant and unchanged columns after the row: CSV.
  const format =
    deps.copyFormat !== 'csv' && !changes && canCopyBinary(destination.map((c) => c.type)) ? 'binary' : 'csv';
  const binary = format === 'binary' ? new BinaryCopyBuffer(destination) : undefined;
  const out = new StagedBuffer();
  async function* stagedLines(): AsyncGenerator<Buffer> {
    for await (const records of recordBatches(connector, chunk, {
      config,
      openStorage: (loc) => deps.openStorage(loc, baseDir),
      credential,
      pipeline: spec.name,
      reportChunkState: (state) => {
        chunkState = state;
      },
    })) {
      for (const record of records) {
        counts.read++;
        if (record.kind === 'unparseable') {
          reject({ location: record.location, reason: record.reason, row: record.raw });
          continue;
        }
        const outcome = transform(record.row);
        if (outcome.kind === 'filtered') {
          counts.filtered++;
          continue;
        }
        if (outcome.kind === 'rejected') {
          reject({
            location: record.location,
            ...(outcome.column ? { column: outcome.column } : {}),
            reason: outcome.reason,
            row: record.row,
          });
          continue;
        }
        const change = changes && record.change;
        if (changes && !change) throw new Error(`${record.location}: a change run's row carries no change`);
        const valid = change ? changes.validate(outcome.row, change) : validate(outcome.row);
        if (!valid.ok) {
          reject({ location: record.location, column: valid.column, reason: valid.reason, row: record.row });
          continue;
        }
        ordinal++;
        if (deduper) {
          deduper.add({ ...outcome.row, __sluice_values: valid.values } as Row, ordinal);
        } else if (binary) {
          counts.staged++;
          if (binary.addRow(valid.values, chunk.seq, ordinal)) yield binary.take();
        } else {
          const values = change ? [...valid.values, ...changes.fields(change)] : valid.values;
          const full = out.add(`${encodeCopyCsvFields(values)}${suffix}${ordinal}\n`);
          counts.staged++;
          if (full) yield out.take();
        }
      }
    }
    if (deduper) {
      const kept = deduper.finish();
      counts.filtered += kept.dropped;
      for (const { row, ordinal: ord } of kept.rows) {
        if (binary) {
          counts.staged++;
          if (binary.addRow(row.__sluice_values as (string | null)[], chunk.seq, ord)) yield binary.take();
          continue;
        }
        const full = out.add(
          `${encodeCopyCsvFields(row.__sluice_values as (string | null)[])}${suffix}${ord}\n`,
        );
        counts.staged++;
        if (full) yield out.take();
      }
    }
    if (binary) {
      binary.finish();
      yield binary.take();
    } else if (out.length > 0) yield out.take();
  }
  // Deletes: the chunk also lists its key range's keys, staged in the same transaction as its rows
  // (a CDC source's deletes are events: no key snapshot).
  const byKeySnapshot = deletesMode(spec.destination) !== undefined && !connector.capturesChanges?.(config);
  const readKeys = byKeySnapshot ? connector.readKeys?.bind(connector) : undefined;
  if (byKeySnapshot && !readKeys)
    throw new Error(
      `destination.deletes: ${spec.destination.deletes} needs a source that lists its keys (postgres, mysql), not ${spec.source.connector}`,
    );
  async function* keyLines(): AsyncGenerator<Buffer> {
    const ctx = { config, openStorage: (loc: string) => deps.openStorage(loc, baseDir), credential };
    for await (const batch of readKeys!(chunk, ctx)) {
      let text = '';
      for (const key of batch) text += `${encodeCopyCsvFields([key])},${chunk.seq}\n`;
      yield Buffer.from(text, 'utf8');
    }
  }
  await deps.faults?.hit('before-chunk-load', { runId, chunkId: chunk.id });
  const result = await loadChunkExactlyOnce(deps.warehouse, {
    runId,
    chunk: { id: chunk.id, seq: chunk.seq, route: chunk.route, bytes: chunk.bytes },
    columns: [...columns, '_sluice_seq', '_sluice_ord'],
    format,
    ...(deps.faults ? { faults: deps.faults } : {}),
    ...(readKeys
      ? {
          keys: {
            table: keysTableName(runId),
            columns: [KEY_COLUMN, '_sluice_seq'],
            lines: () => Readable.from(keyLines(), { objectMode: false }),
          },
        }
      : {}),
    // Started once the chunk is claimed: the rows stream into COPY as they are made (the database
    // inserts while the next rows parse); COPY pulls, so memory stays flat. The rows are not written to
    // a staged file as well: nothing read it (a redriven chunk whose rows are not in staging is made
    // again from its source, see reconcileStagingWithLedger). The rejects are written once the rows
    // are done, all before the load commits.
    produce: () => {
      const { rows, made } = untilMade(stagedLines());
      const done = (async () => {
        // The counts are final only once every row is made.
        await made;
        if (chunkState)
          await deps.staging.write(stagingLayout.chunkState(runId, chunk.id), JSON.stringify(chunkState));
        await deps.staging.write(
          stagingLayout.rejects(runId, chunk.id),
          rejects.length ? `${rejects.join('\n')}\n` : '',
        );
        await deps.staging.write(
          stagingLayout.rejectReasons(runId, chunk.id),
          JSON.stringify(Object.fromEntries(reasons)),
        );
        return counts;
      })();
      return { rows, done };
    },
  });
  await deps.faults?.hit('after-chunk-commit', { runId, chunkId: chunk.id });
  deps.logger.info('chunk processed', { runId, chunk: chunk.id, status: result.status, ...result.counts });
  deps.onChunkDone?.({
    runId,
    chunkId: chunk.id,
    status: result.status,
    counts: result.counts,
    bytes: chunk.bytes,
  });
  return { id: chunk.id, status: result.status, counts: result.counts };
}

/**
 * The buffers of `lines` as one stream (`rows`), and `made`, which settles when they are all made: it
 * resolves once `lines` ends, and rejects when `lines` fails or `rows` stops before the end (destroyed
 * by a failed COPY), so nothing waiting on it waits forever.
 */
export function untilMade(lines: AsyncIterable<Buffer>): { rows: Readable; made: Promise<void> } {
  let settle!: (error?: Error) => void;
  const made = new Promise<void>((resolve, reject) => {
    settle = (error) => (error ? reject(error) : resolve());
  });
  async function* all(): AsyncGenerator<Buffer> {
    let outcome: Error | undefined = new Error('the rows stopped before they were all made');
    try {
      yield* lines;
      outcome = undefined;
    } catch (error) {
      outcome = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      settle(outcome);
    }
  }
  return { rows: Readable.from(all(), { objectMode: false }), made };
}

/** Staged rows are handed to COPY in buffers of about this many bytes. */
const STAGED_BUFFER_BYTES = 1 << 20;

/**
 * Staged lines, UTF-8 encoded into a buffer as they come. `add` says when the buffer is (nearly) full;
 * `take` hands its bytes over and starts a fresh buffer (the consumer may still hold the old one).
 */
export class StagedBuffer {
  private buffer = Buffer.allocUnsafe(STAGED_BUFFER_BYTES);
  private used = 0;
  /** A line that did not fit after the buffer's bytes; `add` said take, so there is at most one. */
  private overflow: Buffer | undefined;

  get length(): number {
    return this.used + (this.overflow?.length ?? 0);
  }

  /** Appends one line; true when the buffer must be taken before the next line is added. */
  add(line: string): boolean {
    // A UTF-16 code unit is at most 3 UTF-8 bytes; a line that may not fit goes to the overflow.
    if (this.used + line.length * 3 > this.buffer.length) {
      const bytes = Buffer.from(line, 'utf8');
      if (this.used + bytes.length <= this.buffer.length) {
        bytes.copy(this.buffer, this.used);
        this.used += bytes.length;
      } else this.overflow = bytes;
      return true;
    }
    this.used += utf8Write(this.buffer, line, this.used);
    return this.used >= STAGED_BUFFER_BYTES - 4096;
  }

  take(): Buffer {
    const head = this.buffer.subarray(0, this.used);
    const taken = this.overflow ? Buffer.concat([head, this.overflow]) : head;
    this.buffer = Buffer.allocUnsafe(STAGED_BUFFER_BYTES);
    this.used = 0;
    this.overflow = undefined;
    return taken;
  }
}

/** Groups reasons that differ only by the offending value, for the "top reasons" in the summary. */
export function reasonTemplate(column: string | undefined, reason: string): string {
  const generic = reason.replace(/"(?:[^"\\]|\\.)*"/g, (quoted) =>
    column && quoted === `"${column}"` ? quoted : '"…"',
  );
  return column ? `${column}: ${generic}` : generic;
}
