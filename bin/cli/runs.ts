// `sluice runs [pipeline | run]` and `sluice rejects <run>`: the read side on a terminal or as JSON.
import { join } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { Storage } from '../../functions/engine/ports/storage.js';
import type { ReadSource } from '../../functions/engine/read-side/index.js';
import { withDatabase } from './database.js';
import { databaseOption, homeOption, jsonOption, positiveInt } from './options.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const readDatabaseOption = () => databaseOption('the PostgreSQL to read');

interface ReadOpts {
  home: string;
  databaseUrl?: string;
  json?: boolean;
}

async function localStaging(home: string) {
  const { FolderStorage } = await import('../../functions/adapters/storage/folder.js');
  return new FolderStorage(join(home, 'staging'));
}

/**
 * The ledger and staging a read command uses: the selected local database and `<home>/staging`, or with
 * `--stage` the deployed stage's ledger through the RDS Data API and its staging bucket (stage-ledger.ts).
 */
async function withLedger<T>(
  opts: ReadOpts & { stage?: string },
  fn: (sql: ReadSource, staging: Storage) => Promise<T>,
): Promise<T> {
  if (opts.stage) {
    const { openStageLedger } = await import('./stage-ledger.js');
    const ledger = await openStageLedger(opts.stage);
    process.stderr.write(`${ledger.description}\n`);
    return fn(ledger.sql, ledger.staging);
  }
  const staging = await localStaging(opts.home);
  return withDatabase(opts, (wh) => fn(wh, staging));
}

const stageOption = () =>
  new Option('--stage <stage>', "read this deployed AWS stage's run ledger (RDS Data API, reader login)");

/**
 * Registers `runs` and `rejects`.
 *
 * @example registerRunsCommands(program);  // in bin/sluice.ts
 */
export function registerRunsCommands(program: Command): void {
  program
    .command('runs')
    .description('run history from the run ledger; with a run id, that run in full')
    .argument(
      '[pipeline-or-run]',
      'only this pipeline, or one run (its id) with phases, chunks, reasons, events',
    )
    .option('--limit <n>', 'how many runs', positiveInt, 20)
    .addOption(
      new Option('--status <status>', 'only runs with this status').choices([
        'running',
        'succeeded',
        'failed',
        'abandoned',
      ]),
    )
    .addOption(stageOption())
    .addOption(jsonOption())
    .addOption(homeOption())
    .addOption(readDatabaseOption())
    .action(
      async (
        target: string | undefined,
        opts: ReadOpts & {
          limit: number;
          stage?: string;
          status?: 'running' | 'succeeded' | 'failed' | 'abandoned';
        },
      ) => {
        const [readSide, views] = await Promise.all([
          import('../../functions/engine/read-side/index.js'),
          import('./run-views.js'),
        ]);
        if (target && UUID.test(target)) {
          const detail = await withLedger(opts, (sql, staging) =>
            readSide.getRunDetail(sql, target, { staging }),
          );
          if (!detail) throw new InvalidArgumentError(`no run ${target} in this database (see: sluice runs)`);
          process.stdout.write(
            opts.json ? `${JSON.stringify(detail, null, 2)}\n` : `${views.formatRunDetail(detail)}\n`,
          );
          return;
        }
        const runs = await withLedger(opts, (sql) =>
          readSide.listRuns(sql, {
            ...(target ? { pipeline: target } : {}),
            ...(opts.status ? { status: opts.status } : {}),
            limit: opts.limit,
          }),
        );
        if (opts.json) process.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
        else if (runs.length > 0) process.stdout.write(`${views.formatRunList(runs)}\n`);
        else process.stdout.write(target || opts.status ? 'no runs match\n' : 'no runs yet\n');
      },
    );

  program
    .command('rejects')
    .description("a run's rejected rows with their file:line and reason, from its staging files")
    .argument('<run>', 'run id (see `sluice runs`)')
    .option('--column <name>', 'only rows refused for this column')
    .option('--reason <text>', 'only rows whose reason contains this text (any case)')
    .option('--limit <n>', 'at most this many rows', positiveInt, 100)
    .addOption(jsonOption())
    .addOption(
      new Option('--csv', 'print the rows as CSV (chunk, location, column, reason, row)').conflicts('json'),
    )
    .addOption(stageOption())
    .addOption(homeOption())
    .addOption(readDatabaseOption())
    .action(
      async (
        runId: string,
        opts: ReadOpts & { column?: string; reason?: string; limit: number; csv?: boolean; stage?: string },
      ) => {
        if (!UUID.test(runId))
          throw new InvalidArgumentError(`run must be a run id (a UUID), got "${runId}"`);
        const [readSide, views] = await Promise.all([
          import('../../functions/engine/read-side/index.js'),
          import('./run-views.js'),
        ]);
        // The run must exist in the selected database: rejects of another database's run are not shown.
        const { run, page } = await withLedger(opts, async (sql, staging) => {
          const found = await readSide.getRun(sql, runId);
          if (!found) throw new InvalidArgumentError(`no run ${runId} in this database (see: sluice runs)`);
          const rejects = await readSide.readRejects(staging, runId, {
            ...(opts.column !== undefined ? { column: opts.column } : {}),
            ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
            limit: opts.limit,
          });
          return { run: found, page: rejects };
        });
        // Another --home, or staging cleaned up: refuse to show "0 of 0" for a run that rejected rows.
        if (page.total < run.counts.rejected && run.status !== 'running')
          throw new Error(
            `run ${runId} rejected ${run.counts.rejected} row(s) but ${page.location} holds ${page.total}: is --home the one the run used?`,
          );
        if (opts.json) process.stdout.write(`${JSON.stringify(page, null, 2)}\n`);
        else if (opts.csv) process.stdout.write(views.rejectsCsv(page));
        else process.stdout.write(`${views.formatRejects(page)}\n`);
      },
    );
}
