import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Ticket {
  id: number;
  updated_at: string;
  day: string;
  subject: string;
}

/**
 * A small ticket API for the tests: `GET /tickets?cursor=&updated_since=` pages of `pageSize`
 * (`{ data, meta: { next } }`), `?page=` and `?offset=&limit=` variants, next links, bearer auth, and
 * a 429 with Retry-After on every `throttleEvery`-th request. `/html` answers a web page and
 * `/loop` links to itself forever.
 */
export class TicketApi {
  readonly tickets: Ticket[] = [];
  requests = 0;
  throttled = 0;
  pageSize = 7;
  throttleEvery = 4;
  private server: Server | undefined;
  url = '';

  add(count: number, updatedFrom: string): void {
    const start = Date.parse(updatedFrom);
    for (let i = 0; i < count; i++) {
      const id = this.tickets.length + 1;
      const at = new Date(start + i * 60_000).toISOString();
      this.tickets.push({ id, updated_at: at, day: at.slice(0, 10), subject: `ticket ${id}` });
    }
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((res) => this.server!.listen(0, '127.0.0.1', res));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    await new Promise((res) => this.server?.close(res));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests++;
    const url = new URL(req.url ?? '/', this.url);
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/html') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(
        '<!doctype html><html><head><title>Sign in - Acme Helpdesk</title></head><body>…</body></html>',
      );
      return;
    }
    if (url.pathname === '/loop') {
      json(200, { data: [{ id: this.requests }], links: { next: `${this.url}/loop?cursor=x` } });
      return;
    }
    if (req.headers.authorization !== 'Bearer s3cret') {
      json(401, { error: 'unauthorized' });
      return;
    }
    if (this.throttleEvery > 0 && this.requests % this.throttleEvery === 0) {
      this.throttled++;
      json(429, { error: 'slow down' }, { 'retry-after': '0' });
      return;
    }
    const since = url.searchParams.get('updated_since');
    const rows = this.tickets.filter((t) => since === null || Date.parse(t.updated_at) > Date.parse(since));
    let from = 0;
    if (url.searchParams.has('cursor')) from = Number(url.searchParams.get('cursor'));
    if (url.searchParams.has('page')) from = (Number(url.searchParams.get('page')) - 1) * this.pageSize;
    if (url.searchParams.has('offset')) from = Number(url.searchParams.get('offset'));
    const size = url.searchParams.has('limit') ? Number(url.searchParams.get('limit')) : this.pageSize;
    const data = rows.slice(from, from + size);
    const more = from + size < rows.length;
    const nextLink = new URL(url);
    nextLink.searchParams.set('cursor', String(from + size));
    json(
      200,
      {
        data,
        meta: { next: more ? String(from + size) : null },
        links: { next: more ? nextLink.toString() : null },
      },
      more ? { link: `<${nextLink.toString()}>; rel="next"` } : {},
    );
  }
}
