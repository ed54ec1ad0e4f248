import { resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';

/**
 * Parses `sluice run --backfill <from>..<to>`: from inclusive, to exclusive, as the source's cursor
 * values (timestamps, dates or numbers). Use as the option's parser.
 *
 * @example program.command('run').option('--backfill <from>..<to>', '…', parseBackfillWindow)
 */
export function parseBackfillWindow(text: string): { from: string; to: string } {
  const at = text.indexOf('..');
  const from = at === -1 ? '' : text.slice(0, at).trim();
  const to = at === -1 ? '' : text.slice(at + 2).trim();
  if (!from || !to) {
    throw new InvalidArgumentError(
      `expected <from>..<to>, e.g. 2026-01-01..2026-02-01, got ${JSON.stringify(text)}`,
    );
  }
  return { from, to };
}

/** `sluice connectors` and `sluice new connector <name>`; what they run is imported when they run. */
export function registerConnectorCommands(program: Command): void {
  program
    .command('connectors')
    .description('list the connectors this build registered (built in and sluice-connector-* packages)')
    .option('--json', 'print name, kind, origin, description and the JSON Schema of each config')
    .action(async (opts: { json?: boolean }) => {
      const { listConnectors } = await import('./connector-listing.js');
      const listed = listConnectors();
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(listed, null, 2)}\n`);
        return;
      }
      for (const c of listed) {
        process.stdout.write(`${c.name.padEnd(12)} ${c.kind.padEnd(11)} ${c.description}\n`);
        process.stdout.write(`${' '.repeat(25)}from ${c.origin}\n`);
        process.stdout.write(`${' '.repeat(25)}config: ${describeConfig(c.configSchema)}\n`);
      }
    });

  const create = program.command('new').description('create project files from a template');
  create
    .command('connector')
    .description('scaffold a working source connector, its README and its contract test')
    .argument('<name>', 'kebab-case connector name, e.g. acme-orders')
    .option('--root <dir>', 'project root', '.')
    .action(async (name: string, opts: { root: string }) => {
      const { ScaffoldError, scaffoldConnector } = await import('./scaffold.js');
      let written: string[];
      try {
        written = scaffoldConnector(name, resolve(opts.root));
      } catch (err) {
        if (!(err instanceof ScaffoldError)) throw err;
        process.stderr.write(`sluice new connector: ${err.message}\n`);
        process.exitCode = 2;
        return;
      }
      for (const file of written) process.stdout.write(`wrote ${file}\n`);
      process.stdout.write(`next: npx vitest run test/unit/connectors/${name}.test.ts\n`);
    });
}

/** `connection* (object), table (string), …`: the top-level fields, required ones starred. */
function describeConfig(schema: unknown): string {
  const s = schema as { properties?: Record<string, { type?: string }>; required?: string[] };
  if (!s.properties) return '(any)';
  const required = new Set(s.required ?? []);
  return Object.entries(s.properties)
    .map(([name, p]) => `${name}${required.has(name) ? '*' : ''}${p.type ? ` (${p.type})` : ''}`)
    .join(', ');
}
