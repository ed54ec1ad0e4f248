import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import type { FaultInjector } from '../engine/load/index.js';
import { getRun, type RunCounts, rejectReasons, rejectsPrefix } from '../engine/read-side/index.js';
import { chunkBatchFromStaging, chunkTaskIdsFromEnv } from '../engine/run/chunk-from-staging.js';
import { commitPreparedRun } from '../engine/run/commit.js';
import type { ChunkProgress, EngineDeps } from '../engine/run/deps.js';
import { markRunFailed } from '../engine/run/fail.js';
import { prepareRun } from '../engine/run/prepare.js';
import type { PrepareOutput } from '../engine/run/prepare-output.js';
import { processChunkBatch } from '../engine/run/process-chunks.js';
import type { RetryPolicy } from '../engine/run/retry.js';
import type { PipelineSpec } from '../engine/spec/schema.js';
import type { RunSummary } from '../engine/types.js';
import {
  localRetryIntervals,
  readAsl,
  rewriteDistributedMaps,
  type Substitutions,
  substitute,
} from './asl.js';
import { createLocalDeps, type LocalEnvironment } from './environment.js';
import { faultInjectorFromEnv } from './faults.js';
import { LambdaPool } from './lambda-pool.js';
import {
  type AwsLimitError,
  assertContainerOverrides,
  assertExecutionName,
  watchStatePayloads,
} from './limits.js';
import { finishMap, type MapResultsInput, type ReadItemsInput, readItems } from './map-io.js';
import './polyfills.js';
import { loadSpecFileCached } from './spec-cache.js';
import { runWorkerProcess } from './worker-process.js';

export interface LocalRunOptions extends LocalEnvironment {
  /** Path of the pipeline's YAML spec. */
  specFile: string;
  /** Reload every source file, replacing what earlier runs loaded (atomically, at commit). */
  fullRefresh?: boolean;
  /** Load this cursor window of an incremental source without moving the cursor (`--backfill from..to`). */
  backfill?: { from: string; to: string };
  /** Override the spec's Map concurrency for this run. */
  concurrency?: number;
  /** How a chunk routed to Fargate runs: the container's entry as a child process (default with DATABASE_URL), or in this process (PGlite, which one process owns). */
  fargateWorker?: 'child-process' | 'in-process';
  /**
   * How chunks routed to Lambda run: in this process, taking turns on its event loop (default), or in
   * worker threads, warm across batches, so parsing uses more than one core (needs DATABASE_URL; not
   * with fault injection, whose points live in this process). Threads cost ~150 MB of memory each.
   */
  lambdaWorker?: 'in-process' | 'thread';
  /** Called as the run moves: planned, then once per chunk. */
  onEvent?: (event: LocalRunEvent) => void;
  /** Extra fields for the execution input (trigger, ...). */
  input?: Record<string, unknown>;
  /** Fault points to fail or die at (crash tests). @default - from SLUICE_FAULT, else none */
  faults?: FaultInjector;
  /** How transient database errors are retried. @default - DEFAULT_RETRY_POLICY (engine/run/retry.ts) */
  retry?: Partial<RetryPolicy>;
  /** Sees every Task's input and output as the state machine passes them (tests scan them for secrets). */
  onPayload?: (state: string, direction: 'input' | 'output', payload: unknown) => void;
  /**
   * How long a Prepare that finds the pipeline locked waits before it tries again, locally (AWS waits
   * 20 s and more, with backoff: statemachines/pipeline.asl.json). @default 1500
   */
  lockRetryMs?: number;
  /** The execution's name (what the S3 starter would name it). @default - `local-<uuid>` */
  executionName?: string;
}

export type LocalRunEvent =
  | {
      type: 'planned';
      runId: string;
      chunks: number;
      lambdaChunks: number;
      fargateChunks: number;
      skippedSources: number;
    }
  | ({ type: 'chunk' } & ChunkProgress);

export interface LocalRunResult {
  status: 'succeeded' | 'failed';
  runId?: string;
  summary?: RunSummary;
  /** What went wrong, as recorded in the run ledger (or the error itself when no run was recorded). */
  error?: string;
  errorName?: string;
  /** A failed run's counts so far (from its chunk ledger; see RunCounts). */
  counts?: RunCounts;
  /** A failed run's most frequent reject reasons, and where its rejected rows are. */
  topRejectReasons?: { reason: string; count: number }[];
  rejectsLocation?: string;
}

/** Where the local "ARNs" point: nothing in AWS; each task is mapped to its handler by state name. */
export function localSubstitutions(spec: PipelineSpec, specFile: string): Substitutions {
  const fn = (name: string) => `arn:aws:lambda:local:000000000000:function:sluice-${spec.name}-${name}`;
  return {
    PipelineName: spec.name,
    SpecLocation: resolve(specFile),
    PrepareFunctionArn: fn('prepare'),
    ProcessChunksFunctionArn: fn('process-chunks'),
    CommitFunctionArn: fn('commit'),
    FailFunctionArn: fn('fail'),
    StagingBucket: 'sluice-local-staging',
    ClusterArn: 'arn:aws:ecs:local:000000000000:cluster/sluice-local',
    WorkerTaskDefinitionArn: 'arn:aws:ecs:local:000000000000:task-definition/sluice-worker:1',
    WorkerContainerName: 'worker',
    WorkerSubnetIds: 'subnet-local',
    WorkerSecurityGroupIds: 'sg-local',
  };
}

/**
 * Runs one pipeline through `statemachines/pipeline.asl.json` with aws-local-stepfunctions, each task
 * mapped to the same handler core the Lambdas run, staging in a folder and PGlite or DATABASE_URL as the
 * warehouse. One run at a time per pipeline (the run lock in the database).
 */
export async function runPipelineLocally(options: LocalRunOptions): Promise<LocalRunResult> {
  const { spec } = await loadSpecFileCached(options.specFile);
  const env = await createLocalDeps(options);
  try {
    return await executeLocally(spec, options, env.deps, env.stagingDir);
  } finally {
    await env.close();
  }
}

/**
 * Where a redriven execution starts: at LoadChunks, with the state Prepare produced the first time
 * (rebuilt from staging). Step Functions' RedriveExecution restarts the failed Map the same way.
 */
export interface RedriveStart {
  run: PrepareOutput;
}

/** Runs the state machine for a run: from Prepare (a new run), or from LoadChunks (a redrive). */
export async function executeLocally(
  spec: PipelineSpec,
  options: LocalRunOptions,
  deps: EngineDeps,
  stagingDir: string,
  redrive?: RedriveStart,
): Promise<LocalRunResult> {
  const definition = rewriteDistributedMaps(
    JSON.parse(substitute(readAsl(), localSubstitutions(spec, options.specFile))),
  );
  if (redrive) {
    // Prepare already ran; the validator rejects a definition with an unreachable state.
    definition.StartAt = 'LoadChunks';
    delete (definition.States as Record<string, unknown>).Prepare;
  }
  let runId: string | undefined = redrive?.run.runId;
  const faults = options.faults ?? faultInjectorFromEnv();
  const runDeps: EngineDeps = {
    ...deps,
    ...(faults ? { faults } : {}),
    ...(options.retry ? { retry: options.retry } : {}),
    onChunkDone: (p) => options.onEvent?.({ type: 'chunk', ...p }),
  };
  const databaseUrl = options.databaseUrl || process.env.DATABASE_URL || undefined;
  // A child process needs a URL to reach the database: one chosen through SLUICE_DATABASE_SECRET (whose
  // local store the child cannot read) or PGlite (one process owns it) runs the entry in process.
  const fargateWorker =
    options.fargateWorker ?? (deps.warehouse.kind === 'pg' && databaseUrl ? 'child-process' : 'in-process');
  const lambdaPool =
    options.lambdaWorker === 'thread' && databaseUrl && !faults && !options.warehouse
      ? new LambdaPool(
          {
            databaseUrl,
            ...(options.home ? { home: options.home } : {}),
            ...(options.allowedRoots ? { allowedRoots: options.allowedRoots } : {}),
          },
          (p) => runDeps.onChunkDone?.(p),
        )
      : undefined;
  if (options.lambdaWorker === 'thread' && !lambdaPool)
    throw new Error(
      'chunk worker threads need DATABASE_URL (PGlite belongs to one thread) and no fault injection',
    );

  const handlers: Record<string, (input: never) => Promise<unknown>> = {
    Prepare: async (input: { Payload: Record<string, unknown> }) => {
      const out: PrepareOutput = await prepareRun(input.Payload as never, runDeps);
      runId = out.runId;
      if (options.concurrency) out.map.maxConcurrency = options.concurrency;
      options.onEvent?.({
        type: 'planned',
        runId: out.runId,
        chunks: out.lambdaChunks + out.fargateChunks,
        lambdaChunks: out.lambdaChunks,
        fargateChunks: out.fargateChunks,
        skippedSources: out.skippedSources,
      });
      return { Payload: out };
    },
    LambdaChunksReadItems: (input: ReadItemsInput) => readItems(deps.staging, 'LambdaChunks', input),
    FargateChunksReadItems: (input: ReadItemsInput) => readItems(deps.staging, 'FargateChunks', input),
    LambdaChunksResults: (input: MapResultsInput) => finishMap(deps.staging, input),
    FargateChunksResults: (input: MapResultsInput) => finishMap(deps.staging, input),
    ProcessChunkBatch: async (input: { Payload: unknown }) => {
      await faults?.hit('mid-map', { runId });
      return {
        Payload: lambdaPool
          ? await lambdaPool.run(input.Payload)
          : await processChunkBatch(input.Payload, runDeps),
      };
    },
    RunChunkWorkerTask: async (input: EcsRunTaskInput) => {
      assertContainerOverrides('RunChunkWorkerTask', input.Overrides);
      const env = environmentFromEcsOverrides(input);
      if (fargateWorker === 'in-process') {
        const batch = await chunkBatchFromStaging(deps.staging, chunkTaskIdsFromEnv(env));
        return { Payload: await processChunkBatch(batch, runDeps) };
      }
      await runWorkerProcess(env, stagingDir, databaseUrl ?? '', runDeps, deps.logger, options.allowedRoots);
      return {};
    },
    Commit: async (input: { Payload: unknown }) => ({
      Payload: await commitPreparedRun(input.Payload, runDeps),
    }),
    MarkFailed: async (input: { Payload: unknown }) => ({
      Payload: await markRunFailed(input.Payload, runDeps),
    }),
  };

  // The ASL's Fail state carries a generic cause; keep the task's own error for the user.
  let lastTaskError: Error | undefined;
  for (const [name, handler] of Object.entries(handlers)) {
    handlers[name] = (input: never) =>
      handler(input).catch((err: unknown) => {
        if (name !== 'MarkFailed') lastTaskError = err instanceof Error ? err : new Error(String(err));
        // The terminal gets one line (bin/sluice.ts); the stack goes to the run's log.
        deps.logger.error('task failed', {
          state: name,
          ...(runId ? { runId } : {}),
          error: err instanceof Error ? err.message : String(err),
          ...(err instanceof Error && err.stack ? { stack: err.stack } : {}),
        });
        throw err;
      });
  }

  // aws-local-stepfunctions does not stop a failed execution's other Map iterations: they would go on
  // (retrying) after the run is failed, even into a redrive of it. Step Functions stops them; so do we:
  // once the execution settles, no task starts, and we return only when the running ones are done.
  let settled = false;
  const inFlight = new Set<Promise<unknown>>();
  for (const [state, handler] of Object.entries(handlers)) {
    handlers[state] = (input: never) => {
      if (settled) return Promise.reject(new ExecutionStoppedError(state));
      const call = handler(input);
      inFlight.add(call);
      return call.finally(() => inFlight.delete(call));
    };
  }

  if (options.onPayload) {
    for (const [state, handler] of Object.entries(handlers)) {
      handlers[state] = async (input: never) => {
        options.onPayload?.(state, 'input', input);
        const output = await handler(input);
        options.onPayload?.(state, 'output', output);
        return output;
      };
    }
  }

  // Not validated again at every run: compiling the validator's JSON Schemas (ajv) cost ~2 s of CPU per
  // command, and the definition is the repository's own file, rewritten by pure code that
  // test/unit/local/asl.test.ts checks with this same validator (and test/infra with asl-validator).
  const machine = new StateMachine(definition as never, { validationOptions: { noValidate: true } });
  const executionName = options.executionName ?? `local-${randomUUID()}`;
  assertExecutionName(executionName);
  const input = {
    ...(options.fullRefresh ? { fullRefresh: true } : {}),
    ...(options.backfill ? { backfill: options.backfill } : {}),
    ...(options.input ?? {}),
    ...(redrive ? { run: redrive.run as unknown as Record<string, never> } : {}),
  };
  const execution = machine.run(input, {
    overrides: {
      taskResourceLocalHandlers: handlers as never,
      // Same retriers as AWS, shorter pauses: a laptop run should not sleep for minutes.
      retryIntervalOverrides: localRetryIntervals(definition, {
        defaultMs: 200,
        lockMs: options.lockRetryMs ?? 1500,
      }),
    },
    context: {
      Execution: {
        Id: `arn:aws:states:local:000000000000:execution:sluice-${spec.name}:${executionName}`,
        Name: executionName,
        Input: input,
        StartTime: new Date().toISOString(),
      },
    },
  });
  // Every state's input and output is held to Step Functions' 256 KiB, as in AWS: over it, the
  // execution stops (States.DataLimitExceeded is not catchable there either) and the run is marked failed.
  let limitError: AwsLimitError | undefined;
  const watching = watchStatePayloads(execution.eventLogs as never, (err) => {
    limitError = err;
    deps.logger.error('AWS limit exceeded', { ...(runId ? { runId } : {}), error: err.message });
    execution.abort();
  });
  try {
    const summary = (await execution.result) as unknown as RunSummary;
    await watching;
    if (limitError) throw limitError;
    options.onPayload?.('Execution', 'output', summary);
    return { status: 'succeeded', runId: summary.runId, summary };
  } catch (err) {
    if (limitError) return await failOnLimit(limitError, spec.name, runId, runDeps);
    const run = runId ? await getRun(deps.warehouse, runId).catch(() => undefined) : undefined;
    const cause = err as { name?: string; message?: string; cause?: { name?: string; message?: string } };
    const error =
      run?.error ?? lastTaskError?.message ?? cause.cause?.message ?? cause.message ?? String(err);
    // What a person needs to fix a failed run (a quality threshold, most often): its reasons and rows.
    const reasons = run ? await rejectReasons(deps.staging, run.runId).catch(() => undefined) : undefined;
    return {
      status: 'failed',
      ...(runId ? { runId } : {}),
      error,
      errorName: lastTaskError?.name ?? cause.cause?.name ?? cause.name ?? 'Error',
      ...(run ? { counts: run.counts } : {}),
      ...(reasons?.length ? { topRejectReasons: reasons } : {}),
      ...(run && run.counts.rejected > 0
        ? { rejectsLocation: `${deps.staging.url}/${rejectsPrefix(run.runId)}` }
        : {}),
    };
  } finally {
    settled = true;
    await Promise.allSettled([...inFlight]);
    await lambdaPool?.close();
  }
}

/** A task asked to start after its execution ended (a sibling Map iteration failed the run). */
class ExecutionStoppedError extends Error {
  constructor(state: string) {
    super(`execution already ended: ${state} not started`);
    this.name = 'ExecutionStoppedError';
  }
}

interface EcsRunTaskInput {
  Overrides?: { ContainerOverrides?: { Name: string; Environment?: { Name: string; Value: string }[] }[] };
}

/** The environment ECS would add to the worker container from the task's overrides. */
function environmentFromEcsOverrides(input: EcsRunTaskInput): Record<string, string> {
  const env: Record<string, string> = {};
  for (const c of input.Overrides?.ContainerOverrides ?? [])
    for (const e of c.Environment ?? []) env[e.Name] = e.Value;
  return env;
}

/** The execution stopped at an AWS limit: the run is marked failed (locally; in AWS its lease runs out). */
async function failOnLimit(
  err: AwsLimitError,
  pipeline: string,
  runId: string | undefined,
  deps: EngineDeps,
): Promise<LocalRunResult> {
  await markRunFailed(
    {
      pipeline,
      state: { ...(runId ? { run: { runId } } : {}), error: { Error: err.name, Cause: err.message } },
    },
    deps,
  ).catch((failErr: unknown) =>
    deps.logger.error('could not mark the run failed', { error: String(failErr) }),
  );
  return { status: 'failed', ...(runId ? { runId } : {}), error: err.message, errorName: err.name };
}
