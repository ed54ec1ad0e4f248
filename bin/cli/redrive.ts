// `sluice redrive <run>`: finish a failed or killed run from its missing chunks.
import { join } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { printDatabaseLine } from './database.js';
import { formatFailedRun } from './failure.js';
import { databaseOption, homeOption, positiveInt } from './options.js';

/**
 * `sluice redrive <run>`: finishes a failed or killed run from its missing chunks, reusing its staging.
 *
 * @example registerRedriveCommand(program);  // in bin/sluice.ts
 */
export function registerRedriveCommand(program: Command): Command {
  return program
    .command('redrive')
    .description(
      'finish a failed or killed run: load only its missing chunks (staging is reused), then commit it',
    )
    .argument('<run>', 'run id (see `sluice runs`)')
    .option(
      '--concurrency <n>',
      'chunks in flight at once (default: runtime.concurrency of the spec)',
      positiveInt,
    )
    .option('--json', 'print the summary as JSON on stdout')
    .option('--stage <stage>', 'redrive the run in this deployed AWS stage (with --pipeline)')
    .option('--pipeline <name>', 'the pipeline of the run (needed with --stage)')
    .addOption(homeOption())
    .addOption(databaseOption())
    .action(
      async (
        runId: string,
        opts: {
          concurrency?: number;
          json?: boolean;
          stage?: string;
          pipeline?: string;
          home: string;
          databaseUrl?: string;
        },
      ) => {
        if (opts.stage) {
          if (!opts.pipeline)
            throw new InvalidArgumentError('with --stage, name the pipeline: --pipeline <name>');
          const { redriveInStage } = await import('./stage.js');
          await redriveInStage(runId, opts.pipeline, opts.stage, opts);
          return;
        }
        const [{ redriveRunLocally }, { formatSummary, ProgressDisplay }] = await Promise.all([
          import('../../functions/local/redrive.js'),
          import('./progress.js'),
        ]);
        const display = new ProgressDisplay();
        const result = await redriveRunLocally({
          runId,
          home: opts.home,
          ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : {}),
          onDatabase: printDatabaseLine,
          ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
          onEvent: (e) => {
            if (e.type === 'chunk') display.chunkDone(e.chunkId, e.counts, e.status);
          },
        }).finally(() => display.stop());
        if (result.status === 'succeeded' && result.summary) {
          if (opts.json) process.stdout.write(`${JSON.stringify(result.summary, null, 2)}\n`);
          else process.stdout.write(`redrove run ${runId}\n${formatSummary(result.summary)}\n`);
          return;
        }
        if (opts.json) process.stdout.write(`${JSON.stringify({ ...result, runId }, null, 2)}\n`);
        process.stderr.write(
          `${formatFailedRun({ ...result, runId }, 'redrive of run', join(opts.home, 'logs', 'sluice.log'))}\n`,
        );
        process.exitCode = 1;
      },
    );
}
