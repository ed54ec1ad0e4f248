import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgliteWarehouse } from '../../../functions/adapters/warehouse/pglite.js';
import httpSource from '../../../functions/connectors/http/connector.js';
import { type LocalRunOptions, runPipelineLocally } from '../../../functions/local/runner.js';
import { checkSourceContract } from '../../../functions/sdk/contract.js';
import { specFromFixture } from './databases.js';
import { TicketApi } from './ticket-api.js';

describe('http source against a local ticket API', () => {
  const api = new TicketApi();
  let wh: PgliteWarehouse;
  let specFile: string;
  const home = mkdtempSync(join(tmpdir(), 'sluice-home-'));
  const logger = { debug() {}, info() {}, warn() {}, error() {} };
  const run = (extra: Partial<LocalRunOptions> = {}) =>
    runPipelineLocally({ specFile, home, warehouse: wh, logger, ...extra });
  const count = async (sql: string) => Number((await wh.query<{ n: string }>(sql)).rows[0]!.n);
  const cursor = async () =>
    (await wh.query<{ state: unknown }>(`SELECT state FROM sluice.cursors WHERE pipeline = 'api-tickets'`))
      .rows[0]?.state;
  const variant = (edit: (text: string) => string) => {
    const file = specFromFixture('api-tickets.yaml', { BASE_URL: api.url });
    writeFileSync(file, edit(readFileSync(file, 'utf8')));
    return file;
  };

  beforeAll(async () => {
    process.env.SLUICE_SECRET_HTTP_TEST_TOKEN = 's3cret';
    await api.start();
    api.add(100, '2026-01-05T08:00:00Z');
    wh = await PgliteWarehouse.open();
    specFile = specFromFixture('api-tickets.yaml', { BASE_URL: api.url });
  });
  afterAll(async () => {
    await wh?.close();
    await api.stop();
    delete process.env.SLUICE_SECRET_HTTP_TEST_TOKEN;
  });

  it('loads every page once through 429s, and sets the cursor to the newest updated_at', async () => {
    const result = await run();

    expect(result.error).toBeUndefined();
    expect(api.throttled).toBeGreaterThan(0);
    expect(result.summary?.chunks).toBe(5); // 15 pages of 7, 3 per chunk
    expect(result.summary?.loaded).toBe(100);
    expect(await count('SELECT count(DISTINCT id) AS n FROM support.tickets')).toBe(100);
    expect(await cursor()).toEqual({ field: 'updated_at', value: '2026-01-05T09:39:00.000Z' });
  });

  it('loads only the new tickets on the next run', async () => {
    api.add(10, '2026-02-01T00:00:00Z');

    const result = await run();

    expect(result.error).toBeUndefined();
    expect(result.summary?.loaded).toBe(10);
    expect(await count('SELECT count(*) AS n FROM support.tickets')).toBe(110);
    expect(await cursor()).toEqual({ field: 'updated_at', value: '2026-02-01T00:09:00.000Z' });
  });

  it('backfills a window without moving the cursor', async () => {
    const before = await cursor();

    const result = await run({ backfill: { from: '2026-01-05T08:00:00Z', to: '2026-01-05T08:10:00Z' } });

    expect(result.error).toBeUndefined();
    // updated_since is exclusive at the API: 08:01 … 08:09
    expect(result.summary?.loaded).toBe(9);
    expect(await cursor()).toEqual(before);
  });

  it('fails naming the source and the cause when the API answers HTML, cursor untouched', async () => {
    const before = await cursor();
    const file = variant((t) => t.replace(`${api.url}/tickets`, `${api.url}/html`));

    const result = await runPipelineLocally({ specFile: file, home, warehouse: wh, logger });

    expect(result.status).toBe('failed');
    expect(result.error).toMatch(
      /source http: GET http:\/\/127\.0\.0\.1:\d+\/html\?updated_since=.* returned text\/html that is not JSON: HTML page "Sign in - Acme Helpdesk"/,
    );
    expect(await cursor()).toEqual(before);
  });

  it('fails naming the source and the cause on an endless pagination loop, cursor untouched', async () => {
    const before = await cursor();
    const file = variant((t) =>
      t
        .replace(`${api.url}/tickets`, `${api.url}/loop`)
        .replace('{ type: cursor, param: cursor, path: meta.next }', '{ type: next-link, path: links.next }'),
    );

    const result = await runPipelineLocally({ specFile: file, home, warehouse: wh, logger });

    expect(result.status).toBe('failed');
    expect(result.error).toMatch(
      /source http: pagination loops: .*\/loop\?cursor=x points back to .*\/loop\?cursor=x/,
    );
    expect(await cursor()).toEqual(before);
  });

  it('fails naming the source when the token is wrong, cursor untouched', async () => {
    const before = await cursor();
    process.env.SLUICE_SECRET_HTTP_TEST_TOKEN = 'wrong';
    try {
      const result = await run();

      expect(result.status).toBe('failed');
      expect(result.error).toMatch(/source http: GET .*\/tickets.* answered 401 Unauthorized/);
      expect(result.error).not.toContain('wrong');
    } finally {
      process.env.SLUICE_SECRET_HTTP_TEST_TOKEN = 's3cret';
    }
    expect(await cursor()).toEqual(before);
  });

  it.each([
    ['page', { type: 'page', param: 'page', start: 1 }],
    ['offset', { type: 'offset', param: 'offset', limitParam: 'limit', limit: 9 }],
    ['cursor', { type: 'cursor', param: 'cursor', path: 'meta.next' }],
    ['next-link (body)', { type: 'next-link', path: 'links.next' }],
    ['next-link (Link header)', { type: 'next-link' }],
  ])('keeps the connector contract with %s pagination', async (_name, pagination) => {
    const findings = await checkSourceContract({
      connector: httpSource,
      config: {
        url: `${api.url}/tickets`,
        recordPath: 'data',
        pagination,
        auth: { type: 'bearer' },
        cursor: { field: 'updated_at' },
        pagesPerChunk: 2,
        backoffSeconds: 0.01,
      },
      credentials: { token: 's3cret' },
      identity: (row) => String(row.id),
      expectedRows: api.tickets.length,
    });

    expect(findings).toEqual([]);
  });
});
