#!/usr/bin/env node
// Builds the CLI, the local chunk-worker thread and the local container entry into dist/ ahead of time
// (npm `prepare`, i.e. on every `npm install` / `npm ci`, and `npm run build`), so no command compiles
// TypeScript at start-up: through tsx every command paid ~1–3 s before doing anything (issue 15).
// bin/sluice.mjs runs dist/ only while it is fresh (no input newer than the build), else the sources
// through tsx, so an edited checkout never runs stale code.
//
// Pure-JavaScript packages are bundled in: resolving and loading their hundreds of files one by one was
// ~0.3 s of every command's start-up, and a no-op `npm start` went 1.56 → 1.33 s with them bundled
// (issue 15). What must stay a package is external (see EXTERNAL below). Code splitting keeps every
// `await import()` lazy, so `sluice --help` loads no engine.
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist');
const staging = join(root, `dist.tmp-${process.pid}`);

let build;
try {
  ({ build } = await import('esbuild'));
} catch {
  // An install without devDependencies: the CLI still works, from the sources through tsx.
  process.stdout.write('sluice: esbuild is not installed; the CLI will run from the TypeScript sources\n');
  process.exit(0);
}

/**
 * Loaded from node_modules at run time: PGlite finds its WASM and data files next to its own module;
 * pg-native is an optional native addon pg tries to require; DuckDB and esbuild are native; mysql2 (lazy,
 * ~2 MB of code pages) and the X-Ray SDK (dynamic requires) gain nothing bundled; the rest are
 * development tools the CLI imports only in tests or never.
 */
const EXTERNAL = [
  '@electric-sql/pglite',
  '@electric-sql/pglite/*',
  'pg-native',
  '@duckdb/*',
  'esbuild',
  'mysql2',
  'mysql2/*',
  'aws-xray-sdk-core',
  'playwright-core',
  'aws-cdk-lib',
  'aws-cdk-lib/*',
  'constructs',
  'cdk-nag',
  'tsx',
  'tsx/*',
];

const started = Date.now();
const result = await build({
  absWorkingDir: root,
  entryPoints: {
    sluice: 'bin/sluice.ts',
    'lambda-worker': 'functions/local/lambda-worker.ts',
    'container-entry': 'container/entry.ts',
  },
  outdir: staging,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  // Bundled CommonJS packages still call require(): give the ESM output one.
  banner: {
    js: "import { createRequire as __sluiceCreateRequire } from 'node:module'; const require = __sluiceCreateRequire(import.meta.url);",
  },
  // Tells the code it runs from dist/ (one level below the repository root), see functions/local/paths.ts.
  define: { __SLUICE_BUNDLED__: 'true' },
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
});

// Every project file the build read: bin/sluice.mjs compares their mtimes with the build's.
const inputs = Object.keys(result.metafile.inputs)
  .filter((f) => !f.includes('node_modules/'))
  .map((f) => relative(root, resolve(root, f)))
  .sort();
writeFileSync(join(staging, 'build.json'), `${JSON.stringify({ builtAt: started, inputs }, null, 1)}\n`);
// Swap the whole folder in, so a CLI started meanwhile sees the old build or the new one, never a mix.
rmSync(outdir, { recursive: true, force: true });
mkdirSync(dirname(outdir), { recursive: true });
renameSync(staging, outdir);
if (!process.argv.includes('--quiet')) {
  process.stdout.write(`sluice: built dist/ from ${inputs.length} files in ${Date.now() - started} ms\n`);
}
