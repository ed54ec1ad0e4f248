// The interfaces the engine owns and its adapters and connectors implement: import them from here.
export { type AnchoredHead, type AuditAnchor, AuditAnchorError } from './audit-anchor.js';
export type { ConnectorLookup } from './connectors.js';
export type { EngineLogger, RunEventSink } from './events.js';
export { SecretNotFoundError, type SecretStore } from './secrets.js';
export type {
  BackfillWindow,
  CredentialResolver,
  CursorState,
  DiscoveredColumn,
  DiscoveredStream,
  PlanContext,
  PlannedChunk,
  PreviousUnitVersion,
  ReadContext,
  SourceConnector,
  SourceContext,
  SourcePlan,
  SourceUnit,
} from './source.js';
export { quoteIdent, quoteQualified } from './sql.js';
export {
  type ByteRange,
  NotFoundError,
  ObjectChangedError,
  type ObjectInfo,
  type ReadOptions,
  type Storage,
} from './storage.js';
export {
  type QueryResult,
  type Warehouse,
  type WarehouseTx,
  WarehouseUnavailableError,
} from './warehouse.js';
