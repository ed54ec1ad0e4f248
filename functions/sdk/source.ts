import type { z } from 'zod';
import type { Storage } from '../adapters/storage/types.js';
import type { ChunkDescriptor, SourceRecord } from '../engine/types.js';

/** One unit of source work as a connector plans it; the engine adds id, seq and route. */
export interface PlannedChunk {
  /** Estimated uncompressed bytes. */
  bytes: number;
  /** Connector-specific, JSON, small: travels in the manifest and the Map items. */
  source: Record<string, unknown>;
}

/** A source object a run consumed, recorded at commit so the next run skips it (files: key + ETag). */
export interface SourceUnit {
  key: string;
  etag: string;
  size: number;
}

export interface SourcePlan {
  chunks: PlannedChunk[];
  /** Units this run will consume; bookmarked in the same transaction as the data. */
  units: SourceUnit[];
  /** Units skipped because an earlier run loaded them. */
  skipped: number;
}

export interface PlanContext<C> {
  config: C;
  /** Opens storage for a location (folder relative to the spec, or s3://). */
  openStorage(location: string): Storage;
  targetBytes: number;
  /** True when an earlier run committed this unit (never true on a full refresh). */
  alreadyLoaded(unit: { key: string; etag: string }): boolean;
}

export interface ReadContext<C> {
  config: C;
  openStorage(location: string): Storage;
}

/** A source connector: validates its config, plans chunks, reads one chunk as a stream of records. */
export interface SourceConnector<C = unknown> {
  name: string;
  description: string;
  configSchema: z.ZodType<C>;
  plan(ctx: PlanContext<C>): Promise<SourcePlan>;
  read(chunk: ChunkDescriptor, ctx: ReadContext<C>): AsyncIterable<SourceRecord>;
}

/** Declares a source connector; the identity function gives the config its type. */
export function defineSource<C>(connector: SourceConnector<C>): SourceConnector<C> {
  return connector;
}
