// `sluice state show|reset <pipeline>`: the bookmarks and cursor later runs start from, and forgetting them.
import { type Command, InvalidArgumentError } from 'commander';
import { withDatabase } from './database.js';
import { databaseOption, homeOption, jsonOption } from './options.js';

const PIPELINE = /^[a-z][a-z0-9-]{0,47}$/;

function pipelineName(value: string): string {
  if (!PIPELINE.test(value))
    throw new InvalidArgumentError(
      'must be a pipeline name (lowercase letters, digits and dashes, as in the spec)',
    );
  return value;
}

/**
 * Registers `state show` and `state reset`.
 *
 * @example registerStateCommands(program);  // in bin/sluice.ts
 */
export function registerStateCommands(program: Command): Command {
  const state = program
    .command('state')
    .description("a pipeline's state: the file bookmarks and cursor its next run starts from");
  state
    .command('show')
    .description('print the bookmarks (files already loaded), the cursor and the lock of a pipeline')
    .argument('<pipeline>', 'pipeline name', pipelineName)
    .addOption(jsonOption())
    .addOption(homeOption())
    .addOption(databaseOption('the PostgreSQL to read'))
    .action(async (pipeline: string, opts: { json?: boolean; home: string; databaseUrl?: string }) => {
      const { pipelineState } = await import('../../functions/engine/read-side/index.js');
      const s = await withDatabase(opts, (wh) => pipelineState(wh, pipeline));
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
        return;
      }
      const { table } = await import('./run-views.js');
      const out = [`pipeline   ${s.pipeline}`];
      out.push(
        `lock       ${s.lock ? `held by run ${s.lock.runId} (holder ${s.lock.holder}) since ${s.lock.acquiredAt}, lease until ${s.lock.expiresAt}` : 'free'}`,
      );
      out.push(
        `cursor     ${s.cursor ? `${JSON.stringify(s.cursor.state)} (run ${s.cursor.runId}, ${s.cursor.updatedAt})` : 'none'}`,
      );
      out.push(`bookmarks  ${s.bookmarks.length} file(s) loaded${s.bookmarks.length ? ':' : ''}`);
      if (s.bookmarks.length)
        out.push(
          table(
            ['  file', 'etag', 'bytes', 'run', 'loaded'],
            s.bookmarks.map((b) => [`  ${b.key}`, b.etag, String(b.size), b.runId, b.loadedAt]),
          ),
        );
      process.stdout.write(`${out.join('\n')}\n`);
    });
  state
    .command('reset')
    .description(
      'forget the bookmarks and cursor of a pipeline, so its next run loads everything again (the loaded rows stay; recorded in the audit trail)',
    )
    .argument('<pipeline>', 'pipeline name', pipelineName)
    .option('--yes', 'do not ask for confirmation')
    .addOption(jsonOption())
    .addOption(homeOption())
    .addOption(databaseOption('the PostgreSQL to change'))
    .action(
      async (
        pipeline: string,
        opts: { yes?: boolean; json?: boolean; home: string; databaseUrl?: string },
      ) => {
        const [{ pipelineState }, { resetPipelineState }] = await Promise.all([
          import('../../functions/engine/read-side/index.js'),
          import('../../functions/engine/load/index.js'),
        ]);
        const result = await withDatabase(opts, async (wh) => {
          if (!opts.yes) {
            if (!process.stdin.isTTY)
              throw new InvalidArgumentError(
                `state reset ${pipeline} asks for confirmation: run it in a terminal, or pass --yes`,
              );
            const s = await pipelineState(wh, pipeline);
            const { confirm } = await import('./prompt.js');
            const what = `${s.bookmarks.length} file bookmark(s)${s.cursor ? ' and the cursor' : ''}`;
            if (
              !(await confirm(
                `forget ${what} of pipeline "${pipeline}"? its next run loads everything again`,
              ))
            )
              return undefined;
          }
          return resetPipelineState(wh, pipeline);
        });
        if (!result) {
          process.stderr.write('nothing changed\n');
          process.exitCode = 2;
          return;
        }
        if (opts.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        else
          process.stdout.write(
            `reset pipeline ${pipeline}: ${result.bookmarks} file bookmark(s)${result.cursor ? ' and the cursor' : ''} removed; its next run loads everything again\n`,
          );
      },
    );
  return state;
}
