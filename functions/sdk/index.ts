/** The connector SDK: everything a connector (built in or an npm package) imports. */
export type { ObjectInfo, Storage } from '../engine/ports/storage.js';
export type { ChunkDescriptor, Row, SourceRecord } from '../engine/types.js';
export { type DestinationConnector, defineDestination, type WriteContext } from './destination.js';
export { globToRegExp, literalPrefix } from './glob.js';
export { RecordColumns } from './record-columns.js';
export {
  type BackfillWindow,
  type CredentialResolver,
  type CursorState,
  type DiscoveredColumn,
  type DiscoveredStream,
  defineSource,
  flattenBatches,
  type PlanContext,
  type PlannedChunk,
  type ReadContext,
  type SourceConnector,
  type SourceContext,
  SourceError,
  type SourcePlan,
  type SourceUnit,
} from './source.js';
