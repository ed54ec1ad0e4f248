import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSamples } from '../../pipelines/generate-samples.js';

describe('example sample data', () => {
  it('is exactly what the generator produces, so anyone can regenerate and check it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-samples-'));

    writeSamples(dir);

    const committed = readdirSync('pipelines/data/orders').sort();
    expect(readdirSync(dir).sort()).toEqual(committed);
    for (const f of committed) {
      expect(readFileSync(join(dir, f)).equals(readFileSync(join('pipelines/data/orders', f))), f).toBe(true);
    }
  });
});
