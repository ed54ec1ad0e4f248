import * as z from 'zod';
import { anchorAfterCommit } from '../audit/anchor.js';
import { failRun } from '../load/index.js';
import type { EngineDeps } from './deps.js';
import { retryStep } from './retry.js';

/** What MarkFailed receives: the whole state at the failure, which holds the run (if Prepare got that far) and the error. */
export const failInputSchema = z.object({
  pipeline: z.string(),
  executionId: z.string().optional(),
  state: z
    .object({
      run: z.object({ runId: z.string().uuid() }).partial().optional(),
      error: z.object({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
    })
    .passthrough(),
});

/** Marks the run failed (staging and ledger stay for redrive), releases the lock, emits RunFailed. */
export async function markRunFailed(
  rawInput: unknown,
  deps: EngineDeps,
): Promise<{ runId?: string; error: string }> {
  const input = failInputSchema.parse(rawInput);
  const error = describeStepError(input.state.error);
  const runId = input.state.run?.runId;
  // On a fresh connection from the pool: the one that failed the run may be the one that broke.
  if (runId) {
    await retryStep(deps, `mark run ${runId} failed`, () => failRun(deps.warehouse, runId, error));
    await anchorAfterCommit(deps.warehouse, deps.auditAnchor, deps.logger, { runId });
  }
  deps.logger.error('run failed', { pipeline: input.pipeline, runId, error });
  await deps.events.emit('RunFailed', {
    pipeline: input.pipeline,
    runId,
    executionId: input.executionId,
    error,
  });
  return runId ? { runId, error } : { error };
}

/** Step Functions puts a Lambda's error message as JSON in Cause; keep the part a person can read. */
export function describeStepError(error: { Error?: string; Cause?: string } | undefined): string {
  if (!error) return 'unknown error';
  const name = error.Error ?? 'Error';
  let cause = error.Cause ?? '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string; message?: string };
    cause = parsed.errorMessage ?? parsed.message ?? cause;
  } catch {
    // Cause is plain text already.
  }
  return cause ? `${name}: ${cause}` : name;
}
