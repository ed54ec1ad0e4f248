import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: bundling, the container context and the state machine file are found from here. */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The one state machine definition, shared with the local runner. */
export const ASL_FILE = join(REPO_ROOT, 'statemachines', 'pipeline.asl.json');

/** The lock file esbuild bundling resolves dependencies against. */
export const LOCK_FILE = join(REPO_ROOT, 'package-lock.json');

/** Lambda handlers, one file each under functions/handlers/, each exporting `handler`. */
export type HandlerName = 'prepare' | 'process-chunks' | 'commit' | 'fail' | 'start-run' | 'migrate';

export class MissingHandlerError extends Error {
  constructor(file: string) {
    super(
      `cannot bundle ${file}: the file does not exist (every Lambda handler lives in functions/handlers/<name>.ts and exports \`handler\`)`,
    );
    this.name = 'MissingHandlerError';
  }
}

/** Absolute path of a handler's source; fails at synth, naming the file, when it is missing. */
export function handlerEntry(name: HandlerName): string {
  const file = join(REPO_ROOT, 'functions', 'handlers', `${name}.ts`);
  if (!existsSync(file)) throw new MissingHandlerError(file);
  return file;
}
