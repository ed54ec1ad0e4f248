import { createServer, type Server, Socket } from 'node:net';

/**
 * A TCP proxy for fault tests: listens on 127.0.0.1 (a free port), forwards every connection to a
 * target, and on command cuts all open connections, refuses new ones for a while, or cuts a connection
 * once it has carried N more bytes towards the target. A cut destroys both sides at once, so the client
 * sees a reset or an EOF and the server sees its client gone, as with a network blip.
 *
 * @example
 * const proxy = await TcpProxy.start({ host: '127.0.0.1', port: 5432 });
 * const url = `postgres://postgres@127.0.0.1:${proxy.port}/test`;
 * proxy.cutAll();           // drop every connection now
 * proxy.refuseFor(2000);    // and refuse new ones for 2 s
 */
export class TcpProxy {
  /** Connections accepted and forwarded so far. */
  accepted = 0;
  /** Connections cut by cutAll, cutAfterBytes or refuse. */
  cut = 0;
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  private refuseUntil = 0;
  private bytesBudget: number | undefined;
  private loseAnswerAfterMs: number | undefined;
  private droppingAnswers = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = createServer((client) => proxy?.accept(client, target));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP port');
    proxy = new TcpProxy(server, address.port);
    return proxy;
  }

  /** Connections open now. */
  get open(): number {
    return this.pairs.size;
  }

  /** Drops every open connection at once (both sides). */
  cutAll(): void {
    for (const pair of this.pairs) this.destroy(pair);
  }

  /** Refuses (accepts and drops at once) every new connection for `ms`; 0 ends a refusal early. */
  refuseFor(ms: number): void {
    this.refuseUntil = Date.now() + ms;
  }

  /** Cuts every open connection once `bytes` more bytes have gone towards the target (any connection). */
  cutAfterBytes(bytes: number): void {
    this.bytesBudget = bytes;
  }

  /**
   * Forwards the next bytes towards the target (a COMMIT, say), drops whatever the target answers, then
   * cuts every connection `ms` later: the server acted on the request, the client never hears it did.
   */
  loseNextAnswer(ms = 200): void {
    this.loseAnswerAfterMs = ms;
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, target: { host: string; port: number }): void {
    client.on('error', () => undefined);
    if (Date.now() < this.refuseUntil) {
      this.cut++;
      client.destroy();
      return;
    }
    this.accepted++;
    const upstream = new Socket();
    upstream.on('error', () => undefined);
    const pair = { client, upstream };
    this.pairs.add(pair);
    const drop = () => this.destroy(pair, false);
    client.on('close', drop);
    upstream.on('close', drop);
    client.on('data', (data: Buffer) => {
      const budget = this.bytesBudget;
      if (budget !== undefined) {
        if (data.length >= budget) {
          // Forward what fits, then cut: a connection that dies in the middle of a message.
          this.bytesBudget = undefined;
          upstream.write(data.subarray(0, budget));
          this.cutAll();
          return;
        }
        this.bytesBudget = budget - data.length;
      }
      const loseAfter = this.loseAnswerAfterMs;
      if (loseAfter !== undefined) {
        this.loseAnswerAfterMs = undefined;
        this.droppingAnswers = true;
        setTimeout(() => {
          this.cutAll();
          this.droppingAnswers = false;
        }, loseAfter);
      }
      upstream.write(data);
    });
    upstream.on('data', (data: Buffer) => {
      if (!this.droppingAnswers) client.write(data);
    });
    upstream.connect(target.port, target.host);
  }

  private destroy(pair: { client: Socket; upstream: Socket }, counted = true): void {
    if (!this.pairs.delete(pair)) return;
    if (counted) this.cut++;
    pair.client.destroy();
    pair.upstream.destroy();
  }
}
