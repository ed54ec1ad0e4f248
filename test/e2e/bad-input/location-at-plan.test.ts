import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgliteWarehouse } from '../../../functions/adapters/warehouse/pglite.js';
import { runPipelineLocally } from '../../../functions/local/runner.js';

const CASE = resolve('test/fixtures/bad-input/spec-location-absolute');

/** Every file under a folder, as text (the run's staging: manifests, rejects, logs). */
function allText(dir: string): string {
  if (!existsSync(dir)) return '';
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => readFileSync(join(e.parentPath, e.name), 'utf8'))
    .join('\n');
}

/**
 * The catalog refuses `location: /etc` at validate; a run that starts from the spec without validating
 * (the engine's own path: prepare plans the chunks) must refuse it too, and read nothing.
 */
describe('a files location outside the spec folder, at plan', () => {
  let wh: PgliteWarehouse;
  beforeAll(async () => {
    wh = await PgliteWarehouse.open();
  });
  afterAll(() => wh?.close());

  it('fails the run naming SLUICE_ALLOWED_ROOTS, and no line of /etc/passwd reaches staging', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-location-'));
    cpSync(CASE, dir, { recursive: true });
    const home = join(dir, '.sluice');

    const result = await runPipelineLocally({ specFile: join(dir, 'spec.yaml'), home, warehouse: wh });

    expect(result.status).toBe('failed');
    expect(result.error).toContain(
      `location "/etc" resolves to /etc, outside the spec's folder ${dir}: a local location must be inside the spec's folder tree, or inside a folder listed in SLUICE_ALLOWED_ROOTS`,
    );
    expect(allText(join(home, 'staging'))).not.toMatch(/root:x?:0:0/);
  });

  it('reads a folder outside once SLUICE_ALLOWED_ROOTS allows it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-location-'));
    const outside = mkdtempSync(join(tmpdir(), 'sluice-outside-'));
    writeFileSync(join(outside, 'in.csv'), 'id,day,amount,note\n1,2026-01-01,1.50,ok\n');
    const spec = readFileSync(join(CASE, 'spec.yaml'), 'utf8')
      .replace('location: /etc', `location: ${outside}`)
      .replace('pattern: "passwd"', 'pattern: "*.csv"')
      .replace('table: location_absolute', 'table: location_allowed');
    writeFileSync(join(dir, 'spec.yaml'), spec);

    const result = await runPipelineLocally({
      specFile: join(dir, 'spec.yaml'),
      home: join(dir, '.sluice'),
      warehouse: wh,
      allowedRoots: [outside],
    });

    expect(result.error).toBeUndefined();
    expect(result.summary).toMatchObject({ read: 1, loaded: 1 });
  });
});
