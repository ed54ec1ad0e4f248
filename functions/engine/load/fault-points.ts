/**
 * Named places where a run can be made to fail or die, to prove the load protocol survives a crash
 * exactly there. Production code only ever calls `hit`; nothing is injected unless a test or the local
 * runner's `SLUICE_FAULT` switch installs an injector.
 */
export const FAULT_POINTS = [
  /** A chunk is about to load: its load transaction has not begun, nothing of it is staged or written. */
  'before-chunk-load',
  /** Inside the chunk's load transaction: ledger row inserted and rows copied, COMMIT not sent. */
  'after-copy-before-commit',
  /** The chunk's transaction committed; the step has not reported back. */
  'after-chunk-commit',
  /** Inside commitRun's merge transaction, after every statement, before COMMIT. */
  'inside-run-commit',
  /** The run committed; the Commit step has not reported back. */
  'after-run-commit',
  /** A Map iteration starts after some batches finished (the nth hit is the nth batch). */
  'mid-map',
] as const;

export type FaultPoint = (typeof FAULT_POINTS)[number];

/** Decides, at each fault point, whether to carry on, throw, or end the process. */
export interface FaultInjector {
  hit(point: FaultPoint, context: Record<string, unknown>): Promise<void>;
}
