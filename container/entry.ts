import { chunkBatchFromStaging, chunkTaskIdsFromEnv } from '../functions/engine/run/chunk-from-staging.js';
import { processChunkBatch } from '../functions/engine/run/process-chunks.js';
import { parseHandlerEnv } from '../functions/handlers/env.js';
import { engineLogger, logger } from '../functions/handlers/powertools.js';
import { depsFromEnv } from '../functions/handlers/runtime.js';

/**
 * The Fargate chunk worker: the same chunk processing as the Lambda, for chunks too big for it.
 * ECS passes ids only (SLUICE_PIPELINE, SLUICE_RUN_ID, SLUICE_CHUNK_ID, container overrides from the state
 * machine: ECS allows 8 KB of them); the chunk's descriptor is read from the run's manifest in staging.
 * Exit code 0 means every chunk of the batch is in the ledger; anything else fails the task (and it is retried).
 */
async function main(): Promise<void> {
  const env = parseHandlerEnv();
  const ids = chunkTaskIdsFromEnv(process.env);
  const deps = await depsFromEnv(env, engineLogger);
  try {
    const out = await processChunkBatch(await chunkBatchFromStaging(deps.staging, ids), deps);
    if (process.env.SLUICE_WORKER_REPORT) process.stdout.write(`${JSON.stringify(out)}\n`);
  } finally {
    await deps.warehouse.close();
  }
}

main().catch((err: unknown) => {
  logger.error('chunk worker failed', { error: err instanceof Error ? err.message : String(err) });
  process.stderr.write(`${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}\n`);
  process.exit(1);
});
