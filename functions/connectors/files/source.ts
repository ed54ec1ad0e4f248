// The files source connector (CSV or JSON Lines, optionally gzipped): built into the registry, so not named connector.ts (discovery would register it twice).
import { defineSource } from '../../sdk/source.js';
import { discoverFileColumns, plannedColumns } from './columns.js';
import { filesSourceConfig } from './config.js';
import { planFileChunks } from './plan.js';
import { readFileChunk, readFileChunkBatches } from './read.js';
import type { FileChunkSource } from './types.js';

/** Files on S3 or in a folder: CSV or JSON Lines, optionally gzipped. */
export const filesConnector = defineSource({
  name: 'files',
  description: 'CSV or JSON Lines files (optionally gzip) in a folder or under an s3:// prefix',
  configSchema: filesSourceConfig,
  cannotBackfill: () =>
    'files are loaded once each by bookmark (key + content hash), not by a cursor window; use --full-refresh to reload every file',
  async discover(ctx) {
    const storage = ctx.openStorage(ctx.config.location);
    const columns = await discoverFileColumns(storage, ctx.config);
    return [{ name: `${ctx.config.location}/${ctx.config.pattern}`, columns }];
  },
  async plan(ctx) {
    const storage = ctx.openStorage(ctx.config.location);
    const planned = await planFileChunks(storage, ctx.config, {
      targetBytes: ctx.targetBytes,
      alreadyLoaded: ctx.alreadyLoaded,
      ...(ctx.previousVersion ? { previousVersion: ctx.previousVersion.bind(ctx) } : {}),
    });
    const columns = await plannedColumns(storage, ctx.config, planned);
    return {
      chunks: planned.chunks.map((c) => ({ bytes: c.bytes, source: { ...c.source } })),
      units: planned.files,
      skipped: planned.skipped,
      ...(columns ? { columns } : {}),
    };
  },
  read(chunk, ctx) {
    const storage = ctx.openStorage(ctx.config.location);
    return readFileChunk(storage, ctx.config, chunk.source as unknown as FileChunkSource);
  },
  readBatches(chunk, ctx) {
    const storage = ctx.openStorage(ctx.config.location);
    return readFileChunkBatches(storage, ctx.config, chunk.source as unknown as FileChunkSource);
  },
});
