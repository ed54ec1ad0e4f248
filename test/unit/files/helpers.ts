import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { FolderStorage } from '../../../functions/adapters/storage/folder.js';
import { type FilesSourceConfig, filesSourceConfig } from '../../../functions/connectors/files/config.js';
import { planFileChunks } from '../../../functions/connectors/files/plan.js';
import { readFileChunk } from '../../../functions/connectors/files/read.js';
import type { PlannedFiles } from '../../../functions/connectors/files/types.js';
import type { Storage } from '../../../functions/engine/ports/storage.js';
import type { SourceRecord } from '../../../functions/engine/types.js';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/files/', import.meta.url));
export const fixtures = new FolderStorage(FIXTURES);

/** A files source config as the spec parser would produce it. */
export function filesConfig(input: Record<string, unknown>): FilesSourceConfig {
  return filesSourceConfig.parse({ location: FIXTURES, ...input });
}

export function plan(
  config: FilesSourceConfig,
  targetBytes = 1 << 20,
  storage: Storage = fixtures,
  alreadyLoaded: (f: { key: string; etag: string }) => boolean = () => false,
): Promise<PlannedFiles> {
  return planFileChunks(storage, config, { targetBytes, alreadyLoaded });
}

/** Every record of every planned chunk, in plan order. */
export async function readPlanned(
  config: FilesSourceConfig,
  planned: PlannedFiles,
  storage: Storage = fixtures,
): Promise<SourceRecord[]> {
  const records: SourceRecord[] = [];
  for (const chunk of planned.chunks) {
    for await (const record of readFileChunk(storage, config, chunk.source)) records.push(record);
  }
  return records;
}

/** Plans with a generous target and reads everything. */
export async function readAllRecords(input: Record<string, unknown>): Promise<SourceRecord[]> {
  const config = filesConfig(input);
  return readPlanned(config, await plan(config));
}

/**
 * The same storage, but every read arrives in tiny pieces of random size (seeded), so tests cross
 * buffer boundaries everywhere: in a BOM, a CRLF, a quote pair, a multi-byte character.
 */
export function trickle(storage: Storage, maxPiece: number, seed = 1): Storage {
  let state = seed;
  const next = () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return 1 + (state % maxPiece);
  };
  async function* pieces(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const buf of source) {
      for (let i = 0; i < buf.length; ) {
        const n = next();
        yield buf.subarray(i, i + n);
        i += n;
      }
    }
  }
  return {
    url: storage.url,
    list: (prefix) => storage.list(prefix),
    head: (key) => storage.head(key),
    readBytes: (key, range) => storage.readBytes(key, range),
    write: (key, body) => storage.write(key, body),
    deletePrefix: (prefix) => storage.deletePrefix(prefix),
    read: async (key, range, options) => Readable.from(pieces(await storage.read(key, range, options))),
  };
}
