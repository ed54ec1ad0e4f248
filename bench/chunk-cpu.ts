/**
 * `npm run bench:cpu`: the chunk pipeline's JavaScript alone — read → parse → transform → validate →
 * encode into staged buffers — over the bench's generated CSV as one chunk, with no database. Prints
 * seconds and µs per row, wall and the process's CPU time (which a busy host moves less): the numbers to
 * watch when working on the per-row path (the full bench mixes in PostgreSQL and scheduling).
 * `--read-only` stops after parsing.
 *
 *   npm run bench:cpu -- --rows 1e6 [--read-only]
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FolderStorage } from '../functions/adapters/storage/folder.js';
import { getSourceConnector } from '../functions/connectors/registry.js';
import { StagedBuffer } from '../functions/engine/run/process-chunks.js';
import { recordBatches } from '../functions/engine/run/record-batches.js';
import { parseSpec } from '../functions/engine/spec/load.js';
import { compileTransforms } from '../functions/engine/transforms/index.js';
import type { ChunkDescriptor } from '../functions/engine/types.js';
import { compileRowValidator, encodeCopyCsvFields } from '../functions/engine/validate/index.js';
import type { CredentialResolver } from '../functions/sdk/source.js';
import { generateBenchData } from './generate.js';
import { writeSpec } from './loaders.js';
import { parseBenchArgs } from './options.js';

const argv = process.argv.slice(2);
const rowsArg = argv[argv.indexOf('--rows') + 1];
const rows = argv.includes('--rows') ? Math.round(Number(rowsArg)) : 1_000_000;
if (!(rows > 0)) throw new Error(`--rows: "${rowsArg}" is not a positive number`);
const readOnly = argv.includes('--read-only');

const data = generateBenchData(join(dirname(fileURLToPath(import.meta.url)), 'data', `rows-${rows}`), rows);
const dir = dirname(data.rawFile);
const connector = getSourceConnector('files');
const storage = new FolderStorage(dir);
const size = statSync(data.rawFile).size;
const headerLine = readFileSync(data.rawFile).subarray(0, 4096).toString('utf8').split('\n')[0]!;
const etag = (await storage.head('orders.csv'))!.etag;
const chunk: ChunkDescriptor = {
  id: 'chunk-00000',
  seq: 0,
  bytes: size,
  route: 'lambda',
  source: {
    key: 'orders.csv',
    etag,
    size,
    start: Buffer.byteLength(headerLine) + 1,
    end: size,
    compression: 'none',
    format: 'csv',
    header: headerLine.split(','),
    firstLine: 2,
  },
};
// The bench's own spec (append), so the transforms and columns are exactly what `npm run bench` loads.
const options = parseBenchArgs([]);
const { spec } = parseSpec(readFileSync(writeSpec(data, 'append', 'orders_append', options, 1), 'utf8'));
const transforms = spec.transforms;
const columns = spec.destination.columns;
const transform = compileTransforms(transforms, { hashKeys: {} });
const validate = compileRowValidator(columns);
const config = connector.configSchema.parse(spec.source.config);
const staged = new StagedBuffer();

const started = performance.now();
const cpuBefore = process.cpuUsage();
let read = 0;
let kept = 0;
let bytes = 0;
const ctx = { config, openStorage: () => storage, credential: (async () => '') as CredentialResolver };
for await (const records of recordBatches(connector, chunk, ctx)) {
  for (const record of records) {
    read++;
    if (readOnly || record.kind !== 'row') continue;
    const outcome = transform(record.row);
    if (outcome.kind !== 'row') continue;
    const valid = validate(outcome.row);
    if (!valid.ok) continue;
    kept++;
    if (staged.add(`${encodeCopyCsvFields(valid.values)},0,${kept}\n`)) bytes += staged.take().length;
  }
}
bytes += staged.take().length;
const seconds = (performance.now() - started) / 1000;
// CPU time of the process (user + system, GC threads included) moves less than wall time on a busy host.
const cpu = process.cpuUsage(cpuBefore);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
process.stdout.write(
  `${readOnly ? 'read + parse' : 'read → parse → transform → validate → stage'}: ${read.toLocaleString('en-US')} records, ` +
    `${kept.toLocaleString('en-US')} staged (${(bytes / 2 ** 20).toFixed(0)} MiB) in ${seconds.toFixed(2)} s = ` +
    `${((seconds * 1e6) / read).toFixed(2)} µs per row (CPU ${cpuSeconds.toFixed(2)} s = ${((cpuSeconds * 1e6) / read).toFixed(2)} µs per row)\n`,
);
