import { ExecuteStatementCommand, RDSDataClient } from '@aws-sdk/client-rds-data';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  dataApiReadSql,
  fromRecords,
  toDataApiStatement,
} from '../../../functions/adapters/rds-data/data-api-reader.js';

const TARGET = {
  resourceArn: 'arn:aws:rds:eu-west-1:111122223333:cluster:sluice-prod',
  secretArn: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:sluice/prod/reader-AbCdEf',
  database: 'sluice',
};
const RUN = '3f2c1a8e-8b7d-4c62-9a51-0d6f1e2b3c4d';

describe('the read side over the RDS Data API', () => {
  const rds = mockClient(RDSDataClient);
  afterEach(() => rds.reset());

  it('sends one ExecuteStatement with the stage ARNs, :pN parameters and their types', async () => {
    rds.on(ExecuteStatementCommand).resolves({ columnMetadata: [], records: [] });
    const sql = dataApiReadSql({ client: new RDSDataClient({ region: 'eu-west-1' }), ...TARGET });

    await sql(
      'SELECT 1 FROM sluice.runs WHERE ($1::text IS NULL OR pipeline = $1) AND run_id = $2 LIMIT $3',
      [null, RUN, 20],
    );

    const input = rds.commandCalls(ExecuteStatementCommand)[0]!.args[0].input;
    expect(input).toMatchObject({ ...TARGET, includeResultMetadata: true });
    expect(input.sql).toBe(
      'SELECT 1 FROM sluice.runs WHERE (:p1::text IS NULL OR pipeline = :p1) AND run_id = :p2 LIMIT :p3',
    );
    expect(input.parameters).toEqual([
      { name: 'p1', value: { isNull: true } },
      { name: 'p2', value: { stringValue: RUN }, typeHint: 'UUID' },
      { name: 'p3', value: { longValue: 20 } },
    ]);
  });

  it('maps records by column label: strings, longs, doubles, booleans, NULLs and arrays', async () => {
    rds.on(ExecuteStatementCommand).resolves({
      columnMetadata: [
        { label: 'run_id' },
        { label: 'rows_read' },
        { label: 'ratio' },
        { label: 'full_refresh' },
        { label: 'error' },
        { label: 'partitions' },
      ],
      records: [
        [
          { stringValue: RUN },
          { longValue: 4806 },
          { doubleValue: 0.25 },
          { booleanValue: false },
          { isNull: true },
          { arrayValue: { stringValues: ['orders_p202601', 'orders_p202602'] } },
        ],
      ],
    });
    const sql = dataApiReadSql({ client: new RDSDataClient({ region: 'eu-west-1' }), ...TARGET });
    expect((await sql('SELECT …')).rows).toEqual([
      {
        run_id: RUN,
        rows_read: 4806,
        ratio: 0.25,
        full_refresh: false,
        error: null,
        partitions: ['orders_p202601', 'orders_p202602'],
      },
    ]);
  });

  it('leaves quoted text alone: a $1 inside a literal or an identifier is not a parameter', () => {
    const s = toDataApiStatement(`SELECT '$1', "a$1", 'it''s $2', $1 AS x`, ['v']);
    expect(s.sql).toBe(`SELECT '$1', "a$1", 'it''s $2', :p1 AS x`);
    expect(s.parameters).toEqual([{ name: 'p1', value: { stringValue: 'v' } }]);
  });

  it('types Dates as TIMESTAMP, objects as JSON, fractions as doubles', () => {
    const s = toDataApiStatement('SELECT $1, $2, $3', [new Date('2026-01-31T10:00:00.123Z'), { a: 1 }, 0.5]);
    expect(s.parameters).toEqual([
      { name: 'p1', value: { stringValue: '2026-01-31 10:00:00.123' }, typeHint: 'TIMESTAMP' },
      { name: 'p2', value: { stringValue: '{"a":1}' }, typeHint: 'JSON' },
      { name: 'p3', value: { doubleValue: 0.5 } },
    ]);
  });

  it('fails when a statement names a parameter it was not given', () => {
    expect(() => toDataApiStatement('SELECT $2', ['only one'])).toThrow(
      'statement uses $2 but 1 parameter(s) were given',
    );
  });

  it('fails when a record does not match its columns', () => {
    expect(() => fromRecords([{ label: 'a' }], [[{ longValue: 1 }, { longValue: 2 }]])).toThrow(
      '2 fields for 1 columns',
    );
  });

  it('fails with the cluster named and the Data API message when a call is refused', async () => {
    rds.on(ExecuteStatementCommand).rejects(
      Object.assign(new Error('ERROR: permission denied for table audit_log'), {
        name: 'DatabaseErrorException',
      }),
    );
    const sql = dataApiReadSql({ client: new RDSDataClient({ region: 'eu-west-1' }), ...TARGET });
    const err = (await sql('SELECT 1').then(
      () => new Error('expected a refusal'),
      (e: unknown) => e,
    )) as Error & { code?: string };
    expect(err.message).toBe(
      `the RDS Data API refused a read of the ledger (${TARGET.resourceArn}): DatabaseErrorException: ERROR: permission denied for table audit_log`,
    );
    expect(err.code).toBe('42501');
  });
});
