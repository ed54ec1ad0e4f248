/** The connector SDK: everything a connector (built in or an npm package) imports. */
export type { ChunkDescriptor, Row, SourceRecord } from '../engine/types.js';
export { type DestinationConnector, defineDestination, type WriteContext } from './destination.js';
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
  recordBatches,
  type SourceConnector,
  type SourceContext,
  SourceError,
  type SourcePlan,
  type SourceUnit,
} from './source.js';
