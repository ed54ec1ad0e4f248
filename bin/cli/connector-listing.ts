import * as z from 'zod';
import { registeredConnectors } from '../../functions/connectors/registry.js';

/** One registered connector as `sluice connectors` shows it. */
export interface ConnectorListing {
  name: string;
  kind: 'source' | 'destination';
  origin: string;
  description: string;
  /** JSON Schema of its config (input side: what a spec may write). */
  configSchema: unknown;
}

/** Every connector this build registered, with the JSON Schema of its config. */
export function listConnectors(): ConnectorListing[] {
  return registeredConnectors.map((r) => ({
    name: r.connector.name,
    kind: r.kind,
    origin: r.origin,
    description: r.connector.description,
    configSchema: z.toJSONSchema(r.connector.configSchema as z.ZodType, {
      io: 'input',
      unrepresentable: 'any',
    }),
  }));
}
