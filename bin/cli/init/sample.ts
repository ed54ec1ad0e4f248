// `sluice init`: reads a sample of a source through its own connector (discover, plan, read).

import type { DiscoveredStream, SourceConnector } from '../../../functions/engine/ports/source.js';
import type { Storage } from '../../../functions/engine/ports/storage.js';
import type { Row } from '../../../functions/engine/types.js';

/** Rows read to infer types: enough to see blanks and formats, few enough to stay quick. */
export const SAMPLE_ROWS = 10_000;

/** What a source sample says, before names and types are decided. */
export interface SourceSample {
  connector: string;
  config: Record<string, unknown>;
  credentials?: Record<string, string>;
  /** `3 CSV file(s) under data/sales` */
  described: string;
  /** Comment lines for the spec (a delimiter detected, a password to store). */
  notes: string[];
  /** Column names as a run sees them, in source order. */
  names: string[];
  /** Types and nullability the source declares (a footer, a catalog), by column name. */
  declared?: Map<string, { type: string; nullable: boolean }>;
  primaryKey?: string[];
  rows: Row[];
  /** Records the connector could not parse, with the first reason. */
  unparseable: { count: number; first?: string };
}

/** Everything a connector call needs, for init (no secrets store: a source that needs one says so). */
export interface SampleContext {
  openStorage(location: string): Storage;
  credential(name: string, options?: { optional: true }): Promise<string | undefined>;
}

/**
 * Plans the source as a first run would and reads up to SAMPLE_ROWS rows, chunk by chunk, with the
 * connector's own reader; also its discovered columns when it can discover them.
 */
export async function readSample(
  connector: SourceConnector<unknown>,
  rawConfig: Record<string, unknown>,
  ctx: SampleContext,
): Promise<{ discovered?: DiscoveredStream; rows: Row[]; unparseable: SourceSample['unparseable'] }> {
  const parsed = connector.configSchema.safeParse(rawConfig);
  if (!parsed.success) {
    throw new Error(
      `internal: init wrote a ${connector.name} config its schema refuses: ${parsed.error.message}`,
    );
  }
  const base = {
    config: parsed.data,
    openStorage: ctx.openStorage,
    credential: ctx.credential as Parameters<SourceConnector<unknown>['plan']>[0]['credential'],
  };
  const discovered = connector.discover ? (await connector.discover(base))[0] : undefined;
  const plan = await connector.plan({
    ...base,
    targetBytes: Number.POSITIVE_INFINITY,
    alreadyLoaded: () => false,
    parallelism: 1,
  });
  const rows: Row[] = [];
  const unparseable: SourceSample['unparseable'] = { count: 0 };
  let seq = 0;
  for (const chunk of plan.chunks) {
    const descriptor = {
      id: `sample-${seq}`,
      seq: seq++,
      bytes: chunk.bytes,
      route: 'lambda' as const,
      source: chunk.source,
    };
    for await (const record of connector.read(descriptor, base)) {
      if (record.kind === 'row') rows.push(record.row);
      else {
        unparseable.count++;
        unparseable.first ??= `${record.location}: ${record.reason}`;
      }
      if (rows.length >= SAMPLE_ROWS) break;
    }
    if (rows.length >= SAMPLE_ROWS) break;
  }
  const columns = plan.columns ?? discovered?.columns;
  return {
    ...(discovered || columns
      ? { discovered: { ...(discovered ?? { name: '' }), columns: columns ?? [] } }
      : {}),
    rows,
    unparseable,
  };
}
