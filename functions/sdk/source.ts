// The connector kit: defineSource (names every failure after its source) and flattenBatches; the contract's types live in engine/ports.
import type { SourceConnector } from '../engine/ports/source.js';
import type { SourceRecord } from '../engine/types.js';

/** The source connector contract (owned by the engine, which calls it): re-exported for connectors. */
export type * from '../engine/ports/source.js';

/** A source failed: the message names the source and the cause ("source postgres: …"). */
export class SourceError extends Error {
  constructor(message: string, options?: { cause?: unknown; source?: string }) {
    super(message, options);
    this.name = 'SourceError';
  }
}

/**
 * Declares a source connector. Errors thrown by its lifecycle methods are re-thrown as SourceError
 * whose message starts with `source <name>:`, so every failing run names the source and the cause.
 *
 * @example
 * export default defineSource({
 *   name: 'numbers', description: 'Counts from 1 to n', configSchema: z.strictObject({ n: z.number() }),
 *   async plan(ctx) { return { chunks: [{ bytes: 0, source: { lo: 1, hi: ctx.config.n } }], units: [], skipped: 0 }; },
 *   async *read(chunk) { ... yield { kind: 'row', row: { n }, location: `n=${n}` }; },
 * });
 */
export function defineSource<C>(connector: SourceConnector<C>): SourceConnector<C> {
  const name = connector.name;
  const wrapped: SourceConnector<C> = {
    ...connector,
    plan: (ctx) => connector.plan(ctx).catch((err: unknown) => rethrowNamed(name, err)),
    read: (chunk, ctx) => readNamed(name, connector.read(chunk, ctx)),
  };
  if (connector.readBatches) {
    const readBatches = connector.readBatches.bind(connector);
    wrapped.readBatches = (chunk, ctx) => readNamed(name, readBatches(chunk, ctx));
  }
  if (connector.check) {
    const check = connector.check.bind(connector);
    wrapped.check = (ctx) => check(ctx).catch((err: unknown) => rethrowNamed(name, err));
  }
  if (connector.acknowledge) {
    const acknowledge = connector.acknowledge.bind(connector);
    wrapped.acknowledge = (ctx, cursor) =>
      acknowledge(ctx, cursor).catch((err: unknown) => rethrowNamed(name, err));
  }
  if (connector.discover) {
    const discover = connector.discover.bind(connector);
    wrapped.discover = (ctx) => discover(ctx).catch((err: unknown) => rethrowNamed(name, err));
  }
  return wrapped;
}

const NAMED = Symbol('sluice.source-named');

function rethrowNamed(name: string, err: unknown): never {
  if (err instanceof Error && (err as { [NAMED]?: boolean })[NAMED]) throw err;
  const message = err instanceof Error ? err.message : String(err);
  const prefix = `source ${name}: `;
  const named = new SourceError(message.startsWith(prefix) ? message : `${prefix}${message}`, {
    cause: err,
  });
  // Spec and config problems keep their class name (the state machine does not retry them).
  if (err instanceof Error && err.name === 'SpecError') named.name = 'SpecError';
  (named as { [NAMED]?: boolean })[NAMED] = true;
  throw named;
}

async function* readNamed<T>(name: string, records: AsyncIterable<T>): AsyncGenerator<T> {
  try {
    yield* records;
  } catch (err) {
    rethrowNamed(name, err);
  }
}

/** `read` for a connector that implements `readBatches`: its batches, flattened. */
export async function* flattenBatches(
  batches: AsyncIterable<readonly SourceRecord[]>,
): AsyncGenerator<SourceRecord> {
  for await (const batch of batches) yield* batch;
}
