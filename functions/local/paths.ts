import { fileURLToPath } from 'node:url';

// esbuild defines this as `true` in the ahead-of-time build (bin/build.mjs); undefined through tsx.
declare const __SLUICE_BUNDLED__: boolean | undefined;

/** True when this code runs from dist/ (bin/build.mjs), false when it runs from the sources through tsx. */
export const RUNS_FROM_BUILD = typeof __SLUICE_BUNDLED__ !== 'undefined' && __SLUICE_BUNDLED__;

/** A file of the repository: dist/ is one folder below its root, this file two (functions/local/). */
export function projectFile(path: string): string {
  return fileURLToPath(new URL(`${RUNS_FROM_BUILD ? '../' : '../../'}${path}`, import.meta.url));
}

/**
 * How to start the container entry as a child process: the built file next to the CLI's own build, or
 * the TypeScript source through tsx.
 */
export function containerEntryCommand(): { args: string[] } {
  return RUNS_FROM_BUILD
    ? { args: [fileURLToPath(new URL('./container-entry.mjs', import.meta.url))] }
    : { args: ['--import', 'tsx', projectFile('container/entry.ts')] };
}
