/**
 * The load protocol: Sluice's internal schema, target tables and partitions, and the run lifecycle
 * (begin → stage chunks exactly once → commit atomically | fail), against any Warehouse twin.
 */

export { type CommitResult, type CommitRunInput, commitRun } from './commit.js';
export * from './errors.js';
export { FAULT_POINTS, type FaultInjector, type FaultPoint } from './fault-points.js';
export { getRun, listRuns, type RunRecord } from './history.js';
export {
  chunkLedgerEntry,
  createStagingTable,
  type LoadChunkInput,
  type LoadChunkResult,
  loadChunkExactlyOnce,
  type RunPlan,
  reconcileStagingWithLedger,
  recordPlan,
} from './ledger.js';
export {
  type AbandonedRun,
  type BeginRunInput,
  type BeginRunResult,
  beginRun,
  failRun,
  type ResumeRunInput,
  renewLease,
  resumeRun,
} from './lock.js';
export { ORD_COLUMN, SEQ_COLUMN } from './merge-sql.js';
export {
  ensureInternalSchema,
  INTERNAL_SCHEMA,
  MIGRATIONS,
  type Migration,
  roleNames,
  STAGING_SCHEMA,
} from './migrations.js';
export { stagingTableName } from './run-row.js';
export {
  type BookmarkedFile,
  bookmarkedFiles,
  fileBookmarkKey,
  loadedFiles,
  readCursor,
  type SourceFile,
  type StoredCursor,
} from './state.js';
export {
  otherPipelinesWritingTable,
  refuseSharedFullRefresh,
  SharedTableRefreshError,
} from './table-writers.js';
export {
  applyRetention,
  type EnsureTargetResult,
  ensurePartitions,
  ensureTargetTable,
  evolveTargetTable,
  MAX_NEW_PARTITIONS_PER_RUN,
  type NewColumn,
  type RetentionOptions,
  type SpecMeta,
  targetTableName,
} from './target.js';
