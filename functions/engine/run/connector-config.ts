// A run's source config and run options, checked against the connector before anything starts.
import type * as z from 'zod';
import type { ConnectorLookup } from '../ports/connectors.js';
import type { BackfillWindow } from '../ports/source.js';
import type { PipelineSpec } from '../spec/schema.js';

/** A source config the connector's schema rejects (named SpecError: it is the spec that is wrong). */
export class ConnectorConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpecError';
  }
}

export function parseConnectorConfig<C>(schema: z.ZodType<C>, spec: PipelineSpec): C {
  const result = schema.safeParse(spec.source.config);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `source.config.${i.path.join('.')}: ${i.message}`);
  throw new ConnectorConfigError(
    `pipeline "${spec.name}", connector "${spec.source.connector}":\n  ${problems.join('\n  ')}`,
  );
}

/**
 * Refuses run options the pipeline cannot honour, before a run is recorded: `--backfill` together with
 * `--full-refresh`, and `--backfill` on a source that has no cursor window to load (files, parquet, a
 * database table without `cursor`), which would otherwise be ignored and load as a normal run.
 *
 * @throws ConnectorConfigError (a usage/spec error: exit code 2 in the CLI) naming the flag and the source.
 */
export function checkRunOptions(
  spec: PipelineSpec,
  connectors: ConnectorLookup,
  options: { backfill?: BackfillWindow | undefined; fullRefresh?: boolean | undefined },
): void {
  const { backfill } = options;
  if (!backfill) return;
  if (options.fullRefresh) throw new ConnectorConfigError('--backfill and --full-refresh exclude each other');
  const connector = connectors.getSource(spec.source.connector);
  const why = connector.cannotBackfill?.(parseConnectorConfig(connector.configSchema, spec));
  if (why) {
    throw new ConnectorConfigError(
      `--backfill ${backfill.from}..${backfill.to}: the ${spec.source.connector} source of pipeline "${spec.name}" cannot backfill: ${why}`,
    );
  }
}
