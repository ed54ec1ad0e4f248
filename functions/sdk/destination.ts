import type * as z from 'zod';
import type { Row } from '../engine/types.js';
import type { CredentialResolver } from './source.js';

/** What a destination connector's write gets: validated rows of one chunk, in order. */
export interface WriteContext<C> {
  config: C;
  credential: CredentialResolver;
  runId: string;
  chunkId: string;
}

/**
 * A destination connector. The engine's own destination is the partitioned PostgreSQL warehouse
 * (exactly once through the run ledger); this interface is what other destinations implement so that
 * they are discovered and listed like sources. The run engine does not route to them yet.
 */
export interface DestinationConnector<C = unknown> {
  name: string;
  description: string;
  configSchema: z.ZodType<C>;
  /** Cheap connectivity check; throws with a readable cause. */
  check?(ctx: { config: C; credential: CredentialResolver }): Promise<void>;
  /** Writes one chunk's rows; must be idempotent per (runId, chunkId). Returns rows written. */
  write(rows: AsyncIterable<Row>, ctx: WriteContext<C>): Promise<number>;
}

/** Declares a destination connector; the identity function gives the config its type. */
export function defineDestination<C>(connector: DestinationConnector<C>): DestinationConnector<C> {
  return connector;
}
