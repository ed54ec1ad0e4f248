import { resumeRunForRedrive } from '../engine/run/redrive.js';
import { readRunSpec } from '../engine/run/run-spec.js';
import { createLocalDeps } from './environment.js';
import { executeLocally, type LocalRunOptions, type LocalRunResult } from './runner.js';

export { RedriveError } from '../engine/run/redrive.js';

export interface LocalRedriveOptions extends Omit<LocalRunOptions, 'specFile' | 'fullRefresh' | 'input'> {
  /** The failed (or killed) run to finish. */
  runId: string;
}

/**
 * `sluice redrive <run>`: finishes a failed run, or a run whose process was killed, instead of starting
 * over. resumeRunForRedrive takes the lock again and rebuilds the run's state from staging; the state
 * machine then runs from LoadChunks over the SAME manifests and frozen spec: chunks in the ledger are
 * no-ops, the missing ones load (exactly once), then Commit.
 */
export async function redriveRunLocally(options: LocalRedriveOptions): Promise<LocalRunResult> {
  const env = await createLocalDeps(options);
  try {
    const run = await resumeRunForRedrive(
      options.runId,
      env.deps,
      options.concurrency ? { concurrency: options.concurrency } : {},
    );
    const { spec, specLocation } = await readRunSpec(env.deps.staging, options.runId);
    return await executeLocally(spec, { ...options, specFile: specLocation }, env.deps, env.stagingDir, {
      run,
    });
  } finally {
    await env.close();
  }
}
