import { randomUUID } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import * as z from 'zod';
import { addChangeColumns } from '../load/cdc-apply.js';
import { createKeysTable, deletesMode, identityColumn } from '../load/deletes.js';
import {
  beginRun,
  bookmarkedFiles,
  createStagingTable,
  ensureInternalSchema,
  ensureTargetTable,
  failRun,
  loadedFiles,
  readCursor,
  recordPlan,
  refuseSharedFullRefresh,
} from '../load/index.js';
import { historyTableDestination, isHistory } from '../load/scd2.js';
import type {
  BackfillWindow,
  ConnectorLookup,
  CredentialResolver,
  CursorState,
  DiscoveredColumn,
  PreviousUnitVersion,
  SourceConnector,
  SourceUnit,
} from '../ports/index.js';
import type { Storage } from '../ports/storage.js';
import { changeCaptureProblem } from '../spec/load-modes.js';
import { type LoadedSpec, parsePublishedSpec } from '../spec/parse.js';
import type { PipelineSpec } from '../spec/schema.js';
import type { ChunkDescriptor, ChunkRoute } from '../types.js';
import { ConnectorConfigError, checkRunOptions, parseConnectorConfig } from './connector-config.js';
import { credentialResolver } from './credentials.js';
import type { EngineDeps } from './deps.js';
import { stagingLayout } from './layout.js';
import { planChunks } from './plan-chunks.js';
import { type PrepareOutput, prepareOutput } from './prepare-output.js';
import { resumeRunForRedrive } from './redrive.js';
import { retryStep } from './retry.js';
import { writeRunSpec } from './run-spec.js';
import {
  applySchemaEvolution,
  resolveSourceColumns,
  type SchemaEvolutionOutcome,
} from './schema-evolution.js';

/** What a run is started with (the state machine input, plus what the ASL adds). */
export const prepareInputSchema = z.object({
  pipeline: z.string().min(1),
  specLocation: z.string().min(1),
  executionId: z.string().min(1).optional(),
  options: z
    .object({
      fullRefresh: z.boolean().optional(),
      /** Load this cursor window without moving the cursor (`sluice run --backfill <from>..<to>`). */
      backfill: z.object({ from: z.string().min(1), to: z.string().min(1) }).optional(),
      trigger: z.record(z.string(), z.unknown()).optional(),
      /**
       * Resume this failed or killed run instead of planning a new one: chunks already in its ledger are
       * no-ops. This is how a run is redriven in AWS (a new execution with `{ redrive: { runId } }`),
       * because Step Functions' own redrive would restart at the Fail state after MarkFailed.
       */
      redrive: z.object({ runId: z.string().uuid() }).optional(),
    })
    .passthrough()
    .default({}),
});
export type PrepareInput = z.input<typeof prepareInputSchema>;

/** Everything commit needs to know about the plan, kept in staging (not in the state). */
export interface RunManifest {
  runId: string;
  pipeline: string;
  chunks: ChunkDescriptor[];
  units: SourceUnit[];
  skippedSources: number;
  fullRefresh: boolean;
  plannedAt: string;
  /** The cursor state commit stores with the data; absent for sources without a cursor and on a backfill. */
  cursor?: CursorState;
  /** Set when this run is a backfill: commit leaves the cursor where it is. */
  backfill?: BackfillWindow;
  /** What the destination's schemaEvolution policy did with source columns that reach no destination column. */
  schemaEvolution?: SchemaEvolutionOutcome;
  /** The columns the source reported at plan time (header, sample, footer, catalog, first page). */
  sourceColumns?: { name: string; type: string }[];
  /** The chunks deliver change events (CDC): commit applies them in order. */
  changes?: boolean;
  /** The chunks report a state (a first CDC load's snapshots), stored with the cursor at commit. */
  chunkStates?: boolean;
  /** mode: history: when this run's versions start (CDC's first load), instead of the commit's clock. */
  versionsFrom?: string;
}

export { planChunks, routeChunk } from './plan-chunks.js';

export class PipelineMismatchError extends Error {
  constructor(expected: string, found: string) {
    super(`the state machine is for pipeline "${expected}" but the spec says "${found}"`);
    this.name = 'SpecError';
  }
}

/**
 * Reads the spec a run starts from: a local YAML/JSON file, or `s3://bucket/key` through the staging
 * storage when the key is inside it (CDK ships specs to `specs/<pipeline>/<hash>.json` in staging).
 */
export async function readSpecAt(
  location: string,
  deps: Pick<EngineDeps, 'staging' | 'readSpecFile'>,
): Promise<LoadedSpec & { baseDir: string }> {
  if (location.startsWith('s3://')) {
    const key = location.replace(/^s3:\/\/[^/]+\//, '');
    const text = (await deps.staging.readBytes(key)).toString('utf8');
    return { ...parsePublishedSpec(text, location), baseDir: '/' };
  }
  const loaded = await deps.readSpecFile(location);
  return { ...loaded, baseDir: dirname(resolve(location)) };
}

/**
 * Prepare: lock the pipeline, ensure schema and target, plan chunks, write the manifests to staging and
 * record the run. On any failure after the run is recorded, the run is marked failed before rethrowing.
 */
export async function prepareRun(rawInput: PrepareInput, deps: EngineDeps): Promise<PrepareOutput> {
  const input = prepareInputSchema.parse(rawInput);
  if (input.options.redrive) return resumeRunForRedrive(input.options.redrive.runId, deps);
  const loaded = await readSpecAt(input.specLocation, deps);
  const spec = loaded.spec;
  if (spec.name !== input.pipeline) throw new PipelineMismatchError(input.pipeline, spec.name);
  // Fail on a bad connector config before anything is locked or recorded.
  const connector = deps.connectors.getSource(spec.source.connector);
  const connectorConfig = parseConnectorConfig(connector.configSchema, spec);
  const capturesChanges = connector.capturesChanges?.(connectorConfig) ?? false;
  if (capturesChanges) checkChangesSupported(spec);
  else checkDeletesSupported(spec, connector, connectorConfig);
  const fullRefresh = input.options.fullRefresh ?? false;
  const backfill = input.options.backfill;
  checkRunOptions(spec, deps.connectors, { backfill, fullRefresh });
  if (fullRefresh && isHistory(spec.destination))
    throw new ConnectorConfigError(
      `--full-refresh would delete the history of ${spec.destination.schema}.${spec.destination.table} (mode: history): drop the table yourself if that is what you want`,
    );

  const wh = deps.warehouse;
  // Each database step is safe to replay after a transient error (a dropped connection): the schema
  // and target steps converge, beginRun is idempotent for its run id, the plan is recorded by id.
  await retryStep(deps, 'create the internal schema', () => ensureInternalSchema(wh));
  // Before a run is recorded: a full refresh must not delete what other pipelines loaded.
  if (fullRefresh) await refuseSharedFullRefresh(wh, spec.destination, spec.name);

  const runId = randomUUID();
  await retryStep(deps, `start run ${runId}`, () =>
    beginRun(wh, {
      runId,
      pipeline: spec.name,
      specVersion: spec.version,
      specHash: loaded.contentHash,
      trigger: input.options.trigger ?? { type: 'manual' },
      fullRefresh,
      holder: deps.holder,
      leaseSeconds: spec.runtime.timeoutSeconds * 4 + 3600,
      ...(deps.isHolderAlive ? { isHolderAlive: deps.isHolderAlive } : {}),
    }),
  );
  deps.logger.info('run started', { runId, pipeline: spec.name, fullRefresh, specHash: loaded.contentHash });

  try {
    // One resolver for discovery and planning: each credential is read (and audited) once per Prepare.
    const credential = credentialResolver(spec, deps.secrets);
    const openStorage = (location: string) => deps.openStorage(location, loaded.baseDir);
    const seen = fullRefresh
      ? undefined
      : await retryStep(deps, 'read the loaded files', () => loadedFiles(wh, spec.name));
    // Append mode: a file that changed since it was loaded must not load its old rows again (files/growth.ts).
    const previous =
      fullRefresh || spec.destination.mode !== 'append'
        ? undefined
        : await retryStep(deps, 'read the file bookmarks', () => bookmarkedFiles(wh, spec.name));
    const stored = fullRefresh
      ? undefined
      : await retryStep(deps, 'read the cursor', () => readCursor(wh, spec.name));
    const plan = await planChunks(spec, {
      connectors: deps.connectors,
      openStorage,
      alreadyLoaded: (unit) => (seen ? seen.has(`${unit.key}\u0000${unit.etag}`) : false),
      ...(previous ? { previousVersion: (key: string) => previous.get(key) } : {}),
      credential,
      ...(stored ? { cursor: stored.state } : {}),
      ...(backfill ? { backfill } : {}),
      keySnapshot: deletesMode(spec.destination) !== undefined && !fullRefresh && !capturesChanges,
      pipeline: spec.name,
    });
    if (plan.lagBytes !== undefined) {
      deps.logger.info('replication slot lag', { pipeline: spec.name, lagBytes: plan.lagBytes });
      deps.onSourceLag?.(plan.lagBytes);
    }
    // Before the target is touched: every column name resolves, or the run is refused (issue 12). A
    // plan that reads nothing (nothing new, an empty export) loads nothing: there is nothing to resolve.
    const sourceColumns =
      plan.columns ??
      (plan.chunks.length > 0
        ? await discoverColumns(spec, { connectors: deps.connectors, openStorage, credential })
        : undefined);
    const unreached = sourceColumns ? resolveSourceColumns(loaded, sourceColumns) : undefined;
    const meta = { pipeline: spec.name, version: spec.version, hash: loaded.contentHash };
    await retryStep(deps, `create the target table of "${spec.name}"`, () =>
      ensureTargetTable(
        wh,
        isHistory(spec.destination) ? historyTableDestination(spec.destination) : spec.destination,
        meta,
      ),
    );
    const evolution = unreached ? await applySchemaEvolution(wh, spec, unreached, meta) : undefined;
    if (evolution && (evolution.outcome.added.length > 0 || evolution.outcome.discarded.length > 0))
      deps.logger.info('schema evolution', { pipeline: spec.name, ...evolution.outcome });
    const runSpec = evolution?.spec ?? spec;
    const chunks = plan.chunks;
    const lambdaItems = chunks.filter((c) => c.route === 'lambda');
    const fargateItems = chunks.filter((c) => c.route === 'fargate');

    await writeRunSpec(deps.staging, runId, {
      spec: runSpec,
      specHash: loaded.contentHash,
      specLocation: input.specLocation,
      baseDir: loaded.baseDir,
      ...(plan.changes ? { changes: true } : {}),
    });
    const manifest: RunManifest = {
      runId,
      pipeline: spec.name,
      chunks,
      units: plan.units,
      skippedSources: plan.skipped,
      fullRefresh,
      plannedAt: new Date().toISOString(),
      ...(plan.cursor !== undefined && !backfill ? { cursor: plan.cursor } : {}),
      ...(backfill ? { backfill } : {}),
      ...(evolution ? { schemaEvolution: evolution.outcome } : {}),
      ...(sourceColumns ? { sourceColumns: sourceColumns.map(({ name, type }) => ({ name, type })) } : {}),
      ...(plan.changes ? { changes: true } : {}),
      ...(plan.chunkStates ? { chunkStates: true } : {}),
      ...(plan.versionsFrom !== undefined ? { versionsFrom: plan.versionsFrom } : {}),
    };
    await deps.staging.write(stagingLayout.manifest(runId), JSON.stringify(manifest));
    await deps.staging.write(stagingLayout.lambdaItems(runId), JSON.stringify(lambdaItems));
    await deps.staging.write(stagingLayout.fargateItems(runId), JSON.stringify(fargateItems));
    await retryStep(deps, `create the staging table of run ${runId}`, () =>
      createStagingTable(wh, runId, runSpec.destination),
    );
    if (plan.changes)
      await retryStep(deps, `add the change columns of run ${runId}`, () =>
        addChangeColumns(wh, runId, runSpec.destination),
      );
    else if (deletesMode(runSpec.destination) && !capturesChanges)
      await retryStep(deps, `create the key table of run ${runId}`, () =>
        createKeysTable(wh, runId, runSpec.destination),
      );
    await retryStep(deps, `record the plan of run ${runId}`, () =>
      recordPlan(wh, runId, {
        chunkCount: chunks.length,
        skippedSources: plan.skipped,
        ...(manifest.sourceColumns
          ? {
              summary: {
                sourceColumns: manifest.sourceColumns,
                ...(manifest.schemaEvolution ? { schemaEvolution: manifest.schemaEvolution } : {}),
              },
            }
          : {}),
      }),
    );
    deps.logger.info('run planned', {
      runId,
      chunks: chunks.length,
      lambdaChunks: lambdaItems.length,
      fargateChunks: fargateItems.length,
      skippedSources: plan.skipped,
      ...(backfill ? { backfill } : {}),
      ...(manifest.cursor ? { cursorAfterCommit: manifest.cursor } : {}),
    });
    return prepareOutput(runId, spec, {
      lambdaChunks: lambdaItems.length,
      fargateChunks: fargateItems.length,
      skippedSources: plan.skipped,
    });
  } catch (err) {
    await retryStep(deps, `mark run ${runId} failed`, () =>
      failRun(wh, runId, `prepare failed: ${errorMessage(err)}`),
    ).catch((failErr: unknown) =>
      deps.logger.error('could not mark the run failed', { runId, error: errorMessage(failErr) }),
    );
    throw err;
  }
}

/**
 * The source's columns from the connector's `discover` (when the plan did not report them), or
 * undefined for a connector that cannot say: its runs are not resolved against the source.
 */
export async function discoverColumns(
  spec: PipelineSpec,
  ctx: {
    connectors: ConnectorLookup;
    openStorage(location: string): Storage;
    credential: CredentialResolver;
  },
): Promise<DiscoveredColumn[] | undefined> {
  const connector = ctx.connectors.getSource(spec.source.connector);
  if (!connector.discover) return undefined;
  const streams = await connector.discover({
    config: parseConnectorConfig(connector.configSchema, spec),
    openStorage: ctx.openStorage,
    credential: ctx.credential,
  });
  return streams.flatMap((s) => s.columns);
}

/**
 * `deletes: hard | soft` compares the source's key set with the target: the connector must list its
 * keys, by the same column the destination identifies rows with. Refused before the run starts.
 */
function checkDeletesSupported(
  spec: PipelineSpec,
  connector: SourceConnector<unknown>,
  config: unknown,
): void {
  const mode = deletesMode(spec.destination);
  if (!mode) return;
  if (!connector.readKeys || !connector.keyColumn)
    throw new ConnectorConfigError(
      `destination.deletes: ${mode} needs a source that can list its keys (postgres, mysql); the ${spec.source.connector} source cannot: use deletes: ignore`,
    );
  const sourceKey = connector.keyColumn(config);
  const identity = identityColumn(spec.destination);
  if (sourceKey === undefined)
    throw new ConnectorConfigError(
      `destination.deletes: ${mode} needs source.config.key (the source's unique key, "${identity}" in the destination)`,
    );
  if (sourceKey !== identity)
    throw new ConnectorConfigError(
      `destination.deletes: ${mode} compares the source key "${sourceKey}" with the destination key column "${identity}": they must be the same column (name the destination column "${sourceKey}")`,
    );
}

/**
 * A source that delivers changes (CDC) applies them to a table holding one row per key (upsert) or
 * every version (history); its deletes are events, not a key snapshot. Refused before the run starts.
 */
function checkChangesSupported(spec: PipelineSpec): void {
  const problem = changeCaptureProblem(spec.destination);
  if (problem) throw new ConnectorConfigError(problem.message);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
