import { describe, expect, it } from 'vitest';
import { loadSpecFile } from '../../../functions/engine/spec/load.js';
import { resolveColumns } from '../../../functions/engine/spec/resolve-columns.js';
import type { PipelineSpec, TransformSpec } from '../../../functions/engine/spec/schema.js';
import { editDistance, suggestName } from '../../../functions/engine/spec/suggest-name.js';
import { columnsReadBy } from '../../../functions/engine/transforms/expression-columns.js';

const SOURCE = ['id', 'day', 'price', 'qty', 'note'].map((name) => ({ name, type: 'text' }));

async function sales(
  change: { transforms?: TransformSpec[]; columns?: Record<string, string> } = {},
): Promise<PipelineSpec> {
  const { spec } = await loadSpecFile('test/fixtures/contract/sales.yaml');
  return {
    ...spec,
    transforms: change.transforms ?? spec.transforms,
    destination: {
      ...spec.destination,
      columns: {
        ...spec.destination.columns,
        ...Object.fromEntries(
          Object.entries(change.columns ?? {}).map(([k, type]) => [k, { type, nullable: true }]),
        ),
      },
    },
  };
}

describe('column resolution', () => {
  it('resolves every name of a correct spec against the source columns', async () => {
    const result = resolveColumns(await sales(), SOURCE);

    expect(result).toEqual({ problems: [], unreached: [] });
  });

  it('fails when a derive expression reads a misspelt column, suggesting the right one', async () => {
    const spec = await sales({ transforms: [{ derive: { amount: 'prcie * qty' } }] });

    expect(resolveColumns(spec, SOURCE).problems).toEqual([
      {
        path: ['transforms', 0, 'derive', 'amount'],
        message:
          'column "prcie" is not among the source columns; did you mean "price"? (columns here: id, day, price, qty, note)',
      },
    ]);
  });

  it('fails when a cast names a misspelt column', async () => {
    const spec = await sales({
      transforms: [{ derive: { amount: 'price * qty' } }, { cast: { column: 'dya', to: 'date' } }],
    });

    expect(resolveColumns(spec, SOURCE).problems).toEqual([
      {
        path: ['transforms', 1, 'cast', 'column'],
        message: expect.stringMatching(/^column "dya" is not among the source columns; did you mean "day"\?/),
      },
    ]);
  });

  it('fails when a destination column is produced by nothing', async () => {
    const spec = await sales({ columns: { notes: 'text' } });

    expect(resolveColumns(spec, SOURCE).problems).toEqual([
      {
        path: ['destination', 'columns', 'notes'],
        message: expect.stringMatching(
          /^destination column "notes" is not among the source columns; did you mean "note"\?/,
        ),
      },
    ]);
  });

  it('fails when a transform reads a column an earlier one dropped or renamed', async () => {
    const spec = await sales({
      transforms: [
        { drop: ['note'] },
        { rename: { qty: 'quantity' } },
        { derive: { amount: 'price * qty' } },
        { case: { columns: ['note'], to: 'upper' } },
      ],
    });

    expect(resolveColumns(spec, SOURCE).problems.map((p) => [p.path.join('.'), p.message])).toEqual([
      ['transforms.2.derive.amount', 'column "qty" was renamed to "quantity" by transforms[1].rename'],
      ['transforms.3.case.columns.0', 'column "note" was dropped by transforms[0].drop'],
      ['destination.columns.note', 'destination column "note" was dropped by transforms[0].drop'],
    ]);
  });

  it('resolves in transform order: a derived name is usable only after its derive', async () => {
    const spec = await sales({
      transforms: [{ filter: 'amount > 0' }, { derive: { amount: 'price * qty' } }],
    });

    expect(resolveColumns(spec, SOURCE).problems).toEqual([
      { path: ['transforms', 0, 'filter'], message: expect.stringContaining('column "amount" is not') },
    ]);
  });

  it('fails offline only on what the spec contradicts: names outside a select, after a drop', async () => {
    const spec = await sales({
      transforms: [{ select: ['id', 'day', 'price', 'qty'] }, { derive: { amount: 'price * qty' } }],
    });

    expect(resolveColumns(spec).problems).toEqual([
      {
        path: ['destination', 'columns', 'note'],
        message:
          'destination column "note" is not among the columns transforms[0].select keeps (columns here: id, day, price, qty, amount)',
      },
    ]);
    expect(resolveColumns(await sales()).problems).toEqual([]);
  });

  it('reports source columns that reach no destination column and that no transform names', async () => {
    const source = [...SOURCE, { name: 'coupon', type: 'integer' }, { name: 'Weird Col', type: 'x' }];

    expect(resolveColumns(await sales(), source).unreached).toEqual([
      { name: 'coupon', type: 'integer' },
      { name: 'Weird Col', type: 'text' },
    ]);
  });

  it('counts a column dropped or left out of a select on purpose as governed, not unreached', async () => {
    const spec = await sales({
      transforms: [{ drop: ['note'] }, { derive: { amount: 'price * qty' } }],
    });
    const { note: _note, ...columns } = spec.destination.columns;

    const result = resolveColumns({ ...spec, destination: { ...spec.destination, columns } }, SOURCE);

    expect(result).toEqual({ problems: [], unreached: [] });
  });
});

describe('columns read by an expression', () => {
  it('finds column names in the parsed expression, not in strings, function names or fields', () => {
    const expression =
      'if qty > 1 then round(price, 2) else coalesce(note, "qty") + \'unit price\' + city of address';

    expect(columnsReadBy(expression)).toEqual([
      { name: 'qty', quoted: false },
      { name: 'price', quoted: false },
      { name: 'note', quoted: false },
      { name: 'unit price', quoted: true },
      { name: 'address', quoted: false },
    ]);
  });

  it('reads chained relations, lists and constants', () => {
    expect(columnsReadBy('a < 3 <= b and c in (1, d) or true and not null').map((c) => c.name)).toEqual([
      'a',
      'b',
      'c',
      'd',
    ]);
  });
});

describe('did you mean', () => {
  it('suggests the closest name, a case-only match first, nothing when nothing is close', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(suggestName('amout', ['currency', 'amount'])).toBe('amount');
    expect(suggestName('OrderId', ['order_id', 'orderid'])).toBe('orderid');
    expect(suggestName('zzz', ['amount', 'currency'])).toBeUndefined();
  });
});
