import { FolderStorage } from '../adapters/storage/folder.js';
import type { Storage } from '../engine/ports/storage.js';
import type { ChunkDescriptor, Row } from '../engine/types.js';
import type { CredentialResolver, CursorState, PlanContext, SourceConnector, SourcePlan } from './source.js';

/**
 * The contract every source connector keeps, checked against a live source. Call it from the
 * connector's own vitest file and expect no findings:
 *
 * @example
 * const findings = await checkSourceContract({ connector, config: { rows: 1000 }, identity: (r) => String(r.id) });
 * expect(findings).toEqual([]);
 *
 * What it checks:
 * - the config parses with the connector's schema;
 * - the same source state plans the same chunks (plans are deterministic), JSON and small;
 * - chunks never overlap and leave no gaps: a fine plan (many small chunks) reads exactly the rows a
 *   coarse plan (few big chunks) reads, no row twice (and `expectedRows`, when given);
 * - a chunk read twice yields the same rows in the same order;
 * - a read stopped after its first row can restart and yields the whole chunk again;
 * - `readBatches`, when the connector has it, yields exactly what `read` yields;
 * - an incremental source: planning again from the cursor the plan returned reads nothing new;
 * - the source reports its columns (`discover`, or `columns` from `plan`), and every row it reads has
 *   only columns it reported: a run resolves the spec against them before anything loads.
 */
export interface SourceContractOptions<C> {
  connector: SourceConnector<C>;
  /** The user's config (before defaults); parsed with the connector's schema. */
  config: unknown;
  /** Identifies a row (its key); duplicates across chunks are overlaps. @default JSON of the row */
  identity?: (row: Row) => string;
  /** How many rows the source holds, when the test knows (catches gaps a coarse plan shares). */
  expectedRows?: number;
  /** Credentials by logical name. @default none */
  credentials?: Record<string, string>;
  /** Folder relative locations resolve against. @default process.cwd() */
  baseDir?: string;
  /** targetBytes and parallelism of the fine plan. @default 1 byte, 8 */
  fine?: { targetBytes: number; parallelism: number };
  /** targetBytes and parallelism of the coarse plan. @default 1 TiB, 1 */
  coarse?: { targetBytes: number; parallelism: number };
}

/** One broken promise, in words a connector author can act on. */
export interface ContractFinding {
  check: string;
  message: string;
}

const MAX_CHUNK_SOURCE_BYTES = 4096;

/** Runs the contract; resolves to the findings (empty when the connector keeps it). */
export async function checkSourceContract<C>(options: SourceContractOptions<C>): Promise<ContractFinding[]> {
  const findings: ContractFinding[] = [];
  const found = (check: string, message: string) => findings.push({ check, message });
  const { connector } = options;
  const identity = options.identity ?? ((row: Row) => JSON.stringify(row));

  const parsed = connector.configSchema.safeParse(options.config);
  if (!parsed.success) {
    found('config', `the config does not parse: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    return findings;
  }
  const config = parsed.data;
  const credential = credentialResolver(options.credentials ?? {});
  const baseDir = options.baseDir ?? process.cwd();
  const openStorage = (location: string): Storage =>
    location.startsWith('s3://')
      ? unsupported(location)
      : new FolderStorage(location.startsWith('/') ? location : `${baseDir}/${location}`);
  const ctx = (
    shape: { targetBytes: number; parallelism: number },
    cursor?: CursorState,
  ): PlanContext<C> => ({
    config,
    credential,
    openStorage,
    targetBytes: shape.targetBytes,
    parallelism: shape.parallelism,
    alreadyLoaded: () => false,
    ...(cursor ? { cursor } : {}),
  });
  const fineShape = options.fine ?? { targetBytes: 1, parallelism: 8 };
  const coarseShape = options.coarse ?? { targetBytes: 1024 ** 4, parallelism: 1 };
  const readCtx = { config, credential, openStorage };

  const fine = await connector.plan(ctx(fineShape));
  const again = await connector.plan(ctx(fineShape));
  if (JSON.stringify(fine) !== JSON.stringify(again))
    found('deterministic plan', 'planning twice with the same source state gave different plans');
  for (const [i, chunk] of fine.chunks.entries()) {
    const text = JSON.stringify(chunk.source);
    if (JSON.stringify(JSON.parse(text)) !== text)
      found('small JSON chunks', `chunk ${i}: its source does not survive JSON`);
    if (text.length > MAX_CHUNK_SOURCE_BYTES)
      found(
        'small JSON chunks',
        `chunk ${i}: its source is ${text.length} bytes of JSON (max ${MAX_CHUNK_SOURCE_BYTES})`,
      );
    if (!(chunk.bytes >= 0)) found('small JSON chunks', `chunk ${i}: bytes must be a number ≥ 0`);
  }

  const fineRows: string[] = [];
  const readKeys = new Set<string>();
  for (const [seq, chunk] of descriptors(fine).entries()) {
    const first = await readAll(connector, chunk, readCtx, identity, Number.POSITIVE_INFINITY, readKeys);
    const second = await readAll(connector, chunk, readCtx, identity);
    if (first.join('\n') !== second.join('\n'))
      found(
        'repeatable reads',
        `chunk ${seq}: reading it twice gave different rows (${first.length} then ${second.length})`,
      );
    if (first.length > 0) {
      await readAll(connector, chunk, readCtx, identity, 1);
      const restarted = await readAll(connector, chunk, readCtx, identity);
      if (restarted.join('\n') !== first.join('\n'))
        found(
          'restartable reads',
          `chunk ${seq}: a read restarted after an interrupted one gave different rows`,
        );
    }
    if (connector.readBatches) {
      const batched: string[] = [];
      for await (const batch of connector.readBatches(chunk, readCtx))
        for (const record of batch)
          batched.push(record.kind === 'row' ? identity(record.row) : `unparseable:${record.location}`);
      if (batched.join('\n') !== first.join('\n'))
        found(
          'batches match read',
          `chunk ${seq}: readBatches gave ${batched.length} records where read gave ${first.length}, or in another order`,
        );
    }
    fineRows.push(...first);
  }
  const seen = new Set<string>();
  for (const id of fineRows) {
    if (seen.has(id)) found('no overlaps', `row ${id} is read by two chunks (or twice by one)`);
    seen.add(id);
  }
  const coarse = await connector.plan(ctx(coarseShape));
  const coarseRows: string[] = [];
  for (const chunk of descriptors(coarse))
    coarseRows.push(...(await readAll(connector, chunk, readCtx, identity)));
  const coarseSet = new Set(coarseRows);
  const missing = [...coarseSet].filter((id) => !seen.has(id));
  if (missing.length > 0)
    found(
      'no gaps',
      `${missing.length} row(s) a coarse plan reads are in no chunk of the fine plan, e.g. ${missing[0]}`,
    );
  const extra = [...seen].filter((id) => !coarseSet.has(id));
  if (extra.length > 0)
    found('no gaps', `${extra.length} row(s) of the fine plan are not in the coarse plan, e.g. ${extra[0]}`);
  if (options.expectedRows !== undefined && seen.size !== options.expectedRows)
    found('no gaps', `the plan reads ${seen.size} distinct rows, the source holds ${options.expectedRows}`);

  const reported = fine.columns ?? (await connector.discover?.(readCtx))?.flatMap((s) => s.columns);
  if (!reported) {
    found(
      'columns',
      'the connector reports no columns: implement discover(ctx) (catalog, header, footer or a sample) or return columns from plan',
    );
  } else {
    const names = new Set(reported.map((c) => c.name));
    const unreported = [...readKeys].filter((k) => !names.has(k));
    if (unreported.length > 0)
      found(
        'columns',
        `rows have column(s) the connector did not report: ${unreported.join(', ')} (reported: ${[...names].join(', ')})`,
      );
  }

  if (fine.cursor !== undefined) {
    const next = await connector.plan(ctx(fineShape, fine.cursor));
    let rows = 0;
    for (const chunk of descriptors(next))
      rows += (await readAll(connector, chunk, readCtx, identity)).length;
    if (rows > 0)
      found(
        'incremental',
        `planning from the committed cursor read ${rows} row(s) again with no change in the source`,
      );
  }
  return findings;
}

function descriptors(plan: SourcePlan): ChunkDescriptor[] {
  return plan.chunks.map((c, seq) => ({
    id: `chunk-${String(seq).padStart(5, '0')}`,
    seq,
    bytes: c.bytes,
    route: 'lambda' as const,
    source: c.source,
  }));
}

async function readAll<C>(
  connector: SourceConnector<C>,
  chunk: ChunkDescriptor,
  ctx: Parameters<SourceConnector<C>['read']>[1],
  identity: (row: Row) => string,
  stopAfter = Number.POSITIVE_INFINITY,
  keys?: Set<string>,
): Promise<string[]> {
  const out: string[] = [];
  for await (const record of connector.read(chunk, ctx)) {
    if (keys && record.kind === 'row') for (const key of Object.keys(record.row)) keys.add(key);
    out.push(record.kind === 'row' ? identity(record.row) : `unparseable:${record.location}`);
    if (out.length >= stopAfter) break;
  }
  return out;
}

function credentialResolver(values: Record<string, string>): CredentialResolver {
  return (async (name: string, options?: { optional: true }) => {
    const value = values[name];
    if (value === undefined && !options?.optional)
      throw new Error(`no credential "${name}" in the contract options`);
    return value;
  }) as CredentialResolver;
}

function unsupported(location: string): never {
  throw new Error(`the contract kit opens folders only, not ${location}`);
}
