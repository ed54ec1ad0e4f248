/**
 * One Sluice run in its own process, so the bench can measure its peak RSS: the local runner end to
 * end (prepare, chunks, commit) on the real PostgreSQL. Prints one JSON line with timings and counts.
 * Usage: node --import tsx bench/sluice-child.ts '<json options>'
 */
import { runPipelineLocally } from '../functions/local/runner.js';

interface ChildOptions {
  specFile: string;
  home: string;
  databaseUrl: string;
  concurrency: number;
  lambdaWorker?: 'thread' | 'in-process';
}

const options = JSON.parse(process.argv[2] ?? '{}') as ChildOptions;
const started = performance.now();
let plannedAt = 0;
let lastChunkAt = 0;
let chunks = 0;
const result = await runPipelineLocally({
  specFile: options.specFile,
  home: options.home,
  databaseUrl: options.databaseUrl,
  concurrency: options.concurrency,
  ...(options.lambdaWorker ? { lambdaWorker: options.lambdaWorker } : {}),
  fullRefresh: true,
  onEvent: (event) => {
    if (event.type === 'planned') {
      plannedAt = performance.now();
      chunks = event.chunks;
    } else lastChunkAt = performance.now();
  },
});
const finished = performance.now();
process.stdout.write(
  `${JSON.stringify({
    status: result.status,
    error: result.error,
    summary: result.summary,
    chunks,
    seconds: (finished - started) / 1000,
    // Wall-clock times (ms since the epoch) of the chunk phase's ends, so the bench can line them up
    // with the server CPU it samples meanwhile.
    chunkPhase: { from: performance.timeOrigin + plannedAt, to: performance.timeOrigin + lastChunkAt },
    phases: {
      prepare: (plannedAt - started) / 1000,
      chunks: (lastChunkAt - plannedAt) / 1000,
      commit: (finished - lastChunkAt) / 1000,
    },
  })}\n`,
);
