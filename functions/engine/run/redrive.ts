import { createStagingTable, failRun, getRun, reconcileStagingWithLedger, resumeRun } from '../load/index.js';
import type { EngineDeps } from './deps.js';
import { stagingLayout } from './layout.js';
import { type PrepareOutput, prepareOutput } from './prepare-output.js';
import { retryStep } from './retry.js';
import { readRunSpec } from './run-spec.js';

/** The run cannot be redriven (unknown, succeeded, abandoned, or failed before it was planned). */
export class RedriveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedriveError';
  }
}

/**
 * The Prepare of a redrive: puts a failed (or killed) run back to running under the pipeline lock,
 * makes its ledger agree with its staging table, and returns the state Prepare gave it the first time,
 * rebuilt from the manifests and frozen spec in staging. Running the chunk phase from there loads only
 * the chunks missing from the ledger; then Commit. Locally `sluice redrive` calls it; in AWS a new
 * execution whose Prepare receives `{ redrive: { runId } }` calls it (the Map's items are the same
 * manifests, so the ledger makes every loaded chunk a no-op, exactly as Step Functions redrive expects).
 *
 * @throws RedriveError when the run cannot be redriven; PipelineLockedError while its holder is alive.
 */
export async function resumeRunForRedrive(
  runId: string,
  deps: EngineDeps,
  options: { concurrency?: number } = {},
): Promise<PrepareOutput> {
  // Each database step is safe to replay after a transient error: resumeRun is idempotent for its holder.
  const run = await retryStep(deps, `read run ${runId}`, () => getRun(deps.warehouse, runId));
  if (!run) throw new RedriveError(`no run ${runId} in the run ledger of ${deps.warehouse.description}`);
  if (run.status === 'succeeded')
    throw new RedriveError(`run ${runId} already succeeded: nothing to redrive`);
  if (run.status === 'abandoned')
    throw new RedriveError(
      `run ${runId} was abandoned (${run.error ?? 'taken over'}) and its staging discarded: start a new run`,
    );
  const planned = await deps.staging.head(stagingLayout.manifest(runId));
  // First take the lock: a live holder is refused before anything else is said about the run.
  await retryStep(deps, `resume run ${runId}`, () =>
    resumeRun(deps.warehouse, {
      runId,
      holder: deps.holder,
      leaseSeconds: 4 * 3600,
      ...(deps.isHolderAlive ? { isHolderAlive: deps.isHolderAlive } : {}),
    }),
  );
  try {
    if (!planned) {
      throw new RedriveError(
        `run ${runId} ${run.status === 'failed' ? 'failed' : 'was killed'} before its plan was written (${run.error ?? 'no error recorded'}): start a new run`,
      );
    }
    const { spec } = await readRunSpec(deps.staging, runId);
    await retryStep(deps, `create the staging table of run ${runId}`, () =>
      createStagingTable(deps.warehouse, runId, spec.destination),
    );
    const reloading = await retryStep(deps, `reconcile run ${runId} with its staging table`, () =>
      reconcileStagingWithLedger(deps.warehouse, runId),
    );
    const count = async (key: string) =>
      (JSON.parse((await deps.staging.readBytes(key)).toString('utf8')) as unknown[]).length;
    const output = prepareOutput(
      runId,
      spec,
      {
        lambdaChunks: await count(stagingLayout.lambdaItems(runId)),
        fargateChunks: await count(stagingLayout.fargateItems(runId)),
        skippedSources: run.skippedSources ?? 0,
      },
      options.concurrency,
    );
    deps.logger.info('run redriven', {
      runId,
      pipeline: spec.name,
      previousStatus: run.status,
      chunksInLedger: run.chunksLoaded - reloading.length,
      chunksReloading: reloading,
    });
    return output;
  } catch (err) {
    await retryStep(deps, `mark run ${runId} failed`, () =>
      failRun(deps.warehouse, runId, `redrive failed: ${err instanceof Error ? err.message : String(err)}`),
    );
    throw err;
  }
}
