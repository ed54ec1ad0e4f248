// `sluice new connector`: writes a connector folder and its contract test from template/ (repository tooling, so it lives with the CLI, not in the SDK).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { projectFile } from '../../functions/local/paths.js';
import { writeDiscoveredModule } from '../../functions/tooling/connector-discovery.js';

// Through projectFile: this code also runs bundled from dist/, where import.meta.url is not its folder.
const TEMPLATE_DIR = projectFile('bin/cli/template');
const CONNECTOR_NAME = /^[a-z][a-z0-9-]{0,39}$/;

export class ScaffoldError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScaffoldError';
  }
}

/**
 * `sluice new connector <name>`: writes a working source connector (functions/connectors/<name>/:
 * connector.ts, README.md), its contract test (test/unit/connectors/<name>.test.ts), and regenerates
 * the discovered connectors so the build registers it. Returns the files written, relative to root.
 */
export function scaffoldConnector(name: string, root: string): string[] {
  if (!CONNECTOR_NAME.test(name))
    throw new ScaffoldError(`connector name must be kebab-case (a-z, 0-9, -), got ${JSON.stringify(name)}`);
  const folder = join(root, 'functions', 'connectors', name);
  if (existsSync(folder)) throw new ScaffoldError(`functions/connectors/${name} already exists`);
  const files: [string, string][] = [
    [`functions/connectors/${name}/connector.ts`, 'connector.ts.template'],
    [`functions/connectors/${name}/README.md`, 'README.md.template'],
    [`test/unit/connectors/${name}.test.ts`, 'connector.test.ts.template'],
  ];
  for (const [target] of files) {
    if (existsSync(join(root, target))) throw new ScaffoldError(`${target} already exists`);
  }
  for (const [target, template] of files) {
    const text = readFileSync(join(TEMPLATE_DIR, template), 'utf8').replaceAll('__NAME__', name);
    mkdirSync(dirname(join(root, target)), { recursive: true });
    writeFileSync(join(root, target), text);
  }
  writeDiscoveredModule(root);
  return [...files.map(([target]) => target), 'functions/connectors/discovered.ts'];
}
