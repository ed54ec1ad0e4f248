/**
 * The load protocol: Sluice's internal schema, target tables and partitions, and the run lifecycle
 * (begin → stage chunks exactly once → commit atomically | fail), against any Warehouse twin.
 */
export * from './errors.js';
export { ORD_COLUMN, SEQ_COLUMN } from './merge-sql.js';
export {
  ensureInternalSchema,
  INTERNAL_SCHEMA,
  MIGRATIONS,
  type Migration,
  STAGING_SCHEMA,
} from './migrations.js';
export {
  type AbandonedRun,
  type BeginRunInput,
  type BeginRunResult,
  beginRun,
  type CommitResult,
  type CommitRunInput,
  chunkLedgerEntry,
  commitRun,
  createStagingTable,
  failRun,
  fileBookmarkKey,
  getRun,
  type LoadChunkInput,
  type LoadChunkResult,
  listRuns,
  loadChunkExactlyOnce,
  loadedFiles,
  type ResumeRunInput,
  type RunPlan,
  type RunRecord,
  recordPlan,
  renewLease,
  resumeRun,
  type SourceFile,
  stagingTableName,
} from './runs.js';
export {
  applyRetention,
  type EnsureTargetResult,
  ensurePartitions,
  ensureTargetTable,
  MAX_NEW_PARTITIONS_PER_RUN,
  type RetentionOptions,
  type SpecMeta,
  targetTableName,
} from './target.js';
