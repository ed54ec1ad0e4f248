/**
 * The load protocol: Sluice's internal schema, target tables and partitions, and the run lifecycle
 * (begin → stage chunks exactly once → commit atomically | fail), against any Warehouse twin.
 */

export { getRun, listRuns, type RunRecord } from '../read-side/runs.js';
export { type CommitResult, type CommitRunInput, commitRun } from './commit.js';
export * from './errors.js';
export { evolveTargetTable, type NewColumn } from './evolve.js';
export { FAULT_POINTS, type FaultInjector, type FaultPoint } from './fault-points.js';
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
export { handTargetToLoader, loaderOwnsTargetsSql } from './loader-grants.js';
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
  applyChanges,
  type MigrationMeta,
  MigrationNotAllowedError,
  migrateTargetTable,
  readTableShape,
} from './migrate.js';
export {
  type AllowFlag,
  formatPlan,
  isWidening,
  type MigrationChange,
  type MigrationPlan,
  planMigration,
  safeChanges,
} from './migration-plan.js';
export {
  ensureInternalSchema,
  INTERNAL_SCHEMA,
  MIGRATIONS,
  type Migration,
  roleNames,
  STAGING_SCHEMA,
} from './migrations.js';
export { applyRetention, type RetentionOptions } from './retention.js';
export { stagingTableName } from './run-row.js';
export {
  type BookmarkedFile,
  bookmarkedFiles,
  fileBookmarkKey,
  loadedFiles,
  readCursor,
  resetPipelineState,
  type SourceFile,
  type StateResetResult,
  type StoredCursor,
} from './state.js';
export {
  otherPipelinesWritingTable,
  refuseSharedFullRefresh,
  SharedTableRefreshError,
} from './table-writers.js';
export {
  type EnsureTargetResult,
  ensurePartitions,
  ensureTargetTable,
  MAX_NEW_PARTITIONS_PER_RUN,
  type SpecMeta,
  targetTableName,
} from './target.js';
