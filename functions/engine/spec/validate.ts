import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConnectorLookup } from '../ports/connectors.js';
import { confineLocalLocation, LocationNotAllowedError } from '../ports/local-location.js';
import type { DiscoveredColumn } from '../ports/source.js';
import { compileTransforms, secretsNeededBy, TransformConfigError } from '../transforms/index.js';
import { compileRowValidator } from '../validate/index.js';
import { parseSpec, yamlLocator } from './load.js';
import { changeCaptureProblem } from './load-modes.js';
import { describeIssue, issuePath, type LoadedSpec, SpecError, type SpecProblem } from './parse.js';
import { resolveColumns, schemaFrozenMessage } from './resolve-columns.js';

export interface ValidateOptions {
  /** Folders a local `location` may point into besides the spec's folder (the CLI passes SLUICE_ALLOWED_ROOTS). @default - none */
  allowedRoots?: readonly string[];
  /**
   * Reads the source's columns (`sluice validate --source`): every column name is then resolved
   * against the real source. Without it, validation is offline and resolves what the spec alone says.
   */
  sourceColumns?(loaded: LoadedSpec): Promise<readonly DiscoveredColumn[] | undefined>;
}

/**
 * Everything `sluice validate` checks, with file, line and field path for each problem: the YAML, the
 * spec schema, the connector's own config schema (looked up in `connectors`), references between
 * sections, and the column names (against the source's columns with `sourceColumns`, else what the
 * spec alone says).
 */
export async function validateSpecFile(
  file: string,
  connectors: ConnectorLookup,
  options: ValidateOptions = {},
): Promise<{ loaded?: LoadedSpec; problems: SpecProblem[] }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      problems: [
        {
          file,
          line: 0,
          column: 0,
          path: '',
          message: code === 'ENOENT' ? 'spec file not found' : String(err),
        },
      ],
    };
  }
  return validateSpecText(text, file, connectors, options);
}

/** validateSpecFile on text already read from `file` (the CLI keeps the text to reuse the parse). */
export async function validateSpecText(
  text: string,
  file: string,
  connectors: ConnectorLookup,
  options: ValidateOptions = {},
): Promise<{ loaded?: LoadedSpec; problems: SpecProblem[] }> {
  let loaded: LoadedSpec;
  try {
    loaded = parseSpec(text, file);
  } catch (err) {
    if (err instanceof SpecError) return { problems: err.problems };
    throw err;
  }
  const problems: SpecProblem[] = [];
  const locate = yamlLocator(text);
  const at = (path: (string | number)[], message: string) =>
    problems.push({ file, ...locate(path), path: path.join('.'), message });

  const { spec } = loaded;
  const sourceConnectors = connectors.sources();
  if (!sourceConnectors.has(spec.source.connector)) {
    at(
      ['source', 'connector'],
      `unknown connector "${spec.source.connector}" (known: ${[...sourceConnectors.keys()].join(', ')})`,
    );
  } else {
    const result = connectors.getSource(spec.source.connector).configSchema.safeParse(spec.source.config);
    if (!result.success) {
      for (const issue of result.error.issues)
        at(['source', 'config', ...issuePath(issue)], describeIssue(issue));
    } else if (connectors.getSource(spec.source.connector).capturesChanges?.(result.data)) {
      const problem = changeCaptureProblem(spec.destination);
      if (problem) at(problem.path, problem.message);
    }
  }
  // A local location must stay in the spec's folder tree or an allowed root (as opening it at plan checks).
  const location = (spec.source.config as { location?: unknown } | undefined)?.location;
  const folder =
    typeof location === 'string' && location.startsWith('file://') ? fileURLToPath(location) : location;
  if (typeof folder === 'string' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(folder)) {
    try {
      confineLocalLocation(folder, {
        baseDir: dirname(file),
        allowedRoots: options.allowedRoots ?? [],
      });
    } catch (err) {
      if (!(err instanceof LocationNotAllowedError)) throw err;
      at(['source', 'config', 'location'], err.message);
    }
  }
  // Compile transforms and the row validator as a chunk would, so bad expressions, date formats and
  // column types surface here, not in the middle of a run. Hash keys are stand-ins: only their presence matters.
  try {
    const hashKeys = Object.fromEntries(
      secretsNeededBy(spec.transforms).map((name) => [name, Buffer.alloc(32)]),
    );
    compileTransforms(spec.transforms, { hashKeys });
  } catch (err) {
    if (!(err instanceof TransformConfigError)) throw err;
    const path = String(err.path ?? 'transforms')
      .split(/[.[\]]+/)
      .filter(Boolean)
      .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
    at(path, err.detail ?? err.message);
  }
  try {
    compileRowValidator(spec.destination.columns);
  } catch (err) {
    at(['destination', 'columns'], err instanceof Error ? err.message : String(err));
  }
  // Every column a transform, an expression or the destination names resolves (issue 12).
  let columns: readonly DiscoveredColumn[] | undefined;
  if (options.sourceColumns && problems.length === 0) {
    try {
      columns = await options.sourceColumns(loaded);
    } catch (err) {
      at(['source'], `cannot read the source's columns: ${err instanceof Error ? err.message : String(err)}`);
      return { loaded, problems };
    }
  }
  const resolution = resolveColumns(spec, columns);
  for (const p of resolution.problems) at(p.path, p.message);
  const unreached = resolution.unreached ?? [];
  if (
    resolution.problems.length === 0 &&
    spec.destination.schemaEvolution === 'freeze' &&
    unreached.length > 0
  )
    at(
      ['destination', 'schemaEvolution'],
      schemaFrozenMessage(
        `${spec.destination.schema}.${spec.destination.table}`,
        spec.source.connector,
        unreached,
      ),
    );
  return { loaded, problems };
}
