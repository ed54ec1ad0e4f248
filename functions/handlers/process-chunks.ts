import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { type ChunkResult, processChunkBatch } from '../engine/run/process-chunks.js';
import { parseHandlerEnv } from './env.js';
import { engineLogger, logger, metrics, tracer } from './powertools.js';
import { sharedDeps } from './runtime.js';

const env = parseHandlerEnv();

/** Map item processor: one batch of chunks, each loaded exactly once. */
export async function processChunks(event: unknown): Promise<{ chunks: ChunkResult[] }> {
  const out = await processChunkBatch(event, await sharedDeps(env, engineLogger));
  for (const chunk of out.chunks) {
    metrics.addMetric('RowsRead', 'Count', chunk.counts.read);
    metrics.addMetric('RowsRejected', 'Count', chunk.counts.rejected);
    metrics.addMetric(chunk.status === 'loaded' ? 'ChunksLoaded' : 'ChunksAlreadyLoaded', 'Count', 1);
  }
  return out;
}

export const handler = middy(processChunks)
  .use(injectLambdaContext(logger))
  .use(captureLambdaHandler(tracer))
  .use(logMetrics(metrics));
