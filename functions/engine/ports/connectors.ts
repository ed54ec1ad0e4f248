// The connector lookup: how the engine finds a source connector by name (the registry implements it).
import type { SourceConnector } from './source.js';

/** The source connectors a build knows; `functions/connectors/registry.ts` provides the real one. */
export interface ConnectorLookup {
  /** The source connector named so; throws an error (named SpecError) listing the known names otherwise. */
  getSource(name: string): SourceConnector<unknown>;
  /** Name → source connector, every one this build knows. */
  sources(): ReadonlyMap<string, SourceConnector<unknown>>;
}
