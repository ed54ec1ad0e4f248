// Planning a run's chunks: the connector splits the source, the engine numbers and routes the pieces.
import { deletesMode } from '../load/deletes.js';
import type {
  BackfillWindow,
  ConnectorLookup,
  CredentialResolver,
  CursorState,
  DiscoveredColumn,
  PreviousUnitVersion,
  SourceUnit,
} from '../ports/index.js';
import type { Storage } from '../ports/storage.js';
import type { PipelineSpec } from '../spec/schema.js';
import type { ChunkDescriptor, ChunkRoute } from '../types.js';
import { parseConnectorConfig } from './connector-config.js';

/**
 * Plans a run's chunks: the connector splits the source, the engine numbers and routes the pieces.
 * Pure apart from reading the source; `sluice plan` shows exactly what a run would do.
 */
export async function planChunks(
  spec: PipelineSpec,
  ctx: {
    /** The source connectors this build knows (the registry). */
    connectors: ConnectorLookup;
    openStorage(location: string): Storage;
    alreadyLoaded(unit: { key: string; etag: string }): boolean;
    /** Append mode: the version of a changed unit an earlier run loaded (PlanContext.previousVersion). */
    previousVersion?(key: string): PreviousUnitVersion | undefined;
    /** The source's credentials (credentialResolver over the secret store). */
    credential: CredentialResolver;
    /** The committed cursor (omit on a full refresh). */
    cursor?: CursorState;
    backfill?: BackfillWindow;
    /**
     * Plan chunks covering the source's whole key space (deletes by key snapshot).
     * @default true when the destination propagates deletes (`sluice plan` shows what a run plans)
     */
    keySnapshot?: boolean;
    /** The pipeline's name (a CDC source derives its slot's name from it). */
    pipeline?: string;
    /** Create and change nothing in the source (`sluice plan`): PlanContext.dryRun. */
    dryRun?: boolean;
  },
): Promise<{
  chunks: ChunkDescriptor[];
  units: SourceUnit[];
  skipped: number;
  cursor?: CursorState;
  columns?: DiscoveredColumn[];
  changes?: boolean;
  chunkStates?: boolean;
  versionsFrom?: string;
  lagBytes?: number;
}> {
  const connector = ctx.connectors.getSource(spec.source.connector);
  const config = parseConnectorConfig(connector.configSchema, spec);
  const plan = await connector.plan({
    config,
    openStorage: ctx.openStorage,
    credential: ctx.credential,
    targetBytes: spec.chunking.targetBytes,
    parallelism: spec.runtime.concurrency,
    alreadyLoaded: ctx.alreadyLoaded,
    ...(ctx.previousVersion ? { previousVersion: ctx.previousVersion } : {}),
    ...(ctx.cursor ? { cursor: ctx.cursor } : {}),
    ...(ctx.backfill ? { backfill: ctx.backfill } : {}),
    ...((ctx.keySnapshot ??
    (deletesMode(spec.destination) !== undefined && !connector.capturesChanges?.(config)))
      ? { keySnapshot: true }
      : {}),
    pipeline: ctx.pipeline ?? spec.name,
    ...(ctx.dryRun ? { dryRun: true } : {}),
  });
  const chunks: ChunkDescriptor[] = plan.chunks.map((c, seq) => ({
    id: `chunk-${String(seq).padStart(5, '0')}`,
    seq,
    bytes: c.bytes,
    route: routeChunk(c.bytes, spec),
    source: c.source,
  }));
  return {
    chunks,
    units: plan.units,
    skipped: plan.skipped,
    ...(plan.cursor !== undefined ? { cursor: plan.cursor } : {}),
    ...(plan.columns ? { columns: plan.columns } : {}),
    ...(plan.changes ? { changes: true } : {}),
    ...(plan.chunkStates ? { chunkStates: true } : {}),
    ...(plan.versionsFrom !== undefined ? { versionsFrom: plan.versionsFrom } : {}),
    ...(plan.lagBytes !== undefined ? { lagBytes: plan.lagBytes } : {}),
  };
}

/** Chunks too big for one Lambda invocation go to Fargate (with `auto`), or all go where the spec says. */
export function routeChunk(bytes: number, spec: PipelineSpec): ChunkRoute {
  const compute = spec.runtime.compute;
  if (compute === 'lambda' || compute === 'fargate') return compute;
  return bytes > spec.runtime.lambdaMaxBytes ? 'fargate' : 'lambda';
}
