import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Warehouse } from '../../../functions/engine/ports/warehouse.js';
import { parseSpec } from '../../../functions/engine/spec/load.js';

const ensureInternalSchema = vi.fn(async (_wh: Warehouse) => [1, 2]);
const ensureTargetTable = vi.fn(async (_wh: Warehouse, _dest: unknown, _meta: unknown) => ({
  created: true,
}));
vi.mock('../../../functions/engine/load/migrations.js', () => ({ ensureInternalSchema }));
vi.mock('../../../functions/engine/load/target.js', () => ({ ensureTargetTable }));
const ensureLogins = vi.fn(async (_wh: Warehouse, logins: { username: string }[]) =>
  logins.map((l) => l.username),
);
vi.mock('../../../functions/engine/load/logins.js', () => ({ ensureLogins }));

const { connectWithRetry, handleMigrationRequest } = await import('../../../functions/handlers/migrate.js');

const specYaml = `name: orders
version: 2
source: { connector: files, config: { location: s3://acme/orders/, format: csv } }
destination:
  schema: analytics
  table: orders
  columns: { id: { type: bigint, nullable: false }, day: { type: date, nullable: false } }
  partitioning: { column: day }
`;
const loaded = parseSpec(specYaml);

function fakeWarehouse(): Warehouse & { closed: boolean } {
  return {
    kind: 'pg',
    description: 'fake',
    closed: false,
    query: vi.fn(async () => ({ rows: [], rowCount: 0 })) as never,
    transaction: vi.fn() as never,
    async close() {
      this.closed = true;
    },
  };
}

function deps() {
  const puts: { key: string; body: string }[] = [];
  const warehouses: ReturnType<typeof fakeWarehouse>[] = [];
  return {
    puts,
    warehouses,
    stagingBucket: 'sluice-staging',
    openWarehouse: async () => {
      const wh = fakeWarehouse();
      warehouses.push(wh);
      return wh;
    },
    putStagingObject: async (key: string, body: string) => {
      puts.push({ key, body });
    },
    log: () => {},
  };
}

const request = (
  type: 'Create' | 'Update' | 'Delete',
  props: Record<string, unknown>,
  physicalId?: string,
) => ({
  RequestType: type,
  ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
  ResponseURL: 'https://example.com',
  StackId: 'stack',
  RequestId: 'req',
  LogicalResourceId: 'Release',
  ResourceType: 'Custom::SluicePipelineRelease',
  ResourceProperties: { ServiceToken: 'x', ...props },
  ...(physicalId ? { PhysicalResourceId: physicalId } : {}),
});

beforeEach(() => {
  ensureInternalSchema.mockClear();
  ensureLogins.mockClear();
  ensureTargetTable.mockClear();
});

describe('internal schema', () => {
  it('applies the versioned migrations and reports which ran', async () => {
    const d = deps();
    const out = await handleMigrationRequest(
      request('Create', { Kind: 'internal-schema', Code: 'abc.zip' }),
      d,
    );
    expect(out).toEqual({ PhysicalResourceId: 'sluice-internal-schema', Data: { Applied: '1,2' } });
    expect(ensureInternalSchema).toHaveBeenCalledTimes(1);
    expect(d.warehouses[0]?.closed).toBe(true);
  });

  it('creates the runtime logins from their secrets after the migrations, on the same connection', async () => {
    const order: string[] = [];
    ensureInternalSchema.mockImplementationOnce(async () => {
      order.push('migrations');
      return [5];
    });
    ensureLogins.mockImplementationOnce(async (_wh, logins) => {
      order.push('logins');
      return logins.map((l) => l.username);
    });
    const logins = [
      { group: 'loader' as const, username: 'sluice_loader_login', password: 'p'.repeat(32) },
      { group: 'reader' as const, username: 'sluice_reader_login', password: 'q'.repeat(32) },
    ];
    const d = { ...deps(), loginSecrets: async () => logins };

    await handleMigrationRequest(request('Update', { Kind: 'internal-schema', Code: 'def.zip' }), d);

    expect(order).toEqual(['migrations', 'logins']);
    expect(ensureLogins).toHaveBeenCalledWith(d.warehouses[0], logins);
    expect(d.warehouses).toHaveLength(1);
  });
});

describe('pipeline release', () => {
  it('publishes the spec under its content hash, then creates the target table with the spec it came from', async () => {
    const d = deps();
    const out = await handleMigrationRequest(
      request('Create', { Kind: 'pipeline', Pipeline: 'orders', Spec: JSON.stringify(loaded.spec) }),
      d,
    );
    const key = `specs/orders/${loaded.contentHash}.json`;
    expect(d.puts).toEqual([{ key, body: JSON.stringify(loaded.spec) }]);
    expect(parseSpec(d.puts[0]!.body).contentHash).toBe(loaded.contentHash);
    expect(ensureTargetTable).toHaveBeenCalledWith(expect.anything(), loaded.spec.destination, {
      pipeline: 'orders',
      version: 2,
      hash: loaded.contentHash,
    });
    expect(out).toEqual({
      PhysicalResourceId: 'sluice-pipeline-orders',
      Data: { SpecLocation: `s3://sluice-staging/${key}`, SpecHash: loaded.contentHash },
    });
  });

  it('publishes a changed spec under a new key, leaving the old one for runs in flight', async () => {
    const d = deps();
    await handleMigrationRequest(
      request(
        'Update',
        { Kind: 'pipeline', Pipeline: 'orders', Spec: JSON.stringify(loaded.spec) },
        'sluice-pipeline-orders',
      ),
      d,
    );
    const changed = { ...loaded.spec, version: 3 };
    await handleMigrationRequest(
      request(
        'Update',
        { Kind: 'pipeline', Pipeline: 'orders', Spec: JSON.stringify(changed) },
        'sluice-pipeline-orders',
      ),
      d,
    );
    expect(new Set(d.puts.map((p) => p.key)).size).toBe(2);
  });

  it('fails, publishing nothing, when the spec is invalid or names another pipeline', async () => {
    const d = deps();
    await expect(
      handleMigrationRequest(
        request('Create', {
          Kind: 'pipeline',
          Pipeline: 'orders',
          Spec: JSON.stringify({ ...loaded.spec, name: 'payments' }),
        }),
        d,
      ),
    ).rejects.toThrow(/named "payments" but the resource is for pipeline "orders"/);
    await expect(
      handleMigrationRequest(
        request('Create', { Kind: 'pipeline', Pipeline: 'orders', Spec: '{"name":"orders"}' }),
        d,
      ),
    ).rejects.toThrow(/source/);
    expect(d.puts).toEqual([]);
  });
});

describe('delete', () => {
  it('drops nothing: tables, data and published specs outlive the stack', async () => {
    const d = deps();
    const out = await handleMigrationRequest(
      request('Delete', { Kind: 'pipeline', Pipeline: 'orders', Spec: '{}' }, 'sluice-pipeline-orders'),
      d,
    );
    expect(out).toEqual({ PhysicalResourceId: 'sluice-pipeline-orders' });
    expect(d.warehouses).toEqual([]);
    expect(d.puts).toEqual([]);
  });
});

describe('connectWithRetry', () => {
  it('waits for a database that is not accepting connections yet', async () => {
    let attempts = 0;
    const pauses: number[] = [];
    const wh = await connectWithRetry(
      async () => {
        attempts++;
        if (attempts < 3) throw new Error('ECONNREFUSED');
        return fakeWarehouse();
      },
      { sleep: async (ms) => void pauses.push(ms), firstDelayMs: 100 },
    );
    expect(wh.kind).toBe('pg');
    expect(pauses).toEqual([100, 200]);
  });

  it('gives up after the last attempt with the database error', async () => {
    await expect(
      connectWithRetry(
        async () => {
          throw new Error('password authentication failed');
        },
        { attempts: 2, sleep: async () => {} },
      ),
    ).rejects.toThrow('password authentication failed');
  });
});
