import { describe, expect, it } from 'vitest';
import { StagedBuffer } from '../../../functions/engine/run/process-chunks.js';

describe('StagedBuffer', () => {
  it('hands over exactly the lines added, in order, in buffers of about a megabyte', () => {
    const out = new StagedBuffer();
    const lines: string[] = [];
    const taken: Buffer[] = [];
    for (let i = 0; i < 40_000; i++) {
      // ASCII, two- and three-byte characters, and now and then a line longer than a whole buffer.
      const line =
        i % 9_999 === 0 ? `${'€'.repeat(600_000)},${i}\n` : `${i},"Zoë ${'x'.repeat(i % 50)}",東京\n`;
      lines.push(line);
      if (out.add(line)) taken.push(out.take());
    }
    if (out.length > 0) taken.push(out.take());
    expect(out.length).toBe(0);
    expect(Buffer.concat(taken).toString('utf8')).toBe(lines.join(''));
    // Bounded: no buffer holds more than one megabyte plus the one long line that made it full.
    for (const b of taken) expect(b.length).toBeLessThanOrEqual((1 << 20) + 1_800_010);
    expect(taken.length).toBeGreaterThan(5);
  });

  it('never reuses memory it has handed over', () => {
    const out = new StagedBuffer();
    out.add('first\n');
    const a = out.take();
    out.add('second\n');
    const b = out.take();
    expect([a.toString(), b.toString()]).toEqual(['first\n', 'second\n']);
  });
});
