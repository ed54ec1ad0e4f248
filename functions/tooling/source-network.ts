// Build-time: what network a pipeline's source needs in AWS (its connector's declaration), for synth's egress check.
import { getSourceConnector } from '../connectors/registry.js';
import type { SourceNetworkNeed } from '../engine/ports/source.js';
import type { PipelineSpec } from '../engine/spec/schema.js';

export type { SourceNetworkNeed };

/** The connector's need, and whether the connector declared it or it was assumed. */
export interface PipelineNetworkNeed extends SourceNetworkNeed {
  connector: string;
  /** False when the connector has no `network` declaration and `internet` on 443 was assumed. */
  declared: boolean;
}

/**
 * The network the pipeline's source connector needs, from its declaration and the spec's source config
 * (validated with the connector's own schema, so defaults such as a database's port apply).
 */
export function pipelineNetworkNeed(spec: PipelineSpec): PipelineNetworkNeed {
  const connector = getSourceConnector(spec.source.connector);
  if (!connector.network) {
    return { connector: connector.name, declared: false, access: 'internet', ports: [443] };
  }
  const config = connector.configSchema.parse(spec.source.config);
  return { connector: connector.name, declared: true, ...connector.network(config) };
}
