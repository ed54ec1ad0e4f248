/**
 * The read side: every question an operator asks about runs, as queries over one SQL port, so the CLI,
 * the local console and a deployed stage (RDS Data API) read the same thing the same way.
 *
 * - `listRuns(sql, { pipeline?, status?, limit? })`: run history, newest first, counts that add up;
 * - `getRun(sql, runId)`: one run record;
 * - `getRunDetail(sql, runId, { staging? })`: phases, chunks, partitions, top reject reasons, events;
 * - `readRejects(staging, runId, { column?, reason?, limit? })`, `rejectReasons(staging, runId)`;
 * - `pipelineState(sql, pipeline)`: bookmarks, cursor, lock; `pipelinesOverview(sql)`: last run, freshness.
 *
 * `sql` is a `ReadSql` query function or anything with a `query` method (a Warehouse). Statements return
 * timestamps as ISO text and JSON as jsonb, so no driver's type parsing changes an answer. Writes (state
 * reset) are not here: they belong to the load protocol (engine/load/).
 */

export {
  type FileBookmark,
  type PipelineOverview,
  type PipelineState,
  pipelineState,
  pipelinesOverview,
} from './pipelines.js';
export {
  allRejectReasons,
  type RejectFilter,
  type RejectsPage,
  readRejects,
  rejectReasons,
  rejectsLocation,
  rejectsPrefix,
} from './rejects.js';
export {
  type ChunkRecord,
  getRunDetail,
  type RunDetail,
  type RunEvent,
  type RunPhase,
  runPhases,
} from './run-detail.js';
export { getRun, listRuns, type RunCounts, type RunRecord } from './runs.js';
export { type ReadSource, type ReadSql, readSql } from './sql.js';
