import { Worker } from 'node:worker_threads';
import type { ChunkProgress } from '../engine/run/deps.js';
import type { ChunkResult } from '../engine/run/process-chunks.js';

/** What a pool worker is started with: enough to build the same local deps as the runner. */
export interface LambdaWorkerData {
  home?: string;
  databaseUrl: string;
  /** The runner's allowed roots for local locations (see LocalEnvironment.allowedRoots). */
  allowedRoots?: readonly string[];
}

export type LambdaWorkerMessage =
  | { id: number; progress: ChunkProgress }
  | { id: number; result: { chunks: ChunkResult[] } }
  | { id: number; error: { name: string; message: string } };

const BOOTSTRAP = new URL('./lambda-worker.mjs', import.meta.url);

/**
 * Chunk batches in worker threads, one batch per worker at a time, each worker warm across batches
 * like a Lambda container: the local chunk phase then uses more than one core. Needs a PostgreSQL URL
 * (each worker opens its own pool; PGlite belongs to one thread).
 */
export class LambdaPool {
  private readonly idle: Worker[] = [];
  private readonly all = new Set<Worker>();
  private nextId = 0;
  private closed = false;

  constructor(
    private readonly data: LambdaWorkerData,
    private readonly onProgress: (progress: ChunkProgress) => void,
  ) {}

  /** Runs processChunkBatch(batch) in a worker; rejects with the worker's error name and message. */
  async run(batch: unknown): Promise<{ chunks: ChunkResult[] }> {
    if (this.closed) throw new Error('the chunk worker pool is closed');
    const worker = this.idle.pop() ?? this.start();
    const id = this.nextId++;
    try {
      const result = await new Promise<{ chunks: ChunkResult[] }>((resolve, reject) => {
        const done = () => {
          worker.off('message', onMessage);
          worker.off('exit', onExit);
          worker.off('error', onError);
        };
        const onMessage = (message: LambdaWorkerMessage) => {
          if (message.id !== id) return;
          if ('progress' in message) return this.onProgress(message.progress);
          done();
          if ('result' in message) resolve(message.result);
          else reject(Object.assign(new Error(message.error.message), { name: message.error.name }));
        };
        const onExit = (code: number) => {
          done();
          reject(
            Object.assign(new Error(`chunk worker thread exited with ${code}`), {
              name: 'States.TaskFailed',
            }),
          );
        };
        const onError = (err: Error) => {
          done();
          reject(err);
        };
        worker.on('message', onMessage);
        worker.once('exit', onExit);
        worker.once('error', onError);
        worker.postMessage({ id, batch });
      });
      if (!this.closed) this.idle.push(worker);
      return result;
    } catch (err) {
      // A worker that failed may hold a broken connection or state: retire it.
      this.all.delete(worker);
      void worker.terminate();
      throw err;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.all].map((w) => w.terminate()));
    this.all.clear();
    this.idle.length = 0;
  }

  private start(): Worker {
    const worker = new Worker(BOOTSTRAP, { workerData: this.data, stdout: true });
    // Powertools writes its JSON logs to stdout; a chunk Lambda's logs go to CloudWatch, not the CLI.
    worker.stdout.resume();
    this.all.add(worker);
    return worker;
  }
}
