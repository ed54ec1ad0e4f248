// Starts the console for `sluice ui`: opens the database and staging, serves on 127.0.0.1, prints the URL.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { parse as parseYaml } from 'yaml';
import { FolderStorage } from '../../../functions/adapters/storage/folder.js';
import { ensureInternalSchema } from '../../../functions/engine/load/index.js';
import type { Storage } from '../../../functions/engine/ports/storage.js';
import type { ReadSource } from '../../../functions/engine/read-side/index.js';
import { createConsoleApp } from './server.js';

export interface UiOptions {
  home: string;
  databaseUrl?: string;
  /** 0 picks a free port. */
  port: number;
  open?: boolean;
  pipelinesDir?: string;
  /** Read a deployed stage's ledger (Data API) and rejects (S3) instead of the local database. */
  stage?: string;
}

export interface RunningConsole {
  url: string;
  /** What it reads, for the message that prints the URL. */
  reading: string;
  close(): Promise<void>;
}

/** Each pipeline's schedule as its spec in pipelines/ says today (a spec that does not parse says so). */
export function readSchedules(dir: string): Map<string, string> {
  const schedules = new Map<string, string>();
  if (!existsSync(dir)) return schedules;
  for (const file of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
    try {
      const spec = parseYaml(readFileSync(join(dir, file), 'utf8')) as {
        name?: unknown;
        triggers?: { schedule?: unknown; s3?: unknown };
      };
      if (typeof spec?.name !== 'string') continue;
      const schedule = spec.triggers?.schedule;
      schedules.set(
        spec.name,
        typeof schedule === 'string' ? schedule : spec.triggers?.s3 ? 'on upload' : 'none (manual)',
      );
    } catch (err) {
      schedules.set(file.replace(/\.ya?ml$/, ''), `${file} does not parse: ${(err as Error).message}`);
    }
  }
  return schedules;
}

export async function startConsole(opts: UiOptions): Promise<RunningConsole> {
  const source = opts.stage ? await stageSource(opts.stage) : await localSource(opts);
  const pipelinesDir = opts.pipelinesDir ?? 'pipelines';
  let port = opts.port;
  const app = createConsoleApp({
    db: source.db,
    staging: source.staging,
    schedules: async () => readSchedules(pipelinesDir),
    // A page from another site cannot reach the console through a rebound DNS name: only these hosts.
    allowedHosts: () => [`127.0.0.1:${port}`, `localhost:${port}`],
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: opts.port }, (info) => {
      port = info.port;
      resolve(s);
    });
    s.once('error', reject);
  });
  const url = `http://127.0.0.1:${port}/`;
  if (opts.open) {
    const opener =
      process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
    spawn(opener, [url], { stdio: 'ignore', detached: true })
      .on('error', (err) =>
        process.stderr.write(`sluice ui: could not open a browser (${err.message}); open ${url}\n`),
      )
      .unref();
  }
  return {
    url,
    reading: source.description,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await source.close();
    },
  };
}

interface ConsoleSource {
  db: ReadSource;
  staging: Storage;
  description: string;
  close(): Promise<void>;
}

/** The database every command reads (functions/local/database.ts: flag, DATABASE_URL, SLUICE_DATABASE_SECRET, PGlite). */
async function localSource(opts: UiOptions): Promise<ConsoleSource> {
  const [{ selectDatabase, openSelectedDatabase, describeDatabase }, { localSecretStore }] =
    await Promise.all([
      import('../../../functions/local/database.js'),
      import('../../../functions/local/environment.js'),
    ]);
  const selection = selectDatabase(opts);
  const wh = await openSelectedDatabase(selection, { secrets: await localSecretStore(opts.home), max: 4 });
  await ensureInternalSchema(wh);
  return {
    db: wh,
    staging: new FolderStorage(join(opts.home, 'staging')),
    description: describeDatabase(selection, wh),
    close: () => wh.close(),
  };
}

async function stageSource(stage: string): Promise<ConsoleSource> {
  const { openStageLedger } = await import('../stage-ledger.js');
  const ledger = await openStageLedger(stage);
  return { db: ledger.sql, staging: ledger.staging, description: ledger.description, close: async () => {} };
}
