/** The Fargate worker's chunk: found in the run's item manifest in staging from the ids its task was given. */
import * as z from 'zod';
import type { Storage } from '../ports/storage.js';
import type { ChunkDescriptor } from '../types.js';
import { stagingLayout } from './layout.js';
import { readRunSpec } from './run-spec.js';

/**
 * What the state machine passes a Fargate task (container environment overrides): ids only. ECS allows
 * 8,192 characters of overrides in all, so the chunk descriptor itself (a CSV header can be kilobytes)
 * stays in staging, where Prepare wrote it.
 */
export const chunkTaskIdsSchema = z.object({
  pipeline: z.string().min(1),
  runId: z.string().uuid(),
  chunkId: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'must be a safe chunk id'),
});
export type ChunkTaskIds = z.infer<typeof chunkTaskIdsSchema>;

/** The ids as the container's environment names them (SLUICE_PIPELINE, SLUICE_RUN_ID, SLUICE_CHUNK_ID). */
export function chunkTaskIdsFromEnv(env: Record<string, string | undefined>): ChunkTaskIds {
  const parsed = chunkTaskIdsSchema.safeParse({
    pipeline: env.SLUICE_PIPELINE,
    runId: env.SLUICE_RUN_ID,
    chunkId: env.SLUICE_CHUNK_ID,
  });
  if (!parsed.success) {
    const names: Record<string, string> = {
      pipeline: 'SLUICE_PIPELINE',
      runId: 'SLUICE_RUN_ID',
      chunkId: 'SLUICE_CHUNK_ID',
    };
    const problems = parsed.error.issues.map((i) => {
      const key = String(i.path[0]);
      return `${names[key] ?? key} ${env[names[key] ?? ''] === undefined ? 'is not set' : i.message}`;
    });
    throw new ChunkNotInStagingError(
      `the chunk worker's task overrides are wrong: ${problems.join('; ')} (the state machine passes the pipeline, run id and chunk id)`,
    );
  }
  return parsed.data;
}

/**
 * The Map batch (ItemBatcher shape) for one chunk of a run, read from the run's Fargate item manifest.
 * Refuses a chunk that is not in the manifest, or a run of another pipeline, rather than guess.
 */
export async function chunkBatchFromStaging(
  staging: Storage,
  ids: ChunkTaskIds,
): Promise<{ Items: ChunkDescriptor[]; BatchInput: { runId: string } }> {
  const runSpec = await readRunSpec(staging, ids.runId);
  if (runSpec.spec.name !== ids.pipeline)
    throw new ChunkNotInStagingError(
      `run ${ids.runId} belongs to pipeline "${runSpec.spec.name}", not "${ids.pipeline}"`,
    );
  const key = stagingLayout.fargateItems(ids.runId);
  const items = JSON.parse((await staging.readBytes(key)).toString('utf8')) as ChunkDescriptor[];
  const chunk = items.find((c) => c.id === ids.chunkId);
  if (!chunk)
    throw new ChunkNotInStagingError(
      `chunk ${ids.chunkId} is not in ${key} (${items.length} Fargate chunks planned for run ${ids.runId})`,
    );
  return { Items: [chunk], BatchInput: { runId: ids.runId } };
}

export class ChunkNotInStagingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChunkNotInStagingError';
  }
}
