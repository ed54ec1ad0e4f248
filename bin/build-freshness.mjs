// Whether dist/ (written by bin/build.mjs) may run: it exists and no file it was built from changed since.
// Plain JavaScript, so bin/sluice.mjs can ask before any compiler is loaded.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * True when `<root>/dist/build.json` lists inputs none of which is newer than the build (or missing).
 *
 * @example if (isBuildFresh(root)) await import('../dist/sluice.mjs');
 */
export function isBuildFresh(root) {
  let build;
  try {
    build = JSON.parse(readFileSync(join(root, 'dist', 'build.json'), 'utf8'));
  } catch {
    return false;
  }
  if (!Array.isArray(build.inputs) || typeof build.builtAt !== 'number') return false;
  for (const input of build.inputs) {
    try {
      if (statSync(join(root, input)).mtimeMs > build.builtAt) return false;
    } catch {
      return false;
    }
  }
  return true;
}
