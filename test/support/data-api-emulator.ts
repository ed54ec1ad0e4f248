import type {
  ColumnMetadata,
  ExecuteStatementCommandInput,
  ExecuteStatementCommandOutput,
  Field,
  SqlParameter,
} from '@aws-sdk/client-rds-data';
import pg from 'pg';

/**
 * Runs Data API ExecuteStatement inputs against a real PostgreSQL, as the Data API would: named `:name`
 * parameters typed by their value and type hint (an untyped string is varchar, so `uuid = :p` fails
 * there as it does in AWS), every value returned as a Field by its column type (numeric as a string,
 * timestamps and JSON as text; timestamptz converted to UTC and printed without an offset, as the Data
 * API does). Arrays are not emulated: a statement returning one fails loudly.
 */
export class DataApiEmulator {
  private readonly client: pg.Client;
  readonly statements: string[] = [];

  constructor(connectionString: string) {
    // Text for every type, like the wire: the Field is built from the column's type below.
    this.client = new pg.Client({ connectionString, types: { getTypeParser: () => (v: string) => v } });
  }

  async connect() {
    await this.client.connect();
    // timestamptz text in UTC; toField drops the offset, as the Data API returns it.
    await this.client.query("SET TIME ZONE 'UTC'");
  }

  end() {
    return this.client.end();
  }

  async execute(input: ExecuteStatementCommandInput): Promise<Partial<ExecuteStatementCommandOutput>> {
    if (!input.resourceArn || !input.secretArn || !input.sql)
      throw new Error('resourceArn, secretArn and sql are required');
    this.statements.push(input.sql);
    const { text, values } = toPg(input.sql, input.parameters ?? []);
    const result = await this.client.query({ text, values, rowMode: 'array' });
    const columnMetadata: ColumnMetadata[] = result.fields.map((f) => ({
      name: f.name,
      label: f.name,
      type: f.dataTypeID,
    }));
    const records =
      input.includeResultMetadata === false && result.fields.length === 0
        ? []
        : (result.rows as unknown[][]).map((row) =>
            row.map((v, i) => toField(v, result.fields[i]!.dataTypeID)),
          );
    return { columnMetadata, records, numberOfRecordsUpdated: result.rowCount ?? 0 };
  }
}

const CAST: Record<string, string> = {
  UUID: 'uuid',
  TIMESTAMP: 'timestamp',
  DATE: 'date',
  TIME: 'time',
  DECIMAL: 'numeric',
  JSON: 'json',
};

function toPg(sql: string, parameters: SqlParameter[]): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const index = new Map<string, number>();
  const text = sql.replace(
    /('(?:[^']|'')*'|"(?:[^"]|"")*")|(?<!:):([A-Za-z_]\w*)/g,
    (match, quoted, name) => {
      if (quoted) return match;
      const p = parameters.find((x) => x.name === name);
      if (!p) throw new Error(`the statement names :${name} but no parameter has that name`);
      if (!index.has(name)) {
        values.push(paramValue(p));
        index.set(name, values.length);
      }
      const type = paramType(p);
      return type ? `($${index.get(name)}::${type})` : `$${index.get(name)}`;
    },
  );
  return { text, values };
}

function paramValue(p: SqlParameter): unknown {
  const v = p.value ?? { isNull: true };
  if (v.isNull) return null;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.longValue !== undefined) return v.longValue;
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.booleanValue !== undefined) return v.booleanValue;
  throw new Error(`parameter ${p.name}: value kind not emulated`);
}

/** The type PostgreSQL is told the parameter has; none for NULL (an untyped NULL, as the Data API sends). */
function paramType(p: SqlParameter): string | undefined {
  const v = p.value ?? { isNull: true };
  if (p.typeHint) return CAST[p.typeHint]!;
  if (v.isNull) return undefined;
  if (v.longValue !== undefined) return 'bigint';
  if (v.doubleValue !== undefined) return 'double precision';
  if (v.booleanValue !== undefined) return 'boolean';
  return 'varchar';
}

function toField(v: unknown, oid: number): Field {
  if (v === null) return { isNull: true };
  const s = String(v);
  switch (oid) {
    case 16:
      return { booleanValue: s === 't' };
    case 20:
    case 21:
    case 23:
      return { longValue: Number(s) };
    case 700:
    case 701:
      return { doubleValue: Number(s) };
    case 1000:
    case 1005:
    case 1007:
    case 1009:
    case 1016:
      throw new Error(`the emulator does not return arrays (column type ${oid}): return JSON instead`);
    case 1184:
      // The Data API returns timestamptz converted to UTC, without an offset: '2026-12-04 10:00:00.123'.
      return { stringValue: s.replace(/[+-]\d{2}(:\d{2})?$/, '') };
    default:
      return { stringValue: s };
  }
}
