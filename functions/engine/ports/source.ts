// The source connector contract the engine calls: plan, read, discover, and what each step is given.
import type * as z from 'zod';
import type { ChunkDescriptor, SourceRecord } from '../types.js';
import type { Storage } from './storage.js';

/** One unit of source work as a connector plans it; the engine adds id, seq and route. */
export interface PlannedChunk {
  /** Estimated uncompressed bytes. */
  bytes: number;
  /**
   * Connector-specific, JSON, small: travels in the manifest and the Map items. Never put credentials
   * here (for a database: `{ lo, hi, cursor: { gt, lte } }`).
   */
  source: Record<string, unknown>;
}

/** A source object a run consumed, recorded at commit so the next run skips it (files: key + ETag). */
export interface SourceUnit {
  key: string;
  etag: string;
  size: number;
  /** SHA-256 of the unit's whole content, when the plan read it whole: a later version is compared with it. */
  sha256?: string;
}

/** The version of a unit (file) an earlier run loaded: its ETag, size and, when known, content hash. */
export interface PreviousUnitVersion {
  etag: string;
  size: number;
  sha256?: string;
}

export interface SourcePlan {
  chunks: PlannedChunk[];
  /** Units this run will consume; bookmarked in the same transaction as the data. */
  units: SourceUnit[];
  /** Units skipped because an earlier run loaded them. */
  skipped: number;
  /**
   * The cursor state after this run (incremental sources): computed at plan time, e.g. the highest
   * `updated_at` the plan's window reaches. The engine stores it in the commit transaction, so a failed
   * run leaves the previous cursor untouched. Ignored on a backfill.
   */
  cursor?: CursorState;
  /**
   * True when the chunks deliver change events (change data capture): every row record carries its
   * `change`, and the commit applies them in order instead of merging rows.
   */
  changes?: boolean;
  /** How far the source's change stream is behind the source (CDC: the replication slot's lag), in bytes. */
  lagBytes?: number;
  /** The chunks report a state while they read (ReadContext.reportChunkState): stored with the cursor. */
  chunkStates?: boolean;
  /** mode: history: when the versions this run loads start (CDC's first load: the slot's position). */
  versionsFrom?: string;
  /**
   * The columns of what this plan reads, when planning learns them (a files source reads each planned
   * file's header): the engine resolves the spec against these, and falls back to `discover` without
   * them. Omit when the plan reads nothing.
   */
  columns?: DiscoveredColumn[];
}

/** What an incremental source remembers between runs: JSON, e.g. `{ value: '2026-01-31 23:59:59' }`. */
export type CursorState = Record<string, unknown>;

/** A range of cursor values to (re)load without moving the cursor: `sluice run --backfill <from>..<to>`. */
export interface BackfillWindow {
  /** Inclusive lower bound, as the user wrote it (a timestamp, a date or a number). */
  from: string;
  /** Exclusive upper bound. */
  to: string;
}

/** Resolves a credential by its logical name (`source.credentials` maps it to a secret name). */
export type CredentialResolver = {
  (name: string): Promise<string>;
  (name: string, options: { optional: true }): Promise<string | undefined>;
};

/** What every lifecycle step gets. */
export interface SourceContext<C> {
  config: C;
  /** Opens storage for a location (folder relative to the spec, or s3://). */
  openStorage(location: string): Storage;
  /**
   * A credential's value, from the secrets adapter; never log it and never put it in a chunk.
   * Fails naming the logical name when the spec does not map it (unless optional).
   */
  credential: CredentialResolver;
  /** The pipeline's name (names derived from it, like a replication slot's), when the engine knows it. */
  pipeline?: string;
}

export interface PlanContext<C> extends SourceContext<C> {
  targetBytes: number;
  /** True when an earlier run committed this unit (never true on a full refresh). */
  alreadyLoaded(unit: { key: string; etag: string }): boolean;
  /**
   * In `append` mode (not on a full refresh): the version of this key an earlier run loaded, when the
   * unit changed since. A source must then load only what is new (a file that grew) or refuse the unit,
   * never load again what is already in the table. Absent in the other modes, where a reload is harmless.
   */
  previousVersion?(key: string): PreviousUnitVersion | undefined;
  /** The cursor the last successful run committed; undefined on the first run and on a full refresh. */
  cursor?: CursorState;
  /** Set on a backfill: plan exactly this window; the plan's cursor is ignored. */
  backfill?: BackfillWindow;
  /** How many chunks the run can process at once (the Map's concurrency): a hint for splitting. */
  parallelism: number;
  /**
   * Set when the destination propagates deletes: the plan's chunks must together cover the source's
   * whole key space (not only the cursor window), even when no row changed, so that `readKeys` over
   * every chunk lists every key of the source.
   */
  keySnapshot?: boolean;
  /**
   * Set by `sluice plan`: plan as a run would, but create and change nothing in the source (a CDC
   * source then checks its readiness but creates no slot, and does not advance one).
   */
  dryRun?: boolean;
}

export interface ReadContext<C> extends SourceContext<C> {
  /**
   * Records a fact of this chunk's read (CDC: the snapshot a first load's chunk read in), stored with
   * the chunk exactly once and handed back to the next run's `plan` as `cursor.chunkStates`.
   */
  reportChunkState?(state: Record<string, unknown>): void;
}

/** A column a source offers, in Sluice's destination types. */
export interface DiscoveredColumn {
  name: string;
  /** A destination type (`text`, `bigint`, `timestamptz`, …). */
  type: string;
  nullable: boolean;
}

export interface DiscoveredStream {
  /** Table name, query label, endpoint, file set. */
  name: string;
  columns: DiscoveredColumn[];
  /** The primary key's columns, in key order, when the source declares one (a table's catalog). */
  primaryKey?: string[];
}

/**
 * A source connector: validates its config, optionally checks its connection and discovers its
 * columns, plans chunks, and reads one chunk as a stream of records.
 */
/**
 * What a source reaches over the network when it runs in AWS: `none` (S3 in the stage's region, through
 * the VPC's gateway endpoint), `internet` (HTTPS to a public API) or `database-port` (a database the
 * stage reaches through NAT or an existing VPC's routes). Synth refuses a pipeline whose source needs
 * egress its stage does not have; the ports become the only egress its security group allows.
 */
export interface SourceNetworkNeed {
  access: 'none' | 'internet' | 'database-port';
  /** TCP ports the source connects to (empty for `none`). */
  ports: number[];
}

export interface SourceConnector<C = unknown> {
  name: string;
  description: string;
  configSchema: z.ZodType<C>;
  /**
   * The network the source needs in AWS, from its validated config (e.g. a database's port). A connector
   * that does not say is treated as needing `internet` on 443: synth then asks for egress rather than
   * deploying a pipeline that times out.
   */
  network?(config: C): SourceNetworkNeed;
  /** Cheap connectivity and permission check (for a connection test before a run); throws with a readable cause. */
  check?(ctx: SourceContext<C>): Promise<void>;
  /**
   * The columns the source offers (a database's catalog, a Parquet footer, a CSV header, a sample of
   * records), cheaply, without reading the data. Every run resolves the spec's column names against
   * them before anything loads, and `destination.schemaEvolution` governs the ones that reach no
   * destination column. Optional in the type for older connectors; the contract kit requires it (or
   * `columns` from `plan`).
   */
  discover?(ctx: SourceContext<C>): Promise<DiscoveredStream[]>;
  plan(ctx: PlanContext<C>): Promise<SourcePlan>;
  /**
   * Why this source, as configured, cannot load a `--backfill` window (it has no cursor: files are
   * loaded by bookmark, a database table without `cursor`); undefined when it can. The engine and the
   * CLI ask before a run starts, so the flag is refused, never ignored. Absent: the connector handles
   * `backfill` in `plan`.
   */
  cannotBackfill?(config: C): string | undefined;
  read(chunk: ChunkDescriptor, ctx: ReadContext<C>): AsyncIterable<SourceRecord>;
  /**
   * Optional: the same records as `read`, in the same order, a batch (array) at a time. The engine
   * prefers it: one await per batch instead of one per record is a large part of the per-row cost of a
   * load. Connectors whose source delivers rows in batches (a file buffer, a cursor fetch) should offer it.
   */
  readBatches?(chunk: ChunkDescriptor, ctx: ReadContext<C>): AsyncIterable<readonly SourceRecord[]>;
  /**
   * Optional, for delete propagation by key snapshot: the column whose values `readKeys` lists (the
   * source's unique key), or undefined when the config names none.
   */
  keyColumn?(config: C): string | undefined;
  /**
   * Optional, with `keyColumn`: every key value (as text) in the chunk's key range, whatever the cursor
   * window, a batch at a time. Over all chunks of a plan made with `keySnapshot` these are the source's
   * keys; the engine stages them with the chunk, exactly once, and the commit deletes what is missing.
   */
  readKeys?(chunk: ChunkDescriptor, ctx: ReadContext<C>): AsyncIterable<readonly string[]>;
  /**
   * Optional: true when the source, as configured, delivers change events (CDC) rather than rows. The
   * engine then needs no key snapshot for deletes, and refuses modes that cannot apply changes.
   */
  capturesChanges?(config: C): boolean;
  /**
   * Optional: called after a run's commit stored `cursor` (and again, harmlessly, when a commit is
   * retried), so the source may release what the run consumed (CDC: advance the replication slot).
   * Never called before that commit: what it releases is in the target.
   */
  acknowledge?(ctx: SourceContext<C>, cursor: CursorState): Promise<void>;
}
