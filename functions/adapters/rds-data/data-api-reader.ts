// The read side's SQL port over the RDS Data API: ExecuteStatement with typed named parameters, records mapped to rows.
import {
  type ArrayValue,
  type ColumnMetadata,
  ExecuteStatementCommand,
  type Field,
  type RDSDataClient,
  type SqlParameter,
} from '@aws-sdk/client-rds-data';

/** Where a deployed stage's ledger is, and the login that reads it (the reader secret). */
export interface DataApiTarget {
  client: Pick<RDSDataClient, 'send'>;
  /** The Aurora cluster's ARN (Data API enabled). */
  resourceArn: string;
  /** The Secrets Manager ARN of the reader login. */
  secretArn: string;
  database: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A `$1`-style statement as the Data API takes it: `:p1` named parameters, each typed. Strings that are
 * UUIDs carry the UUID type hint (untyped, the Data API sends them as varchar, and `uuid = varchar` fails);
 * Dates are TIMESTAMP, objects JSON. Text inside quotes ('…', "…") is never rewritten.
 */
export function toDataApiStatement(
  sql: string,
  params: readonly unknown[] = [],
): { sql: string; parameters: SqlParameter[] } {
  let out = '';
  const used = new Set<number>();
  for (let i = 0; i < sql.length; i++) {
    const ch = sql[i]!;
    if (ch === "'" || ch === '"') {
      const end = closingQuote(sql, i, ch);
      out += sql.slice(i, end + 1);
      i = end;
    } else if (ch === '$' && /[0-9]/.test(sql[i + 1] ?? '') && !/[\w$]/.test(sql[i - 1] ?? '')) {
      let j = i + 1;
      while (/[0-9]/.test(sql[j] ?? '')) j++;
      const n = Number(sql.slice(i + 1, j));
      if (n < 1 || n > params.length)
        throw new Error(`statement uses $${n} but ${params.length} parameter(s) were given`);
      used.add(n);
      out += `:p${n}`;
      i = j - 1;
    } else out += ch;
  }
  return {
    sql: out,
    parameters: [...used].sort((a, b) => a - b).map((n) => toParameter(`p${n}`, params[n - 1])),
  };
}

function closingQuote(sql: string, start: number, quote: string): number {
  for (let i = start + 1; i < sql.length; i++) {
    if (sql[i] !== quote) continue;
    if (sql[i + 1] === quote) i++;
    else return i;
  }
  throw new Error(`unterminated ${quote} quote in statement at offset ${start}`);
}

function toParameter(name: string, value: unknown): SqlParameter {
  if (value === null || value === undefined) return { name, value: { isNull: true } };
  if (typeof value === 'boolean') return { name, value: { booleanValue: value } };
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) return { name, value: { longValue: value } };
    if (Number.isFinite(value)) return { name, value: { doubleValue: value } };
    throw new Error(`parameter ${name} is ${value}: not a number the Data API can carry`);
  }
  if (typeof value === 'bigint')
    return { name, value: { stringValue: value.toString() }, typeHint: 'DECIMAL' };
  if (typeof value === 'string')
    return UUID.test(value)
      ? { name, value: { stringValue: value }, typeHint: 'UUID' }
      : { name, value: { stringValue: value } };
  if (value instanceof Date)
    // The Data API's TIMESTAMP format: 'YYYY-MM-DD HH:MM:SS[.FFF]', UTC here.
    return {
      name,
      value: { stringValue: value.toISOString().replace('T', ' ').replace('Z', '') },
      typeHint: 'TIMESTAMP',
    };
  return { name, value: { stringValue: JSON.stringify(value) }, typeHint: 'JSON' };
}

/** One Data API field as JavaScript (as pg gives it for the read side's statements: bigint counts as numbers, text as text). */
export function fromField(field: Field): unknown {
  if (field.isNull) return null;
  if (field.stringValue !== undefined) return field.stringValue;
  if (field.longValue !== undefined) return field.longValue;
  if (field.doubleValue !== undefined) return field.doubleValue;
  if (field.booleanValue !== undefined) return field.booleanValue;
  if (field.blobValue !== undefined) return Buffer.from(field.blobValue);
  if (field.arrayValue !== undefined) return fromArray(field.arrayValue);
  throw new Error(`a Data API field of an unknown kind: ${JSON.stringify(field)}`);
}

function fromArray(a: ArrayValue): unknown[] {
  if (a.stringValues) return a.stringValues;
  if (a.longValues) return a.longValues;
  if (a.doubleValues) return a.doubleValues;
  if (a.booleanValues) return a.booleanValues;
  if (a.arrayValues) return a.arrayValues.map((v) => (v ? fromArray(v) : null));
  return [];
}

/** Records and their column metadata as row objects keyed by column label (the name a query gives). */
export function fromRecords(
  columns: ColumnMetadata[] = [],
  records: Field[][] = [],
): Record<string, unknown>[] {
  const names = columns.map((c, i) => c.label ?? c.name ?? `column${i + 1}`);
  return records.map((fields) => {
    if (fields.length !== names.length)
      throw new Error(`a Data API record has ${fields.length} fields for ${names.length} columns`);
    const row: Record<string, unknown> = {};
    fields.forEach((f, i) => {
      row[names[i]!] = fromField(f);
    });
    return row;
  });
}

/**
 * The read side's query function over the Data API (no VPC access needed: the CLI calls an AWS API).
 *
 * @example const sql = dataApiReadSql({ client: new RDSDataClient({}), resourceArn, secretArn, database: 'sluice' });
 *          await listRuns(sql, { pipeline: 'orders' });
 */
export function dataApiReadSql(target: DataApiTarget) {
  return async <T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<{ rows: T[] }> => {
    const statement = toDataApiStatement(sql, params);
    const out = await target.client
      .send(
        new ExecuteStatementCommand({
          resourceArn: target.resourceArn,
          secretArn: target.secretArn,
          database: target.database,
          sql: statement.sql,
          parameters: statement.parameters,
          includeResultMetadata: true,
        }),
      )
      .catch((err: unknown) => {
        const e = err as Error & { code?: string };
        const wrapped = new Error(
          `the RDS Data API refused a read of the ledger (${target.resourceArn}): ${e.name}: ${e.message}`,
          { cause: err },
        );
        // 42501 (no privilege) lets the read side say which part a reader login may not see.
        if (/permission denied/i.test(e.message)) Object.assign(wrapped, { code: '42501' });
        throw wrapped;
      });
    return { rows: fromRecords(out.columnMetadata, out.records) as T[] };
  };
}
