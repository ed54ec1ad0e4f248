/** What Step Functions does around a Distributed Map, done locally: ItemReader + ItemBatcher before it, ResultWriter after it. */
import { randomUUID } from 'node:crypto';
import type { Storage } from '../engine/ports/storage.js';
import { LOCAL_STATE_FIELD_PREFIX } from './asl.js';
import { assertMapItems, assertStatePayload } from './limits.js';

export interface ReadItemsInput {
  Key: string;
  MaxItemsPerBatch?: number;
  BatchInput?: Record<string, unknown>;
  Batched?: boolean;
}

/** ItemReader (S3 JSON array) + ItemBatcher, as Step Functions does them; more Map items than AWS allows fail. */
export async function readItems(
  staging: Storage,
  mapName: string,
  input: ReadItemsInput,
): Promise<{ items: unknown[] }> {
  const items = JSON.parse((await staging.readBytes(input.Key)).toString('utf8')) as unknown[];
  if (!input.Batched) {
    assertMapItems(mapName, items.length);
    return { items };
  }
  const size = Math.max(1, input.MaxItemsPerBatch ?? 1);
  const batches: unknown[] = [];
  for (let i = 0; i < items.length; i += size) {
    batches.push({ Items: items.slice(i, i + size), BatchInput: input.BatchInput ?? {} });
  }
  assertMapItems(mapName, batches.length);
  return { items: batches };
}

export interface MapResultsInput {
  /** The whole state after the inline Map, child results in `__sluiceResults`. */
  state: Record<string, unknown>;
  MapName: string;
  /** The Map's own ResultPath (null discards its result). */
  ResultPath: string | null;
  /** The Map's ResultWriter Parameters, resolved. */
  ResultWriter?: { Bucket: string; Prefix?: string };
}

/**
 * After the Map: with a ResultWriter, the child results go to staging (manifest.json and
 * SUCCEEDED_0.json under `<Prefix>/<map run id>/`, as Step Functions lays them out) and the Map's result
 * is only where they are; without one, the results array is the Map's result and must fit in the state.
 * Either way the Map's ResultPath is applied and the fields the local rewrite added are dropped.
 */
export async function finishMap(staging: Storage, input: MapResultsInput): Promise<Record<string, unknown>> {
  const results = (input.state[`${LOCAL_STATE_FIELD_PREFIX}Results`] ?? []) as unknown[];
  const state = Object.fromEntries(
    Object.entries(input.state).filter(([k]) => !k.startsWith(LOCAL_STATE_FIELD_PREFIX)),
  );
  let result: unknown;
  if (input.ResultWriter) {
    const mapRunId = randomUUID();
    const prefix = `${(input.ResultWriter.Prefix ?? '').replace(/\/+$/, '')}/${mapRunId}`.replace(/^\//, '');
    const succeeded = results.map((output) => ({ Status: 'SUCCEEDED', Output: JSON.stringify(output) }));
    const body = JSON.stringify(succeeded);
    await staging.write(`${prefix}/SUCCEEDED_0.json`, body);
    const manifest = {
      DestinationBucket: input.ResultWriter.Bucket,
      MapRunArn: `arn:aws:states:local:000000000000:mapRun:local/${input.MapName}:${mapRunId}`,
      ResultFiles: {
        FAILED: [],
        PENDING: [],
        SUCCEEDED: [{ Key: `${prefix}/SUCCEEDED_0.json`, Size: Buffer.byteLength(body) }],
      },
    };
    await staging.write(`${prefix}/manifest.json`, JSON.stringify(manifest));
    result = {
      MapRunArn: manifest.MapRunArn,
      ResultWriterDetails: { Bucket: input.ResultWriter.Bucket, Key: `${prefix}/manifest.json` },
    };
  } else {
    // What Step Functions would have to hold in the state: the whole array of child results.
    assertStatePayload(`${input.MapName} (its child results, without a ResultWriter)`, 'output', results);
    result = results;
  }
  return applyResultPath(state, input.ResultPath, result);
}

/** JSONPath ResultPath for the forms a definition here uses: null, `$`, and `$.a.b`. */
export function applyResultPath(
  state: Record<string, unknown>,
  path: string | null,
  result: unknown,
): Record<string, unknown> {
  if (path === null) return state;
  if (path === '$') return result as Record<string, unknown>;
  const parts = /^\$(\.[A-Za-z_][\w]*)+$/.test(path) ? path.slice(2).split('.') : undefined;
  if (!parts)
    throw new Error(`the local runner supports ResultPath null, "$" or "$.a.b" on a Map, not ${path}`);
  const copy = structuredClone(state);
  let node: Record<string, unknown> = copy;
  for (const part of parts.slice(0, -1)) {
    if (!node[part] || typeof node[part] !== 'object') node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = result;
  return copy;
}
