import { processChunkBatch } from '../engine/run/process-chunks.js';
import { metrics } from './powertools.js';
import { makeStepHandler } from './step-handler.js';

/** Map item processor: one batch of chunks, each loaded exactly once. */
export const handler = makeStepHandler(async (event, deps) => {
  const out = await processChunkBatch(event, deps);
  for (const chunk of out.chunks) {
    metrics.addMetric('RowsRead', 'Count', chunk.counts.read);
    metrics.addMetric('RowsRejected', 'Count', chunk.counts.rejected);
    metrics.addMetric(chunk.status === 'loaded' ? 'ChunksLoaded' : 'ChunksAlreadyLoaded', 'Count', 1);
  }
  return out;
});
