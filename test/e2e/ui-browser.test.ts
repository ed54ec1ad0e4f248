import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PgliteWarehouse } from '../../functions/adapters/warehouse/pglite.js';
import { getRun, type RunRecord } from '../../functions/engine/read-side/index.js';
import { runCli } from '../support/cli.js';
import { type ConsoleRuns, seedConsoleRuns } from '../support/console-runs.js';

const A11Y = {
  unlabelledControls: readFileSync('test/support/a11y-unlabelled.js', 'utf8'),
  lowContrastText: readFileSync('test/support/a11y-contrast.js', 'utf8'),
};

/**
 * `sluice ui` in a real browser: Debian's chromium driven by playwright-core, over a database with a
 * succeeded and a failed run. Under CI=true it always runs (.ci/run installs chromium); elsewhere, without
 * chromium, it is skipped with a message saying so.
 */
const IN_CI = process.env.CI === 'true';
const CHROMIUM = process.env.SLUICE_CHROMIUM ?? findChromium();
const SCREENSHOTS = join('test', 'e2e', '.screenshots');

function findChromium(): string | undefined {
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined;
    } catch {}
  }
  return undefined;
}

if (!CHROMIUM && !IN_CI)
  console.warn(
    '[ui-browser] SKIPPING the browser test: no chromium on PATH (apt-get install chromium, or set SLUICE_CHROMIUM). With CI=true this fails instead.',
  );

describe.skipIf(!CHROMIUM && !IN_CI)('sluice ui in headless Chromium', () => {
  let runs: ConsoleRuns;
  let expected: { succeeded: RunRecord; failed: RunRecord };
  let ui: ReturnType<typeof runCli>;
  let base: string;
  let browser: Browser;
  let page: Page;
  const foreignRequests: string[] = [];
  const pageErrors: string[] = [];
  const dialogs: string[] = [];

  beforeAll(async () => {
    if (!CHROMIUM)
      throw new Error('chromium is not installed: .ci/run installs it (apt-get install chromium)');
    // The embedded PGlite under the run's home, whatever database this shell names: the console and the
    // check below read that one.
    vi.stubEnv('DATABASE_URL', '');
    vi.stubEnv('SLUICE_DATABASE_SECRET', '');
    runs = await seedConsoleRuns();
    // What the read side says, read before the console holds the embedded database.
    const wh = await PgliteWarehouse.open(join(runs.home, 'pglite'));
    try {
      expected = {
        succeeded: (await getRun(wh, runs.succeeded))!,
        failed: (await getRun(wh, runs.failed))!,
      };
    } finally {
      await wh.close();
    }
    ui = runCli(['ui', '--home', runs.home, '--port', '0'], { DATABASE_URL: '', SLUICE_DATABASE_SECRET: '' });
    base = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`sluice ui printed no URL: ${ui.child.stderr?.read() ?? ''}`)),
        60_000,
      );
      let out = '';
      ui.child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[0]);
        }
      });
      ui.child.once('exit', (code) => reject(new Error(`sluice ui exited with ${code}`)));
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    // Every request leaves through here: anything not for the console's own host is blocked and recorded.
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.hostname === '127.0.0.1') return route.continue();
      foreignRequests.push(url.href);
      return route.abort();
    });
    page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') pageErrors.push(msg.text());
    });
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, 240_000);

  afterAll(async () => {
    vi.unstubAllEnvs();
    await browser?.close();
    ui?.child.kill('SIGTERM');
    await ui;
  });

  async function open(path: string, shot: string) {
    const res = await page.goto(new URL(path, base).href);
    expect(res?.status(), path).toBe(200);
    await page.screenshot({ path: join(SCREENSHOTS, `${shot}.png`), fullPage: true });
  }

  const count = async (key: string) =>
    Number(((await page.locator(`[data-count="${key}"]`).first().textContent()) ?? '').replaceAll(',', ''));

  /** lang, one h1, every form control labelled, and text contrast of at least 4.5:1 (3:1 for large text). */
  async function assertAccessible(path: string) {
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    expect(await page.locator('h1').count(), `${path}: one h1`).toBe(1);
    // In-page checks are plain scripts (test/support/a11y-*.js): this file has no DOM types.
    const unlabelled = (await page.evaluate(A11Y.unlabelledControls)) as string[];
    expect(unlabelled, `${path}: unlabelled controls`).toEqual([]);
    const lowContrast = (await page.evaluate(A11Y.lowContrastText)) as string[];
    expect(lowContrast, `${path}: text below WCAG AA contrast`).toEqual([]);
  }

  it('opens every page, accessible, with nothing requested from any other host', async () => {
    const pages: Array<[string, string]> = [
      ['/', 'pipelines'],
      ['/pipelines/orders', 'run-history'],
      [`/runs/${runs.succeeded}`, 'run-succeeded'],
      [`/runs/${runs.failed}`, 'run-failed'],
      [`/runs/${runs.succeeded}/rejects`, 'rejects'],
      ['/tables', 'tables'],
      ['/tables/analytics/orders', 'table-partitions'],
    ];
    for (const [path, shot] of pages) {
      await open(path, shot);
      await assertAccessible(path);
    }
    expect(foreignRequests).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('shows the numbers the read side records for a succeeded and a failed run', async () => {
    const s = expected.succeeded;
    await open(`/runs/${runs.succeeded}`, 'run-succeeded');
    for (const key of ['read', 'loaded', 'rejected', 'filtered', 'uncommitted'] as const)
      expect(await count(key), key).toBe(s.counts[key]);
    expect(await page.getAttribute('[data-adds-up]', 'data-adds-up')).toBe('true');

    await open(`/runs/${runs.failed}`, 'run-failed');
    expect(expected.failed.status).toBe('failed');
    expect(await page.getByRole('alert').textContent()).toBe(expected.failed.error);
    for (const key of ['read', 'loaded', 'rejected', 'filtered', 'uncommitted'] as const)
      expect(await count(key), key).toBe(expected.failed.counts[key]);
    expect(expected.failed.counts).toMatchObject({ loaded: 0, rejected: 18 });
  });

  it('plots the run history with the locally served chart library', async () => {
    await open('/pipelines/orders', 'run-history');
    await page.waitForSelector('body[data-charts="drawn"]');
    expect(await page.locator('.uplot canvas').count()).toBe(3);
    expect(await page.locator('tr[data-run]').count()).toBe(2);
    await page.screenshot({ path: join(SCREENSHOTS, 'run-history.png'), fullPage: true });
  });

  it('goes from a run to its rejects, filters them by column, and shows hostile values as text', async () => {
    await open(`/runs/${runs.succeeded}`, 'run-succeeded');
    await page.click('#rejects-link');
    await page.waitForURL(`**/runs/${runs.succeeded}/rejects`);
    expect(await count('total')).toBe(expected.succeeded.counts.rejected);
    await page.getByLabel('Column').selectOption('quantity');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/column=quantity/);
    expect(await count('matched')).toBe(7);
    const hostile = page.locator('tr.reject', { hasText: 'orders-2026-07.csv:2' });
    expect(await hostile.locator('pre.raw').textContent()).toContain(
      '"quantity": "<script>alert(1)</script>"',
    );
    expect(await page.locator('main script, main img').count()).toBe(0);
    expect(dialogs).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, 'rejects-filtered.png'), fullPage: true });
  });

  it('can be used from the keyboard: skip link first, visible focus, the filter reachable by Tab', async () => {
    await open('/', 'pipelines');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.className')).toBe('skip');
    await page.keyboard.press('Tab');
    const outline = await page.evaluate('getComputedStyle(document.activeElement).outlineStyle');
    expect(outline).not.toBe('none');
    await open(`/runs/${runs.succeeded}/rejects`, 'rejects');
    const reached: string[] = [];
    for (let i = 0; i < 30 && !reached.includes('f-reason'); i++) {
      await page.keyboard.press('Tab');
      reached.push(String(await page.evaluate("document.activeElement?.id ?? ''")));
    }
    expect(reached).toContain('f-column');
    expect(reached).toContain('f-reason');
  });
});
