// `sluice migrate <pipeline>`: print the DDL that makes a target table match its spec, or apply it with explicit --allow flags.
import { join } from 'node:path';
import type { Command } from 'commander';
import { databaseOption, homeOption } from './options.js';

/**
 * `sluice migrate <pipeline> --plan | --apply [--allow-drop-column] [--allow-narrow-type] [--allow-key-change]`.
 * `--plan` (the default) prints each change with the flag it needs and its DDL; `--apply` runs them in
 * one transaction, recorded in `sluice.table_versions` and the audit log, or changes nothing when a flag
 * is missing (exit 1, naming the changes).
 *
 * @example registerMigrateCommand(program, resolvePipeline);  // in bin/sluice.ts
 */
export function registerMigrateCommand(program: Command, resolvePipeline: (arg: string) => string): Command {
  return program
    .command('migrate')
    .description("show (--plan) or apply (--apply) the changes that make a pipeline's table match its spec")
    .argument('<pipeline>', 'pipeline name or spec path', resolvePipeline)
    .option('--plan', 'print the changes and their DDL (the default)')
    .option('--apply', 'apply them, in one recorded transaction')
    .option('--allow-drop-column', 'with --apply: drop columns the spec no longer has (their data is lost)')
    .option(
      '--allow-narrow-type',
      'with --apply: narrow or change types, add NOT NULL (fails on values that do not fit)',
    )
    .option('--allow-key-change', 'with --apply: change the primary key')
    .addOption(homeOption())
    .addOption(databaseOption('migrate the table in this PostgreSQL instead of the embedded PGlite'))
    .action(
      async (
        file: string,
        opts: {
          plan?: boolean;
          apply?: boolean;
          allowDropColumn?: boolean;
          allowNarrowType?: boolean;
          allowKeyChange?: boolean;
          home: string;
          databaseUrl?: string;
        },
      ) => {
        const [{ SpecError }, { validateSpecFile }, { connectorRegistry }, { openWarehouse }, load, roots] =
          await Promise.all([
            import('../../functions/engine/spec/parse.js'),
            import('../../functions/engine/spec/validate.js'),
            import('../../functions/connectors/registry.js'),
            import('../../functions/adapters/warehouse/index.js'),
            import('../../functions/engine/load/index.js'),
            import('../../functions/engine/ports/local-location.js'),
          ]);
        const { loaded, problems } = await validateSpecFile(file, connectorRegistry, {
          allowedRoots: roots.allowedRootsFromEnv(),
        });
        if (problems.length > 0 || !loaded) throw new SpecError(problems);
        const allow = new Set<import('../../functions/engine/load/index.js').AllowFlag>();
        if (opts.allowDropColumn) allow.add('allow-drop-column');
        if (opts.allowNarrowType) allow.add('allow-narrow-type');
        if (opts.allowKeyChange) allow.add('allow-key-change');
        const wh = await openWarehouse(
          opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : { pgliteDir: join(opts.home, 'pglite') },
        );
        try {
          await load.ensureInternalSchema(wh);
          const spec = loaded.spec;
          const plan = await load.migrateTargetTable(
            wh,
            spec.destination,
            { pipeline: spec.name, version: spec.version, hash: loaded.contentHash },
            { apply: opts.apply ?? false, allow },
          );
          process.stdout.write(load.formatPlan(plan));
          if (opts.apply && plan.changes.length > 0)
            process.stdout.write(
              `applied ${plan.changes.length} change(s) to ${plan.table}, recorded in sluice.table_versions\n`,
            );
        } finally {
          await wh.close();
        }
      },
    );
}
