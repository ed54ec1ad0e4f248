/** The Fargate chunk worker run locally: the container's entry as a child process, with the environment ECS would give it. */
import { delimiter } from 'node:path';
import type { ChunkProgress, EngineDeps, EngineLogger } from '../engine/run/deps.js';
import { runChild } from './child-process.js';
import { containerEntryCommand } from './paths.js';

/** Runs the Fargate container's entry command as a child process, with the environment ECS would give it. */
export async function runWorkerProcess(
  overrides: Record<string, string>,
  stagingDir: string,
  databaseUrl: string,
  deps: EngineDeps,
  logger: EngineLogger,
  allowedRoots: readonly string[] | undefined,
): Promise<void> {
  const {
    code,
    stdout,
    stderrTail: stderr,
  } = await runChild(process.execPath, containerEntryCommand().args, {
    env: {
      ...process.env,
      ...overrides,
      SLUICE_STAGING_DIR: stagingDir,
      DATABASE_URL: databaseUrl,
      SLUICE_WORKER_REPORT: '1',
      ...(allowedRoots ? { SLUICE_ALLOWED_ROOTS: allowedRoots.join(delimiter) } : {}),
    },
  });
  if (code !== 0) {
    logger.error('chunk worker failed', { code, stderr });
    const err = new Error(
      `chunk worker exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`,
    );
    err.name = 'States.TaskFailed';
    throw err;
  }
  const report = stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{"chunks"'));
  if (report) {
    const runId = overrides.SLUICE_RUN_ID ?? '';
    for (const c of (
      JSON.parse(report) as {
        chunks: { id: string; status: 'loaded' | 'already-loaded'; counts: ChunkProgress['counts'] }[];
      }
    ).chunks) {
      deps.onChunkDone?.({ runId, chunkId: c.id, status: c.status, counts: c.counts, bytes: 0 });
    }
  }
}
