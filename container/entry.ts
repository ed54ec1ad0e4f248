import { processChunkBatch } from '../functions/engine/run/process-chunks.js';
import { parseHandlerEnv } from '../functions/handlers/env.js';
import { engineLogger, logger } from '../functions/handlers/powertools.js';
import { depsFromEnv } from '../functions/handlers/runtime.js';

/**
 * The Fargate chunk worker: the same chunk processing as the Lambda, for chunks too big for it.
 * ECS passes the Map's batch in SLUICE_CHUNK_BATCH (container override from the state machine).
 * Exit code 0 means every chunk of the batch is in the ledger; anything else fails the task (and it is retried).
 */
async function main(): Promise<void> {
  const env = parseHandlerEnv();
  const batch = process.env.SLUICE_CHUNK_BATCH;
  if (!batch)
    throw new Error('SLUICE_CHUNK_BATCH is not set: the state machine passes the chunk batch in it');
  const deps = await depsFromEnv(env, engineLogger);
  try {
    const out = await processChunkBatch(JSON.parse(batch), deps);
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
