import { describe, expect, it } from 'vitest';
import { createDeduper, TransformConfigError } from '../../../functions/engine/transforms/index.js';
import type { Row } from '../../../functions/engine/types.js';
import { runOne } from './run-transforms.js';

function dedupe(deduper: ReturnType<typeof createDeduper>, rows: Row[]) {
  if (!deduper) throw new Error('expected a deduper');
  rows.forEach((row, i) => {
    deduper.add(row, i + 1);
  });
  const { rows: kept, dropped } = deduper.finish();
  return { kept: kept.map(({ row, ordinal }): Row => ({ ordinal, ...row })), dropped };
}

const rows = [
  { id: '1', v: 'a' },
  { id: '2', v: 'b' },
  { id: '1', v: 'c' },
  { id: '3', v: 'd' },
  { id: '2', v: 'e' },
];

describe('dedupe', () => {
  it('keeps the last row per key by default, in the order rows were fed', () => {
    const deduper = createDeduper([{ dedupe: { keep: 'last' } }], ['id']);

    const result = dedupe(deduper, rows);

    expect(result).toEqual({
      kept: [
        { ordinal: 3, id: '1', v: 'c' },
        { ordinal: 4, id: '3', v: 'd' },
        { ordinal: 5, id: '2', v: 'e' },
      ],
      dropped: 2,
    });
  });

  it('keeps the first row per key', () => {
    const deduper = createDeduper([{ dedupe: { keep: 'first' } }], ['id']);

    const result = dedupe(deduper, rows);

    expect(result.kept.map((r) => r.v)).toEqual(['a', 'b', 'd']);
    expect(result.dropped).toBe(2);
  });

  it('uses its own key over the destination key, comparing values as text', () => {
    const deduper = createDeduper([{ dedupe: { key: ['day', 'sku'], keep: 'first' } }], ['id']);

    const result = dedupe(deduper, [
      { day: '2026-01-01', sku: 7, id: 1 },
      { day: '2026-01-01', sku: '7', id: 2 },
      { day: '2026-01-01', sku: '8', id: 3 },
    ]);

    expect(result.kept.map((r) => r.id)).toEqual([1, 3]);
  });

  it('does not merge composite keys whose parts only join alike', () => {
    const deduper = createDeduper([{ dedupe: { key: ['a', 'b'], keep: 'first' } }], undefined);

    const result = dedupe(deduper, [
      { a: 'x:', b: 'y' },
      { a: 'x', b: ':y' },
    ]);

    expect(result.dropped).toBe(0);
  });

  it('never merges rows whose key is empty, so validation can reject each', () => {
    const deduper = createDeduper([{ dedupe: { keep: 'last' } }], ['id']);

    const result = dedupe(deduper, [{ id: null }, { id: '' }, {}, { id: '' }]);

    expect(result).toMatchObject({ dropped: 0 });
    expect(result.kept).toHaveLength(4);
  });

  it('is undefined when the spec has no dedupe', () => {
    expect(createDeduper([{ trim: 'all' }], ['id'])).toBeUndefined();
  });

  it('passes rows through untouched in the per-row transforms', () => {
    const outcome = runOne([{ dedupe: { keep: 'last' } }], { id: '1' });

    expect(outcome).toEqual({ kind: 'row', row: { id: '1' } });
  });

  it('fails when neither dedupe.key nor the destination key is set', () => {
    expect(() => createDeduper([{ dedupe: { keep: 'last' } }], undefined)).toThrow(
      new TransformConfigError('transforms[0].dedupe.key', 'is required when destination.key is not set'),
    );
  });

  it('fails when the spec has two dedupe transforms', () => {
    const specs = [
      { dedupe: { keep: 'last' as const } },
      { trim: 'all' as const },
      { dedupe: { keep: 'first' as const } },
    ];

    expect(() => createDeduper(specs, ['id'])).toThrow(
      'transforms[2].dedupe: only one dedupe is allowed (another is at transforms[0].dedupe)',
    );
  });
});
