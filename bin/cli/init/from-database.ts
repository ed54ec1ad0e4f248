// `sluice init --from postgres://…/table | mysql://…/table`: connection config, catalog and a sample.
import { getSourceConnector } from '../../../functions/connectors/registry.js';
import { InitRefusal } from './errors.js';
import { readSample, type SampleContext, type SourceSample } from './sample.js';

/** Environment variable the local secrets adapter reads a secret named `name` from. */
function secretVariable(name: string): string {
  return `SLUICE_SECRET_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/**
 * Parses `postgres://user[:password]@host[:port]/database/[schema.]table` (or `mysql://`). The
 * password never reaches the spec: it is a secret named `<pipeline>-db-password`, and the spec says
 * where to store it.
 */
export function parseDatabaseUrl(from: string, pipeline: string) {
  let url: URL;
  try {
    url = new URL(from);
  } catch {
    throw new InitRefusal(`--from ${from}: not a URL`);
  }
  const connector = /^postgres(ql)?:$/.test(url.protocol)
    ? 'postgres'
    : url.protocol === 'mysql:' || url.protocol === 'mariadb:'
      ? 'mysql'
      : undefined;
  if (!connector)
    throw new InitRefusal(`--from ${from}: unsupported scheme ${url.protocol} (postgres://, mysql://)`);
  const [database, table, ...rest] = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (!database || !table || rest.length > 0) {
    throw new InitRefusal(
      `--from: name the database and the table: ${connector}://user@host:port/<database>/<table> (or <schema>.<table>)`,
    );
  }
  const user = decodeURIComponent(url.username) || (connector === 'postgres' ? 'postgres' : 'root');
  const password = url.password ? decodeURIComponent(url.password) : undefined;
  const connection: Record<string, unknown> = {
    host: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    database,
    user,
  };
  const secret = `${pipeline}-db-password`;
  return { connector, connection, table, password, secret, secretVariable: secretVariable(secret) };
}

/** Samples a table through the connector: catalog types and key (discover), rows (plan and read). */
export async function sampleDatabase(
  from: string,
  pipeline: string,
  ctx: SampleContext,
): Promise<SourceSample> {
  const parsed = parseDatabaseUrl(from, pipeline);
  const config: Record<string, unknown> = { connection: parsed.connection, table: parsed.table };
  const withPassword: SampleContext = {
    ...ctx,
    credential: async (name, options) => {
      if (name === 'password') return parsed.password;
      return ctx.credential(name, options);
    },
  };
  const sample = await readSample(getSourceConnector(parsed.connector), config, withPassword);
  const columns = sample.discovered?.columns ?? [];
  const notes = parsed.password
    ? [
        `the password is not in this file: it is the secret ${parsed.secret} (locally: export ${parsed.secretVariable}=…,`,
        'or store it in .sluice/secrets.enc; in AWS: Secrets Manager)',
      ]
    : [];
  return {
    connector: parsed.connector,
    config,
    ...(parsed.password ? { credentials: { password: parsed.secret } } : {}),
    described: `${parsed.connector} table ${parsed.table} in ${parsed.connection.database as string}`,
    notes,
    names: columns.map((c) => c.name),
    declared: new Map(columns.map((c) => [c.name, { type: c.type, nullable: c.nullable }])),
    ...(sample.discovered?.primaryKey ? { primaryKey: sample.discovered.primaryKey } : {}),
    rows: sample.rows,
    unparseable: sample.unparseable,
  };
}
