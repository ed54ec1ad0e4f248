import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { connectorBundleDefines, findConnectorModules } from '../functions/tooling/connector-discovery.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HANDLERS = ['prepare', 'process-chunks', 'commit', 'fail', 'start-run', 'migrate'];
/**
 * Every step of a pipeline's state machine is built with its own source connector only
 * (lib/constructs/pipeline-step-functions.ts passes sourceConnector to each), and so are these.
 */
const CONNECTOR_HANDLERS = new Set(['prepare', 'process-chunks', 'commit', 'fail']);

export interface BundleResult {
  handler: string;
  /** The source connector the bundle was built for (the pipeline's), for handlers that run one. */
  connector?: string;
  bytes: number;
  /** Median of three cold imports, each in a fresh node process. */
  initMs: number;
}

/**
 * Builds each handler with the production esbuild settings (those of lib/constructs/sluice-function.ts;
 * prepare and process-chunks once per source connector, as a pipeline using it gets them) and times a
 * cold import of the bundle in a fresh node process whose env points nowhere.
 */
export async function measureBundles(outDir: string): Promise<BundleResult[]> {
  mkdirSync(outDir, { recursive: true });
  const found = findConnectorModules(REPO);
  const connectors = ['files', ...found.builtIn];
  const results: BundleResult[] = [];
  for (const handler of HANDLERS) {
    const entry = join(REPO, 'functions', 'handlers', `${handler}.ts`);
    if (!existsSync(entry)) continue;
    for (const connector of CONNECTOR_HANDLERS.has(handler) ? connectors : [undefined]) {
      const outfile = join(outDir, `${handler}${connector ? `-${connector}` : ''}.mjs`);
      await build({
        entryPoints: [entry],
        outfile,
        bundle: true,
        format: 'esm',
        platform: 'node',
        target: 'node22',
        minify: true,
        mainFields: ['module', 'main'],
        banner: {
          js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
        },
        external: ['@electric-sql/pglite', 'pg-native'],
        ...(connector ? { define: connectorBundleDefines(found, connector) } : {}),
        logLevel: 'error',
      });
      const times: number[] = [];
      for (let i = 0; i < 3; i++) times.push(coldImportMs(outfile));
      times.sort((a, b) => a - b);
      results.push({
        handler,
        ...(connector ? { connector } : {}),
        bytes: statSync(outfile).size,
        initMs: times[1]!,
      });
    }
  }
  return results;
}

function coldImportMs(file: string): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(`file://${file}`)}); process.stdout.write(String(performance.now() - t));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: dirname(file),
    env: {
      PATH: process.env.PATH ?? '',
      AWS_REGION: 'us-east-1',
      SLUICE_STAGING_BUCKET: 'sluice-bench-staging',
      SLUICE_DATABASE_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:x',
      POWERTOOLS_SERVICE_NAME: 'sluice-bench',
    },
    encoding: 'utf8',
  });
  return Number(out);
}
