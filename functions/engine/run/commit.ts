import * as z from 'zod';
import { anchorAfterCommit } from '../audit/anchor.js';
import { applyRetention, type CommitRunInput, commitRun, getRun } from '../load/index.js';
import { NotFoundError } from '../ports/storage.js';
import type { PipelineSpec } from '../spec/schema.js';
import type { RunSummary } from '../types.js';
import { parseConnectorConfig } from './connector-config.js';
import { credentialResolver } from './credentials.js';
import type { EngineDeps } from './deps.js';
import { stagingLayout } from './layout.js';
import type { RunManifest } from './prepare.js';
import { retryStep } from './retry.js';
import { readRunSpec } from './run-spec.js';

export const commitInputSchema = z.object({ runId: z.string().uuid() });

/**
 * Commit: quality checks, then one transaction merges the run's staging table into the target, bookmarks
 * the source units, marks the run succeeded and releases the lock. Retrying a commit that already
 * happened returns the recorded summary (the response may have been lost, the commit was not).
 */
export async function commitPreparedRun(rawInput: unknown, deps: EngineDeps): Promise<RunSummary> {
  const { runId } = commitInputSchema.parse(rawInput);
  const { spec, baseDir } = await readRunSpec(deps.staging, runId);
  const manifest = JSON.parse(
    (await deps.staging.readBytes(stagingLayout.manifest(runId))).toString('utf8'),
  ) as RunManifest;

  const cursor =
    manifest.cursor !== undefined && !manifest.backfill
      ? manifest.chunkStates
        ? { ...manifest.cursor, chunkStates: await readChunkStates(deps, runId, manifest) }
        : manifest.cursor
      : undefined;
  const commitInput: CommitRunInput = {
    runId,
    spec,
    files: manifest.units,
    expectedChunks: manifest.chunks.length,
    fullRefresh: manifest.fullRefresh,
    ...(deps.faults ? { faults: deps.faults } : {}),
    // The cursor moves in the commit transaction, never on a backfill (its manifest carries none).
    ...(cursor !== undefined ? { cursor } : {}),
    ...(manifest.changes ? { changes: true } : {}),
    ...(deps.connectors
      .getSource(spec.source.connector)
      .capturesChanges?.(
        parseConnectorConfig(deps.connectors.getSource(spec.source.connector).configSchema, spec),
      )
      ? { deletesByEvents: true }
      : {}),
    ...(manifest.versionsFrom !== undefined ? { versionsFrom: manifest.versionsFrom } : {}),
  };
  // Safe to replay: commitRun returns the recorded result of a run that already committed, so a COMMIT
  // whose answer was lost with its connection is found committed, never merged twice.
  const merged = await retryStep(deps, `commit run ${runId}`, async (attempt) => {
    try {
      return await commitRun(deps.warehouse, commitInput);
    } catch (err) {
      // A replay can also meet the first attempt's COMMIT landing under it (the staging table gone
      // between two of its reads): a run that is committed now gets its recorded result.
      if (attempt > 1 && (await getRun(deps.warehouse, runId))?.status === 'succeeded')
        return commitRun(deps.warehouse, commitInput);
      throw err;
    }
  });
  await deps.faults?.hit('after-run-commit', { runId });
  if (cursor !== undefined) await acknowledgeSource(deps, { spec, baseDir }, cursor, runId);
  const dropped = await retryStep(deps, `apply retention to ${spec.destination.table}`, () =>
    applyRetention(deps.warehouse, spec.destination),
  );
  if (dropped.length > 0) deps.logger.info('retention dropped partitions', { runId, partitions: dropped });
  // After the commit, never inside it: the anchor must not name a record that could roll back.
  await anchorAfterCommit(deps.warehouse, deps.auditAnchor, deps.logger, { runId });

  const run = await retryStep(deps, `read run ${runId}`, () => getRun(deps.warehouse, runId));
  const topRejectReasons = await collectRejectReasons(deps, runId, manifest);
  const startedAt = run?.startedAt ?? manifest.plannedAt;
  const finishedAt = run?.finishedAt ?? new Date().toISOString();
  const summary: RunSummary = {
    runId,
    pipeline: spec.name,
    status: 'succeeded',
    read: merged.read,
    loaded: merged.loaded,
    rejected: merged.rejected,
    filtered: merged.filtered + merged.deduplicated,
    filteredByRule: merged.filtered,
    deduplicated: merged.deduplicated,
    chunks: manifest.chunks.length,
    skippedSources: manifest.skippedSources,
    partitions: merged.partitions,
    topRejectReasons,
    ...(merged.rejected > 0
      ? { rejectsLocation: `${deps.staging.url}/${stagingLayout.rejectsPrefix(runId)}` }
      : {}),
    ...(manifest.schemaEvolution &&
    (manifest.schemaEvolution.added.length > 0 || manifest.schemaEvolution.discarded.length > 0)
      ? { schemaEvolution: manifest.schemaEvolution }
      : {}),
    startedAt,
    finishedAt,
    durationMs: Date.parse(finishedAt) - Date.parse(startedAt),
  };
  await deps.staging.write(stagingLayout.summary(runId), JSON.stringify(summary, null, 2));
  await deps.events.emit('RunSucceeded', {
    runId,
    pipeline: spec.name,
    read: summary.read,
    loaded: summary.loaded,
    rejected: summary.rejected,
    filtered: summary.filtered,
    partitions: summary.partitions,
  });
  deps.logger.info('run committed', { ...summary, topRejectReasons: undefined });
  return summary;
}

/**
 * Tells the source what the committed run consumed (CDC: the slot advances to the stored LSN). After
 * the commit only; when it fails or the process dies first, the next Prepare advances the slot.
 */
async function acknowledgeSource(
  deps: EngineDeps,
  { spec, baseDir }: { spec: PipelineSpec; baseDir: string },
  cursor: Record<string, unknown>,
  runId: string,
): Promise<void> {
  const connector = deps.connectors.getSource(spec.source.connector);
  if (!connector.acknowledge) return;
  const ctx = {
    config: parseConnectorConfig(connector.configSchema, spec),
    openStorage: (location: string) => deps.openStorage(location, baseDir),
    credential: credentialResolver(spec, deps.secrets),
    pipeline: spec.name,
  };
  await retryStep(deps, `acknowledge run ${runId} to the source`, () =>
    connector.acknowledge!(ctx, cursor),
  ).catch((err: unknown) =>
    deps.logger.warn('the source was not acknowledged; the next run will', {
      runId,
      error: err instanceof Error ? err.message : String(err),
    }),
  );
}

/** What each chunk's read reported (a first CDC load's snapshots), with the chunk's source. */
async function readChunkStates(deps: EngineDeps, runId: string, manifest: RunManifest) {
  const states: { source: Record<string, unknown>; state: Record<string, unknown> }[] = [];
  for (const chunk of manifest.chunks) {
    const text = (await deps.staging.readBytes(stagingLayout.chunkState(runId, chunk.id))).toString('utf8');
    states.push({ source: chunk.source, state: JSON.parse(text) as Record<string, unknown> });
  }
  return states;
}

/** Sums the per-chunk reject reasons (every chunk writes its reasons file before its load commits). */
async function collectRejectReasons(deps: EngineDeps, runId: string, manifest: RunManifest) {
  const totals = new Map<string, number>();
  for (const chunk of manifest.chunks) {
    const text = await deps.staging
      .readBytes(stagingLayout.rejectReasons(runId, chunk.id))
      .then((b) => b.toString('utf8'))
      .catch((err: unknown) => {
        if (err instanceof NotFoundError) return '{}';
        throw err;
      });
    for (const [reason, count] of Object.entries(JSON.parse(text) as Record<string, number>))
      totals.set(reason, (totals.get(reason) ?? 0) + count);
  }
  return [...totals.entries()]
    .map(([reason, count]) => ({ reason, count }))
    .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason))
    .slice(0, 5);
}
