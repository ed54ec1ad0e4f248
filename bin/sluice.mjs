#!/usr/bin/env node
// The CLI entry. Runs the JavaScript that bin/build.mjs wrote to dist/ at install time when it is fresh
// (no compiler at start-up); otherwise (a checkout edited since, or no build) the TypeScript sources
// through tsx, so `npx sluice` works from a fresh clone and never runs stale code.
// SLUICE_FROM_SOURCE=1 forces the sources.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isBuildFresh } from './build-freshness.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

if (!process.env.SLUICE_FROM_SOURCE && isBuildFresh(root)) {
  await import('../dist/sluice.mjs');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./sluice.ts');
}
