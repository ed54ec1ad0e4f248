import { filesSourceConfig } from '../engine/spec/schema.js';
import { defineSource, type SourceConnector } from '../sdk/source.js';
import { type FileChunkSource, planFileChunks, readFileChunk } from './files/index.js';

/** Files on S3 or in a folder: CSV or JSON Lines, optionally gzipped. */
const filesConnector = defineSource({
  name: 'files',
  description: 'CSV or JSON Lines files (optionally gzip) in a folder or under an s3:// prefix',
  configSchema: filesSourceConfig,
  async plan(ctx) {
    const storage = ctx.openStorage(ctx.config.location);
    const planned = await planFileChunks(storage, ctx.config, {
      targetBytes: ctx.targetBytes,
      alreadyLoaded: ctx.alreadyLoaded,
    });
    return {
      chunks: planned.chunks.map((c) => ({ bytes: c.bytes, source: { ...c.source } })),
      units: planned.files,
      skipped: planned.skipped,
    };
  },
  read(chunk, ctx) {
    const storage = ctx.openStorage(ctx.config.location);
    return readFileChunk(storage, ctx.config, chunk.source as unknown as FileChunkSource);
  },
});

const builtIn: SourceConnector<never>[] = [filesConnector as unknown as SourceConnector<never>];

export class UnknownConnectorError extends Error {
  constructor(name: string, known: string[]) {
    super(`unknown connector "${name}" (known: ${known.join(', ')})`);
    this.name = 'SpecError';
  }
}

/** Name → connector. Discovery of installed connector packages fills it too (see the connector SDK issue). */
export const sourceConnectors: ReadonlyMap<string, SourceConnector<unknown>> = new Map(
  builtIn.map((c) => [c.name, c as unknown as SourceConnector<unknown>]),
);

export function getSourceConnector(name: string): SourceConnector<unknown> {
  const connector = sourceConnectors.get(name);
  if (!connector) throw new UnknownConnectorError(name, [...sourceConnectors.keys()]);
  return connector;
}
