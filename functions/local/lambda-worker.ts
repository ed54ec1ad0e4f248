import { parentPort, workerData } from 'node:worker_threads';
import { processChunkBatch } from '../engine/run/process-chunks.js';
import { createLocalDeps } from './environment.js';
import type { LambdaWorkerData, LambdaWorkerMessage } from './lambda-pool.js';
import './polyfills.js';

/** One warm chunk worker: local deps built once, then one chunk batch per message (see LambdaPool). */
const port = parentPort;
if (!port) throw new Error('lambda-worker runs only as a worker thread of LambdaPool');
const data = workerData as LambdaWorkerData;
const local = await createLocalDeps({
  databaseUrl: data.databaseUrl,
  ...(data.home ? { home: data.home } : {}),
  ...(data.allowedRoots ? { allowedRoots: data.allowedRoots } : {}),
});
const send = (message: LambdaWorkerMessage) => port.postMessage(message);

port.on('message', (message: { id: number; batch: unknown }) => {
  const { id, batch } = message;
  processChunkBatch(batch, { ...local.deps, onChunkDone: (progress) => send({ id, progress }) }).then(
    (result) => send({ id, result }),
    (err: unknown) =>
      send({
        id,
        error:
          err instanceof Error
            ? { name: err.name, message: err.message }
            : { name: 'Error', message: String(err) },
      }),
  );
});
