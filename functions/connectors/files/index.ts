export { globToRegExp, literalPrefix } from '../../sdk/glob.js';
export { type FilesSourceConfig, filesSourceConfig } from './config.js';
export { MAX_RECORD_BYTES } from './csv-dialect.js';
export { SourceError } from './errors.js';
export { GZIP_SIZE_FACTOR, type PlanFileChunksOptions, planFileChunks } from './plan.js';
export { readFileChunk, readFileChunkBatches } from './read.js';
export { filesConnector } from './source.js';
export { type FileChunkSource, fileChunkSourceSchema, type PlannedFile, type PlannedFiles } from './types.js';
