import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { registerAuditCommand } from './cli/audit.js';
import { parseBackfillWindow, registerConnectorCommands } from './cli/connectors.js';
import { exitOnUncaughtErrors, formatRunFailure, logStack } from './cli/failure.js';
import { databaseOption, homeOption, positiveInt } from './cli/options.js';
import { registerRedriveCommand } from './cli/redrive.js';

// Each command imports what it runs when it runs (`await import`), so `sluice --help` and a usage error
// load no engine, no database driver and no AWS SDK.

const program = new Command('sluice')
  .description(
    'Sluice: load files and databases into partitioned PostgreSQL, exactly once, locally or on AWS',
  )
  .showHelpAfterError()
  .configureOutput({ outputError: (str, write) => write(str) });

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
  .addOption(homeOption())
  .action(async (paths: string[], opts: { source?: boolean; home: string }) => {
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
        if (problems.length === 0) {
          process.stdout.write(`ok  ${file}\n`);
        } else {
          failed++;
          for (const p of problems) process.stdout.write(`${formatProblem(p)}\n`);
        }
      }
    } finally {
      await reader?.close();
    }
    if (failed) {
      process.stdout.write(`${failed} of ${files.length} spec(s) invalid\n`);
      process.exitCode = 1;
    }
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
  .action(
    async (
      file: string,
      opts: {
        fullRefresh?: boolean;
        backfill?: { from: string; to: string };
        home: string;
        databaseUrl?: string;
      },
    ) => {
      const loaded = await loadValidSpec(file);
      await checkOptions(loaded.spec, opts);
      const [
        { createLocalDeps },
        { ensureInternalSchema, loadedFiles, readCursor },
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
      });
      try {
        const wh = env.deps.warehouse;
        await ensureInternalSchema(wh);
        const seen = opts.fullRefresh ? new Set<string>() : await loadedFiles(wh, loaded.spec.name);
        const cursor = opts.fullRefresh ? undefined : (await readCursor(wh, loaded.spec.name))?.state;
        const plan = await planChunks(loaded.spec, {
          connectors: env.deps.connectors,
          openStorage: (location) => env.deps.openStorage(location, resolve(file, '..')),
          alreadyLoaded: (u) => seen.has(`${u.key}\u0000${u.etag}`),
          credential: credentialResolver(loaded.spec, env.deps.secrets),
          ...(cursor ? { cursor } : {}),
          ...(opts.backfill ? { backfill: opts.backfill } : {}),
        });
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
  .description('run a pipeline locally through the same state machine AWS runs (PGlite unless DATABASE_URL)')
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
      process.stderr.write(`${formatRunFailure(result, 'run', join(opts.home, 'logs', 'sluice.log'))}\n`);
      process.exitCode = 1;
    },
  );

program
  .command('runs')
  .description('run history from the run ledger')
  .argument('[pipeline]', 'only this pipeline')
  .option('--limit <n>', 'how many runs', positiveInt, 20)
  .option('--stage <stage>', 'executions of the pipeline in this deployed AWS stage')
  .addOption(homeOption())
  .addOption(databaseOption())
  .action(
    async (
      pipeline: string | undefined,
      opts: { limit: number; stage?: string; home: string; databaseUrl?: string },
    ) => {
      if (opts.stage) {
        if (!pipeline)
          throw new InvalidArgumentError(
            'with --stage, name the pipeline: sluice runs <pipeline> --stage <stage>',
          );
        const { listRunsInStage } = await import('./cli/stage.js');
        await listRunsInStage(pipeline, opts.stage, opts.limit);
        return;
      }
      const [{ openWarehouse }, { ensureInternalSchema, listRuns }] = await Promise.all([
        import('../functions/adapters/warehouse/index.js'),
        import('../functions/engine/load/index.js'),
      ]);
      const wh = await openWarehouse(
        opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : { pgliteDir: join(opts.home, 'pglite') },
      );
      try {
        await ensureInternalSchema(wh);
        const runs = await listRuns(wh, { ...(pipeline ? { pipeline } : {}), limit: opts.limit });
        if (runs.length === 0) {
          process.stdout.write('no runs yet\n');
          return;
        }
        const header = [
          'started',
          'pipeline',
          'run',
          'status',
          'read',
          'loaded',
          'rejected',
          'filtered',
          'seconds',
          'error',
        ];
        const rows = runs.map((r) => [
          new Date(r.startedAt).toISOString().replace('T', ' ').slice(0, 19),
          r.pipeline,
          r.runId,
          r.status,
          String(r.read ?? ''),
          String(r.loaded ?? ''),
          String(r.rejected ?? ''),
          String(r.filtered ?? ''),
          r.finishedAt ? ((Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000).toFixed(1) : '',
          (r.error ?? '').slice(0, 60),
        ]);
        const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
        const line = (cells: string[]) =>
          cells
            .map((c, i) => c.padEnd(widths[i]!))
            .join('  ')
            .trimEnd();
        process.stdout.write(`${[line(header), ...rows.map(line)].join('\n')}\n`);
      } finally {
        await wh.close();
      }
    },
  );

registerRedriveCommand(program);
registerAuditCommand(program);
registerConnectorCommands(program);

async function loadValidSpec(file: string) {
  const [{ SpecError }, { validateSpecFile }, { connectorRegistry }, { allowedRootsFromEnv }] =
    await Promise.all([
      import('../functions/engine/spec/parse.js'),
      import('../functions/engine/spec/validate.js'),
      import('../functions/connectors/registry.js'),
      import('../functions/engine/ports/local-location.js'),
    ]);
  const { loaded, problems } = await validateSpecFile(file, connectorRegistry, {
    allowedRoots: allowedRootsFromEnv(),
  });
  if (problems.length > 0 || !loaded) throw new SpecError(problems);
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
  // Spec errors are SpecError (functions/engine/spec/parse.ts): recognised by name, so a usage error
  // does not load the spec module just to ask.
  if (err instanceof Error && err.name === 'SpecError') {
    process.stderr.write(`invalid spec:\n${err.message}\n`);
    process.exitCode = 2;
    return;
  }
  const e = err as Error;
  logStack(logFile, 'command failed', err);
  process.stderr.write(
    `sluice: ${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e.message ?? String(err)}\n`,
  );
  process.exitCode = 1;
});
