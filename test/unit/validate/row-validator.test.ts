import { describe, expect, it } from 'vitest';
import type { ColumnSpec } from '../../../functions/engine/spec/schema.js';
import { ColumnTypeError, compileRowValidator } from '../../../functions/engine/validate/index.js';

const columns: Record<string, ColumnSpec> = {
  id: { type: 'bigint', nullable: false },
  day: { type: 'date', nullable: false },
  amount: { type: 'numeric(12,2)', nullable: true },
  note: { type: 'text', nullable: true },
  code: { type: 'varchar(3)', nullable: false },
};

describe('compileRowValidator', () => {
  it('gives COPY text for each destination column, in column order', () => {
    const validate = compileRowValidator(columns);

    const outcome = validate({
      note: 'hi',
      amount: '3.5',
      code: 'ABC',
      day: '2026-01-31',
      id: '7',
      extra: 'ignored',
    });

    expect(outcome).toEqual({ ok: true, values: ['7', '2026-01-31', '3.50', 'hi', 'ABC'] });
  });

  it('writes NULL for missing, null and (outside text) empty values in nullable columns', () => {
    const validate = compileRowValidator(columns);

    const outcome = validate({ id: '1', day: '2026-01-01', amount: '', code: '' });

    expect(outcome).toEqual({ ok: true, values: ['1', '2026-01-01', null, null, ''] });
  });

  it('rejects an empty value in a column that is not nullable', () => {
    const validate = compileRowValidator(columns);

    expect(validate({ id: '', day: '2026-01-01', code: 'x' })).toEqual({
      ok: false,
      column: 'id',
      reason: 'column "id" is required (nullable: false) but the value is empty',
    });
    expect(validate({ id: '1', day: '2026-01-01', code: null })).toEqual({
      ok: false,
      column: 'code',
      reason: 'column "code" is required (nullable: false) but the value is empty',
    });
  });

  it('rejects the first column whose value does not fit', () => {
    const validate = compileRowValidator(columns);

    const outcome = validate({ id: '1', day: '2026-02-30', amount: 'abc', code: 'x' });

    expect(outcome).toEqual({
      ok: false,
      column: 'day',
      reason: 'value "2026-02-30" is not a real date: February 2026 has 28 days',
    });
  });

  it('rejects a string with a NUL byte, which PostgreSQL cannot store', () => {
    const validate = compileRowValidator(columns);

    const outcome = validate({ id: '1', day: '2026-01-01', note: 'a\u0000b', code: 'x' });

    expect(outcome).toEqual({ ok: false, column: 'note', reason: 'contains a NUL byte' });
  });

  it('does not read a __proto__ column from the object prototype', () => {
    const validate = compileRowValidator({ __proto__: { type: 'text', nullable: true } } as never);
    const validateOwn = compileRowValidator(JSON.parse('{"__proto__": {"type": "text", "nullable": true}}'));

    expect(validate({})).toEqual({ ok: true, values: [] });
    expect(validateOwn({})).toEqual({ ok: true, values: [null] });
    expect(validateOwn(JSON.parse('{"__proto__": "x"}'))).toEqual({ ok: true, values: ['x'] });
  });

  it('fails at compile time on a type PostgreSQL would refuse', () => {
    expect(() => compileRowValidator({ a: { type: 'varchar(0)', nullable: true } })).toThrow(ColumnTypeError);
    expect(() => compileRowValidator({ a: { type: 'numeric(0)', nullable: true } })).toThrow(
      'destination.columns.a.type: precision of numeric(0) must be between 1 and 1000',
    );
    expect(() => compileRowValidator({ a: { type: 'money', nullable: true } })).toThrow(
      'destination.columns.a.type: unsupported column type "money"',
    );
  });
});
