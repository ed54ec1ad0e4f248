import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { checkSourceContract } from '../../../functions/sdk/contract.js';
import { defineSource, type SourceConnector } from '../../../functions/sdk/source.js';

/** Ids 1..n, split into `parallelism` ranges; `flaw` breaks one promise of the contract. */
function numbers(
  flaw?:
    | 'overlap'
    | 'gap'
    | 'random-plan'
    | 'unstable-read'
    | 'no-cursor-progress'
    | 'no-columns'
    | 'unreported-column',
) {
  let reads = 0;
  return defineSource({
    name: 'numbers',
    description: 'ids 1..n',
    configSchema: z.strictObject({ n: z.number().int().min(0) }),
    ...(flaw === 'no-columns'
      ? {}
      : {
          async discover() {
            return [{ name: 'numbers', columns: [{ name: 'id', type: 'bigint', nullable: false }] }];
          },
        }),
    async plan(ctx) {
      const after = typeof ctx.cursor?.id === 'number' && flaw !== 'no-cursor-progress' ? ctx.cursor.id : 0;
      const n = ctx.config.n;
      const parts = Math.max(1, Math.min(ctx.parallelism, n - after));
      const chunks = [];
      for (let i = 0; i < parts && n > after; i++) {
        let lo = after + 1 + Math.floor(((n - after) * i) / parts);
        let hi = after + 1 + Math.floor(((n - after) * (i + 1)) / parts);
        if (flaw === 'overlap' && i > 0) lo -= 1;
        if (flaw === 'gap' && i === 1) lo += 1;
        if (flaw === 'gap' && parts === 1) hi -= 1;
        chunks.push({
          bytes: hi - lo,
          source: { lo, hi, ...(flaw === 'random-plan' ? { at: Math.random() } : {}) },
        });
      }
      return { chunks, units: [], skipped: 0, cursor: { id: n } };
    },
    async *read(chunk) {
      const { lo, hi } = chunk.source as { lo: number; hi: number };
      reads++;
      const shift = flaw === 'unstable-read' && reads % 2 === 0 ? 1 : 0;
      for (let id = lo + shift; id < hi; id++)
        yield {
          kind: 'row' as const,
          row: flaw === 'unreported-column' ? { id, square: id * id } : { id },
          location: `id=${id}`,
        };
    },
  }) as SourceConnector<{ n: number }>;
}

const check = (connector: SourceConnector<{ n: number }>, n = 100) =>
  checkSourceContract({ connector, config: { n }, identity: (r) => String(r.id), expectedRows: n });

describe('checkSourceContract', () => {
  it('finds nothing wrong with a connector that keeps the contract', async () => {
    expect(await check(numbers())).toEqual([]);
  });

  it('fails when two chunks read the same row', async () => {
    const findings = await check(numbers('overlap'));

    expect(findings.map((f) => f.check)).toContain('no overlaps');
  });

  it('fails when a plan leaves a gap', async () => {
    const findings = await check(numbers('gap'));

    expect(findings.some((f) => f.check === 'no gaps')).toBe(true);
  });

  it('fails when the same state plans different chunks', async () => {
    const findings = await check(numbers('random-plan'));

    expect(findings.map((f) => f.check)).toContain('deterministic plan');
  });

  it('fails when reading a chunk twice gives other rows', async () => {
    const findings = await check(numbers('unstable-read'));

    expect(findings.map((f) => f.check)).toContain('repeatable reads');
  });

  it('fails when planning from the committed cursor reads the same rows again', async () => {
    const findings = await check(numbers('no-cursor-progress'));

    expect(findings).toContainEqual({
      check: 'incremental',
      message: 'planning from the committed cursor read 100 row(s) again with no change in the source',
    });
  });

  it('fails when the connector reports no columns', async () => {
    const findings = await check(numbers('no-columns'));

    expect(findings).toEqual([
      {
        check: 'columns',
        message:
          'the connector reports no columns: implement discover(ctx) (catalog, header, footer or a sample) or return columns from plan',
      },
    ]);
  });

  it('fails when rows carry a column the connector did not report', async () => {
    const findings = await check(numbers('unreported-column'));

    expect(findings).toEqual([
      {
        check: 'columns',
        message: 'rows have column(s) the connector did not report: square (reported: id)',
      },
    ]);
  });

  it('fails when the config does not parse', async () => {
    const findings = await checkSourceContract({ connector: numbers(), config: { n: 'many' } });

    expect(findings[0]?.check).toBe('config');
  });
});
