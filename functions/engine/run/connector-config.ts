import type * as z from 'zod';
import type { PipelineSpec } from '../spec/schema.js';

/** A source config the connector's schema rejects (named SpecError: it is the spec that is wrong). */
export class ConnectorConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpecError';
  }
}

export function parseConnectorConfig<C>(schema: z.ZodType<C>, spec: PipelineSpec): C {
  const result = schema.safeParse(spec.source.config);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `source.config.${i.path.join('.')}: ${i.message}`);
  throw new ConnectorConfigError(
    `pipeline "${spec.name}", connector "${spec.source.connector}":\n  ${problems.join('\n  ')}`,
  );
}
