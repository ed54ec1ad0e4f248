import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A PostgreSQL front that checks a cleartext password, then pipes the connection to the real server.
 * The test server trusts every local connection (pg_hba `trust`), which would accept ANY password and
 * prove nothing about rotation; this front answers a wrong password with exactly what PostgreSQL sends
 * (FATAL, SQLSTATE 28P01), so the client's re-read-on-authentication-failure path runs for real.
 */
export class PasswordCheckingProxy {
  /** The password it accepts now; change it to rotate. */
  password: string;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  /** Connections refused for a wrong password. */
  rejected = 0;

  private constructor(password: string, upstream: { host: string; port: number }) {
    this.password = password;
    this.server = createServer((client) => this.accept(client, upstream));
  }

  static async start(
    password: string,
    upstream: { host: string; port: number },
  ): Promise<PasswordCheckingProxy> {
    const proxy = new PasswordCheckingProxy(password, upstream);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  /** Drops every open connection, as `pg_terminate_backend` would. */
  killConnections(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.killConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, upstream: { host: string; port: number }): void {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => {});
    let buffered = Buffer.alloc(0);
    let startup: Buffer | undefined;
    let user = '';
    const onData = (data: Buffer) => {
      buffered = Buffer.concat([buffered, data]);
      if (!startup) {
        if (buffered.length < 4) return;
        const len = buffered.readInt32BE(0);
        if (buffered.length < len) return;
        startup = buffered.subarray(0, len);
        buffered = buffered.subarray(len);
        const params = startup.subarray(8).toString('utf8').split('\0');
        user = params[params.indexOf('user') + 1] ?? '';
        // AuthenticationCleartextPassword
        client.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3]));
        return;
      }
      if (buffered.length < 5) return;
      const len = buffered.readInt32BE(1);
      if (buffered.length < len + 1) return;
      const password = buffered.subarray(5, len).toString('utf8').replace(/\0$/, '');
      const rest = buffered.subarray(len + 1);
      client.off('data', onData);
      if (password !== this.password) {
        this.rejected++;
        client.end(errorResponse('28P01', `password authentication failed for user "${user}"`));
        return;
      }
      const server = connect(upstream.port, upstream.host, () => {
        server.write(startup!);
        if (rest.length) server.write(rest);
        client.pipe(server);
        server.pipe(client);
      });
      this.sockets.add(server);
      server.on('close', () => {
        this.sockets.delete(server);
        client.destroy();
      });
      server.on('error', () => client.destroy());
      client.on('close', () => server.destroy());
    };
    client.on('data', onData);
  }
}

function errorResponse(code: string, message: string): Buffer {
  const fields = Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${message}\0\0`, 'utf8');
  const head = Buffer.alloc(5);
  head.write('E', 0);
  head.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([head, fields]);
}
