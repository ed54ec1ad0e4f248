// What the CLI prints when something fails: one line that says what to do, the stack in the log file.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LocalRunResult } from '../../functions/local/runner.js';

/**
 * The one line a failed run prints on stderr: what happened, then what to do. A run that was recorded
 * can be finished with `sluice redrive <run>` (its loaded chunks are kept); the stack is in the log.
 *
 * @example formatRunFailure({ status: 'failed', runId: 'r1', error: 'boom' }, 'run')
 *   // 'run r1 failed: boom; fix the cause, then finish it with: sluice redrive r1 (details in .sluice/logs/sluice.log)'
 */
/**
 * A recorded error as a person reads it: without the class name the ledger keeps in front of it
 * (`QualityCheckError: quality check failed…` → `quality check failed…`).
 */
export function withoutErrorName(message: string): string {
  return message.replace(/^(?:[A-Z][A-Za-z0-9]*Error|States\.[A-Za-z]+): /, '');
}

export function formatRunFailure(
  result: Pick<LocalRunResult, 'runId' | 'error'>,
  what: 'run' | 'redrive of run',
  logFile = '.sluice/logs/sluice.log',
): string {
  const error = withoutErrorName(result.error ?? 'unknown error').replace(/\s*\n\s*/g, '; ');
  if (!result.runId) return `run (not started) failed: ${error} (details in ${logFile})`;
  return `${what} ${result.runId} failed: ${error}; fix the cause, then finish it with: sluice redrive ${result.runId} (details in ${logFile})`;
}

/**
 * What a failed run prints on stderr: (when the run got that far) its counts so far, its top reject
 * reasons and where its rejected rows are, so a quality threshold says which rows and why without
 * digging through staging; then the one line of formatRunFailure.
 */
export function formatFailedRun(
  result: Pick<LocalRunResult, 'runId' | 'error' | 'counts' | 'topRejectReasons' | 'rejectsLocation'>,
  what: 'run' | 'redrive of run',
  logFile = '.sluice/logs/sluice.log',
): string {
  const out: string[] = [];
  const c = result.counts;
  if (c)
    out.push(
      `  read ${c.read} = loaded ${c.loaded} + rejected ${c.rejected} + filtered ${c.filteredByRule} + duplicate keys ${c.deduplicated} + uncommitted ${c.uncommitted}`,
    );
  if (result.topRejectReasons?.length) {
    out.push('  top reject reasons:');
    for (const r of result.topRejectReasons) out.push(`    ${String(r.count).padStart(6)}  ${r.reason}`);
  }
  if (result.rejectsLocation && result.runId)
    out.push(`  rejected rows with reasons: ${result.rejectsLocation} (sluice rejects ${result.runId})`);
  // Last, so the final line of stderr is always what happened and what to do.
  out.push(formatRunFailure(result, what, logFile));
  return out.join('\n');
}

/** Appends an error's stack to the log file, as the run's logger does (JSON lines); never throws. */
export function logStack(logFile: string, message: string, err: unknown): void {
  try {
    mkdirSync(dirname(logFile), { recursive: true });
    const e = err instanceof Error ? err : new Error(String(err));
    appendFileSync(
      logFile,
      `${JSON.stringify({ time: new Date().toISOString(), level: 'ERROR', message, error: e.message, stack: e.stack })}\n`,
    );
  } catch {
    // The terminal line still says what happened.
  }
}

/**
 * The last resort: an error nothing caught (a driver's unhandled 'error' event, a rejected promise no
 * one awaited) ends the CLI with one line and exit code 1, its stack in the log rather than on the
 * terminal. Runs whose process ended this way are finished with `sluice redrive <run>`.
 */
export function exitOnUncaughtErrors(logFile: () => string): void {
  const last = (err: unknown) => {
    logStack(logFile(), 'uncaught error', err);
    process.stderr.write(
      `sluice: unexpected error: ${err instanceof Error ? err.message : String(err)}; a run it interrupted is finished with: sluice redrive <run> (see sluice runs; stack in ${logFile()})\n`,
    );
    process.exit(1);
  };
  process.on('uncaughtException', last);
  process.on('unhandledRejection', last);
}
