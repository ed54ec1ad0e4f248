// The `sluice` CLI: its commands, exit codes (0 ok, 1 a run or data check failed, 2 usage or spec error) and last-resort error line.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { registerAuditCommand } from './cli/audit.js';
import { parseBackfillWindow, registerConnectorCommands } from './cli/connectors.js';
import { printDatabaseLine } from './cli/database.js';
import { exitOnUncaughtErrors, formatFailedRun, logStack } from './cli/failure.js';
import { registerMigrateCommand } from './cli/migrate.js';
import { databaseOption, homeOption, jsonOption, positiveInt } from './cli/options.js';
import { registerRedriveCommand } from './cli/redrive.js';
import { registerRunsCommands } from './cli/runs.js';
import { registerSecretsCommands } from './cli/secrets.js';
import { registerStateCommands } from './cli/state.js';
import { registerUiCommand } from './cli/ui/command.js';

// Each command imports what it runs when it runs (`await import`), so `sluice --help` and a usage error
// load no engine, no database driver and no AWS SDK.

// bin/sluice.ts and the built dist/sluice.mjs both sit one folder below package.json.
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** Usage errors commander already printed (through exitOverride), so the catch below does not repeat them. */
const printedByCommander = new WeakSet<object>();

const program = new Command('sluice')
  .description(
    'Sluice: load files and databases into partitioned PostgreSQL, exactly once, locally or on AWS',
  )
  .version(version, '-V, --version', 'print the version of Sluice')
  .showHelpAfterError()
  .configureOutput({ outputError: (str, write) => write(str) })
  // Set before any command is added, so every subcommand inherits it: usage errors exit 2, not 1.
  .exitOverride((err) => {
    printedByCommander.add(err);
    throw err;
  });

/** A pipeline argument is a spec path, or a name looked up as pipelines/<name>.yaml. */
export function resolvePipeline(arg: string): string {
  if (/\.(ya?ml|json)$/.test(arg)) return arg;
  for (const ext of ['yaml', 'yml']) {
    const candidate = join('pipelines', `${arg}.${ext}`);
    if (existsSync(candidate)) return candidate;
  }
  const known = existsSync('pipelines') ? readdirSync('pipelines').filter((f) => /\.ya?ml$/.test(f)) : [];
  throw new InvalidArgumentError(
    `no pipeline "${arg}": pipelines/${arg}.yaml does not exist (found: ${known.join(', ') || 'none'})`,
  );
}

program
  .command('validate')
  .description(
    'check specs: YAML, schema, connector config, column names; every problem with file, line and field',
  )
  .argument('[paths...]', 'spec files (default: pipelines/*.yaml)')
  .option(
    '--source',
    "also read each source's columns (header, sample, footer, catalog) and resolve against them",
  )
  .addOption(jsonOption())
  .addOption(homeOption())
  .action(async (paths: string[], opts: { source?: boolean; json?: boolean; home: string }) => {
    const files = paths.length
      ? paths
      : readdirSync('pipelines')
          .filter((f) => /\.ya?ml$/.test(f))
          .map((f) => join('pipelines', f));
    const [{ formatProblem }, { validateSpecFile }, { connectorRegistry }, { allowedRootsFromEnv }] =
      await Promise.all([
        import('../functions/engine/spec/parse.js'),
        import('../functions/engine/spec/validate.js'),
        import('../functions/connectors/registry.js'),
        import('../functions/engine/ports/local-location.js'),
      ]);
    const reader = opts.source
      ? (await import('./cli/source-columns.js')).sourceColumnReader(opts.home)
      : undefined;
    let failed = 0;
    const report: { file: string; ok: boolean; problems: unknown[] }[] = [];
    try {
      for (const file of files) {
        // One spec's failure, whatever it is, must not hide the others' problems.
        const { problems } = await validateSpecFile(file, connectorRegistry, {
          allowedRoots: allowedRootsFromEnv(),
          ...(reader ? { sourceColumns: reader.forSpec(file) } : {}),
        }).catch((err: unknown) => ({
          problems: [
            { file, line: 0, column: 0, path: '', message: err instanceof Error ? err.message : String(err) },
          ],
        }));
        report.push({ file, ok: problems.length === 0, problems });
        if (problems.length > 0) failed++;
        if (opts.json) continue;
        if (problems.length === 0) process.stdout.write(`ok  ${file}\n`);
        else for (const p of problems) process.stdout.write(`${formatProblem(p)}\n`);
      }
    } finally {
      await reader?.close();
    }
    if (opts.json) process.stdout.write(`${JSON.stringify({ ok: failed === 0, specs: report }, null, 2)}\n`);
    else if (failed) process.stdout.write(`${failed} of ${files.length} spec(s) invalid\n`);
    // A spec error is a usage error (2), not a failed run (1): scripts can tell them apart.
    if (failed) process.exitCode = 2;
  });

program
  .command('init')
  .description(
    'sample a source (CSV/JSON/Parquet files, a PostgreSQL or MySQL table) and write a commented spec for it',
  )
  .argument('<name>', 'pipeline name (kebab-case); the table gets the same name in snake_case')
  .requiredOption(
    '--from <source>',
    'a folder or file (csv, tsv, jsonl, json, parquet; .gz too), s3://bucket/prefix, postgres://user@host/db/table or mysql://user@host/db/table',
  )
  .option('--out <file>', 'where to write the spec (default: pipelines/<name>.yaml)')
  .option('--force', 'overwrite the spec if it exists')
  .action(async (name: string, opts: { from: string; out?: string; force?: boolean }) => {
    const { initPipeline } = await import('./cli/init/index.js');
    const result = await initPipeline({
      name,
      from: opts.from,
      ...(opts.out ? { out: opts.out } : {}),
      ...(opts.force ? { force: true } : {}),
    });
    process.stdout.write(`${result.summary.join('\n')}\n`);
  });

program
  .command('schema')
  .description('print the JSON Schema of a pipeline spec (for editors)')
  .action(async () => {
    const { pipelineJsonSchema } = await import('../functions/engine/spec/schema.js');
    process.stdout.write(`${JSON.stringify(pipelineJsonSchema(), null, 2)}\n`);
  });

program
  .command('plan')
  .description('show the chunks a run would load, without running it')
  .argument('<pipeline>', 'pipeline name or spec path', resolvePipeline)
  .option('--full-refresh', 'plan as if nothing had been loaded before')
  .addOption(homeOption())
  .addOption(databaseOption())
  .option('--backfill <from>..<to>', 'plan this cursor window of an incremental source', parseBackfillWindow)
  .addOption(jsonOption())
  .action(
    async (
      file: string,
      opts: {
        fullRefresh?: boolean;
        backfill?: { from: string; to: string };
        json?: boolean;
        home: string;
        databaseUrl?: string;
      },
    ) => {
      const loaded = await loadValidSpec(file);
      await checkOptions(loaded.spec, opts);
      const [
        { createLocalDeps },
        { bookmarkedFiles, ensureInternalSchema, loadedFiles, readCursor },
        { credentialResolver },
        { planChunks },
      ] = await Promise.all([
        import('../functions/local/environment.js'),
        import('../functions/engine/load/index.js'),
        import('../functions/engine/run/credentials.js'),
        import('../functions/engine/run/prepare.js'),
      ]);
      const env = await createLocalDeps({
        home: opts.home,
        ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : {}),
        onDatabase: printDatabaseLine,
      });
      try {
        const wh = env.deps.warehouse;
        await ensureInternalSchema(wh);
        const seen = opts.fullRefresh ? new Set<string>() : await loadedFiles(wh, loaded.spec.name);
        const cursor = opts.fullRefresh ? undefined : (await readCursor(wh, loaded.spec.name))?.state;
        // As a run plans: in append mode a changed file shows only what it gained, or is refused.
        const previous =
          opts.fullRefresh || loaded.spec.destination.mode !== 'append'
            ? undefined
            : await bookmarkedFiles(wh, loaded.spec.name);
        const plan = await planChunks(loaded.spec, {
          connectors: env.deps.connectors,
          openStorage: (location) => env.deps.openStorage(location, resolve(file, '..')),
          alreadyLoaded: (u) => seen.has(`${u.key}\u0000${u.etag}`),
          ...(previous ? { previousVersion: (key: string) => previous.get(key) } : {}),
          credential: credentialResolver(loaded.spec, env.deps.secrets),
          ...(cursor ? { cursor } : {}),
          ...(opts.backfill ? { backfill: opts.backfill } : {}),
          dryRun: true,
        });
        if (opts.json) {
          process.stdout.write(
            `${JSON.stringify({ pipeline: loaded.spec.name, chunks: plan.chunks, sourceUnits: plan.units.length, skippedSources: plan.skipped }, null, 2)}\n`,
          );
          return;
        }
        for (const c of plan.chunks) {
          const src = c.source as { key?: string; start?: number; end?: number };
          const where = src.key
            ? `${src.key} [${src.start ?? 0}, ${src.end ?? '?'})`
            : JSON.stringify(c.source);
          process.stdout.write(
            `${c.id}  ${c.route.padEnd(7)}  ${String(c.bytes).padStart(12)} B  ${where}\n`,
          );
        }
        process.stdout.write(
          `${plan.chunks.length} chunk(s) from ${plan.units.length} source unit(s); ${plan.skipped} already loaded and skipped\n`,
        );
      } finally {
        await env.close();
      }
    },
  );

program
  .command('run')
  .description(
    'run a pipeline locally through the same state machine AWS runs (into the database --database-url selects)',
  )
  .argument('<pipeline>', 'pipeline name or spec path', resolvePipeline)
  .option('--full-refresh', 'reload every source file and replace what earlier runs loaded (atomically)')
  .option(
    '--concurrency <n>',
    'chunks in flight at once (default: runtime.concurrency of the spec)',
    positiveInt,
  )
  .option(
    '--threads',
    'process chunks in worker threads, one per chunk in flight (faster on several cores, ~150 MB each; needs DATABASE_URL)',
  )
  .option('--json', 'print the summary as JSON on stdout')
  .option('--stage <stage>', 'run in this deployed AWS stage instead of locally, and follow it')
  .option(
    '--backfill <from>..<to>',
    'load this cursor window of an incremental source without moving the cursor (from inclusive, to exclusive)',
    parseBackfillWindow,
  )
  .addOption(homeOption())
  .addOption(databaseOption())
  .action(
    async (
      file: string,
      opts: {
        backfill?: { from: string; to: string };
        fullRefresh?: boolean;
        concurrency?: number;
        threads?: boolean;
        json?: boolean;
        stage?: string;
        home: string;
        databaseUrl?: string;
      },
    ) => {
      const loaded = await loadValidSpec(file);
      await checkOptions(loaded.spec, opts);
      if (opts.stage) {
        const { runInStage } = await import('./cli/stage.js');
        await runInStage(loaded.spec.name, opts.stage, opts);
        return;
      }
      const [{ runPipelineLocally }, { formatSummary, ProgressDisplay }] = await Promise.all([
        import('../functions/local/runner.js'),
        import('./cli/progress.js'),
      ]);
      const display = new ProgressDisplay();
      const result = await runPipelineLocally({
        specFile: file,
        home: opts.home,
        ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : {}),
        ...(opts.fullRefresh ? { fullRefresh: true } : {}),
        ...(opts.backfill ? { backfill: opts.backfill } : {}),
        ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
        ...(opts.threads ? { lambdaWorker: 'thread' as const } : {}),
        onDatabase: printDatabaseLine,
        onEvent: (e) => {
          if (e.type === 'planned') display.planned(e);
          else display.chunkDone(e.chunkId, e.counts, e.status);
        },
      }).finally(() => display.stop());
      if (result.status === 'succeeded' && result.summary) {
        if (opts.json) process.stdout.write(`${JSON.stringify(result.summary, null, 2)}\n`);
        else process.stdout.write(`${formatSummary(result.summary)}\n`);
        return;
      }
      if (opts.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      process.stderr.write(`${formatFailedRun(result, 'run', join(opts.home, 'logs', 'sluice.log'))}\n`);
      process.exitCode = 1;
    },
  );

registerRunsCommands(program);
registerUiCommand(program);
registerRedriveCommand(program);
registerMigrateCommand(program, resolvePipeline);
registerAuditCommand(program);
registerConnectorCommands(program);
registerStateCommands(program);
registerSecretsCommands(program);

async function loadValidSpec(file: string) {
  const [
    { SpecError },
    { validateSpecFile, validateSpecText },
    { connectorRegistry },
    { allowedRootsFromEnv },
    { rememberSpec },
  ] = await Promise.all([
    import('../functions/engine/spec/parse.js'),
    import('../functions/engine/spec/validate.js'),
    import('../functions/connectors/registry.js'),
    import('../functions/engine/ports/local-location.js'),
    import('../functions/local/spec-cache.js'),
  ]);
  const options = { allowedRoots: allowedRootsFromEnv() };
  // Read once here and handed on: the run that follows reuses this parse while the text is the same.
  const text = await readFile(file, 'utf8').catch(() => undefined);
  const { loaded, problems } =
    text === undefined
      ? await validateSpecFile(file, connectorRegistry, options)
      : await validateSpecText(text, file, connectorRegistry, options);
  if (problems.length > 0 || !loaded) throw new SpecError(problems);
  if (text !== undefined) rememberSpec(file, text, loaded);
  return loaded;
}

/** Refuses `--backfill` where the source has no cursor window (and with --full-refresh): exit code 2. */
async function checkOptions(
  spec: Awaited<ReturnType<typeof loadValidSpec>>['spec'],
  opts: { backfill?: { from: string; to: string }; fullRefresh?: boolean },
) {
  const [{ checkRunOptions }, { connectorRegistry }] = await Promise.all([
    import('../functions/engine/run/connector-config.js'),
    import('../functions/connectors/registry.js'),
  ]);
  checkRunOptions(spec, connectorRegistry, opts);
}

// Where the log of the command being run lives (its --home), for stacks kept off the terminal.
let logFile = join('.sluice', 'logs', 'sluice.log');
program.hook('preAction', (_program, command) => {
  const home = (command.opts() as { home?: unknown }).home;
  if (typeof home === 'string') logFile = join(home, 'logs', 'sluice.log');
});
exitOnUncaughtErrors(() => logFile);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) {
    // --help and --version end here too (exit code 0); everything else commander refuses is usage (2),
    // as is an InvalidArgumentError a command throws about its arguments (not printed yet).
    if (err.exitCode === 0) return;
    if (!printedByCommander.has(err)) process.stderr.write(`sluice: ${err.message}\n`);
    process.exitCode = 2;
    return;
  }
  // Spec errors are SpecError (functions/engine/spec/parse.ts): recognised by name, so a usage error
  // does not load the spec module just to ask.
  if (err instanceof Error && err.name === 'SpecError') {
    process.stderr.write(`invalid spec:\n${err.message}\n`);
    process.exitCode = 2;
    return;
  }
  // A connector config or run option the spec's source refuses (`--backfill` on files), or `migrate
  // --apply` without the --allow-… flag a change needs: a spec or usage error too, recognised by name for
  // the same reason.
  if (
    err instanceof Error &&
    (err.name === 'ConnectorConfigError' || err.name === 'MigrationNotAllowedError')
  ) {
    process.stderr.write(`sluice: ${err.message}\n`);
    process.exitCode = 2;
    return;
  }
  // One line without the error's class name; the stack goes to the log file.
  logStack(logFile, 'command failed', err);
  process.stderr.write(
    `sluice: ${err instanceof Error ? err.message : String(err)} (details in ${logFile})\n`,
  );
  process.exitCode = 1;
});
