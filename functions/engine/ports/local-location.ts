import { realpathSync } from 'node:fs';
import path from 'node:path';

/*
 * Where a spec's local `location` may point (part of the storage port): the rule `sluice validate` checks and the storage adapter
 * enforces when it opens a folder (storageFromLocation), so both refuse the same locations.
 */

/** The setting that widens where local `location`s may point; named in every refusal. */
export const ALLOWED_ROOTS_SETTING = 'SLUICE_ALLOWED_ROOTS';

/** A local location outside the spec's folder tree (when that is a root) and outside every allowed root. */
export class LocationNotAllowedError extends Error {
  constructor(
    readonly location: string,
    readonly resolved: string,
    /** The spec's folder when it is a root; undefined where a spec has no folder (runs in AWS). */
    readonly specFolder: string | undefined,
  ) {
    const roots = `(paths separated by "${path.delimiter}")`;
    super(
      specFolder === undefined
        ? `location ${JSON.stringify(location)} resolves to ${resolved}, outside every folder listed in ${ALLOWED_ROOTS_SETTING} ${roots}: ` +
            'a run from a published spec reads s3:// locations (a folder location is deployed as a folder of the landing bucket)'
        : `location ${JSON.stringify(location)} resolves to ${resolved}, outside the spec's folder ${specFolder}: ` +
            `a local location must be inside the spec's folder tree, or inside a folder listed in ${ALLOWED_ROOTS_SETTING} ${roots}`,
    );
    this.name = 'LocationNotAllowedError';
  }
}

/**
 * The folders listed in SLUICE_ALLOWED_ROOTS (separated by ":" on Linux and macOS), resolved against the
 * working directory. Empty when unset: local locations stay inside their spec's folder.
 */
export function allowedRootsFromEnv(
  value: string | undefined = process.env[ALLOWED_ROOTS_SETTING],
): string[] {
  return (value ?? '')
    .split(path.delimiter)
    .map((root) => root.trim())
    .filter(Boolean)
    .map((root) => path.resolve(root));
}

/**
 * Resolves a local location (a path relative to `baseDir`, or absolute) with symlinks followed, and
 * returns it when it lies inside `baseDir`'s tree or inside one of `allowedRoots`; else throws
 * LocationNotAllowedError. A location that does not exist yet resolves through its nearest existing
 * parent, so a missing folder is still refused or allowed by where it would be.
 *
 * @example
 * confineLocalLocation('data/orders', { baseDir: '/work/pipelines', allowedRoots: [] }); // '/work/pipelines/data/orders'
 * confineLocalLocation('/etc', { baseDir: '/work/pipelines', allowedRoots: [] }); // throws
 */
export function confineLocalLocation(
  location: string,
  opts: {
    baseDir: string;
    allowedRoots: readonly string[];
    /** False where baseDir is no spec's folder (a published spec runs with baseDir '/'). @default true */
    baseDirIsRoot?: boolean;
  },
): string {
  const specFolder =
    opts.baseDirIsRoot === false ? undefined : realpathOfPossiblyMissing(path.resolve(opts.baseDir));
  const resolved = realpathOfPossiblyMissing(path.resolve(opts.baseDir, location));
  const roots = opts.allowedRoots.map((root) => realpathOfPossiblyMissing(path.resolve(root)));
  if (specFolder !== undefined) roots.unshift(specFolder);
  if (roots.some((root) => isInside(resolved, root))) return resolved;
  throw new LocationNotAllowedError(location, resolved, specFolder);
}

function isInside(candidate: string, root: string): boolean {
  const relative = path.relative(root, candidate);
  return (
    relative === '' ||
    (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative))
  );
}

/** realpath of the longest existing prefix, plus the rest as written (already normalized by resolve). */
function realpathOfPossiblyMissing(absolute: string): string {
  const rest: string[] = [];
  let current = absolute;
  for (;;) {
    try {
      return path.join(realpathSync(current), ...rest.reverse());
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
      const parent = path.dirname(current);
      if (parent === current) return absolute;
      rest.push(path.basename(current));
      current = parent;
    }
  }
}
