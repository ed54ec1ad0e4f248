import type { LocalRunResult } from '../../functions/local/runner.js';

/**
 * The one line a failed run prints on stderr: what happened, then what to do. A run that was recorded
 * can be finished with `sluice redrive <run>` (its loaded chunks are kept); the stack is in the log.
 *
 * @example formatRunFailure({ status: 'failed', runId: 'r1', error: 'boom' }, 'run')
 *   // 'run r1 failed: boom; fix the cause, then finish it with: sluice redrive r1 (details in .sluice/logs/sluice.log)'
 */
export function formatRunFailure(
  result: Pick<LocalRunResult, 'runId' | 'error'>,
  what: 'run' | 'redrive of run',
  logFile = '.sluice/logs/sluice.log',
): string {
  const error = (result.error ?? 'unknown error').replace(/\s*\n\s*/g, '; ');
  if (!result.runId) return `run (not started) failed: ${error} (details in ${logFile})`;
  return `${what} ${result.runId} failed: ${error}; fix the cause, then finish it with: sluice redrive ${result.runId} (details in ${logFile})`;
}
