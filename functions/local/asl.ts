import { readFileSync } from 'node:fs';
import { projectFile } from './paths.js';

/** The one state machine definition, used by CDK (DefinitionBody.fromFile) and by the local runner. */
export const ASL_FILE = projectFile('statemachines/pipeline.asl.json');

export type Substitutions = Record<string, string>;

/** The placeholders the definition expects, in the order they first appear. */
export function substitutionKeys(aslText: string): string[] {
  return [...new Set([...aslText.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]!))];
}

/**
 * Replaces `${Key}` like CDK's definitionSubstitutions do. Values are JSON-escaped so a path with a
 * quote or backslash cannot break the document; a missing key is an error, never an empty string.
 */
export function substitute(aslText: string, values: Substitutions): string {
  const missing = substitutionKeys(aslText).filter((k) => values[k] === undefined);
  if (missing.length > 0)
    throw new Error(`state machine definition needs substitutions for: ${missing.join(', ')}`);
  return aslText.replace(/\$\{(\w+)\}/g, (_, key: string) => JSON.stringify(values[key]).slice(1, -1));
}

export function readAsl(file = ASL_FILE): string {
  return readFileSync(file, 'utf8');
}

type Json = Record<string, unknown>;
type States = Record<string, Json>;

/** Name of the Task the runner inserts in front of a Distributed Map to read and batch its items. */
export const readItemsStateName = (mapName: string) => `${mapName}ReadItems`;

/** Name of the Task the runner inserts after a Distributed Map to write (ResultWriter) or keep its results. */
export const mapResultsStateName = (mapName: string) => `${mapName}Results`;

/** Fields the rewrite adds to the state data; they exist only locally (limits.ts does not count them). */
export const LOCAL_STATE_FIELD_PREFIX = '__sluice';

/**
 * aws-local-stepfunctions runs a Distributed Map as an inline Map and ignores ItemReader/ItemBatcher/
 * ResultWriter. This rewrites each such Map into what Step Functions does for it: a Task (run by the
 * runner) that reads the items from staging and batches them like ItemBatcher, feeding an inline Map over
 * `$.__sluiceItems`, then a Task that does what ResultWriter does with the child results (writes them to
 * staging and passes on only where they are) or, without one, checks they fit in the state, and applies
 * the Map's ResultPath and OutputPath. Every Task's Parameters, Retry and Catch are untouched.
 */
export function rewriteDistributedMaps(definition: Json): Json {
  const copy = structuredClone(definition);
  rewriteStates(copy.States as States);
  return copy;
}

function rewriteStates(states: States): void {
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === 'Parallel')
      for (const branch of state.Branches as Json[]) rewriteStates(branch.States as States);
    if (state.Type !== 'Map') continue;
    const processor = (state.ItemProcessor ?? state.Iterator) as Json | undefined;
    if (processor) rewriteStates(processor.States as States);
    const reader = state.ItemReader as Json | undefined;
    if (!reader) continue;
    const batcher = (state.ItemBatcher ?? {}) as Json;
    const params: Json = { ...(reader.Parameters as Json) };
    if (batcher.MaxItemsPerBatchPath) params['MaxItemsPerBatch.$'] = batcher.MaxItemsPerBatchPath;
    else if (batcher.MaxItemsPerBatch !== undefined) params.MaxItemsPerBatch = batcher.MaxItemsPerBatch;
    if (batcher.BatchInput) params.BatchInput = batcher.BatchInput;
    if (state.ItemBatcher) params.Batched = true;
    if (state.ToleratedFailurePercentagePath)
      params['ToleratedFailurePercentage.$'] = state.ToleratedFailurePercentagePath;
    if (state.ResultSelector)
      throw new Error(`${name}: the local runner does not emulate ResultSelector on a Distributed Map`);
    const readName = readItemsStateName(name);
    // Every way into the Map now goes through the read state first (redirected before it exists).
    for (const other of Object.values(states)) redirect(other, name, readName);
    states[readName] = {
      Type: 'Task',
      Comment: `local runner: ItemReader + ItemBatcher of ${name}`,
      Resource: 'arn:aws:states:::s3:getObject',
      Parameters: params,
      ResultPath: '$.__sluiceItems',
      Next: name,
    };
    const resultsName = mapResultsStateName(name);
    const writer = state.ResultWriter as Json | undefined;
    states[resultsName] = {
      Type: 'Task',
      Comment: `local runner: ${writer ? 'ResultWriter' : 'results'} of ${name}`,
      Resource: 'arn:aws:states:::s3:putObject',
      Parameters: {
        'state.$': '$',
        MapName: name,
        ResultPath: state.ResultPath === undefined ? '$' : state.ResultPath,
        ...(writer ? { ResultWriter: writer.Parameters } : {}),
      },
      ResultPath: '$',
      ...(state.OutputPath !== undefined ? { OutputPath: state.OutputPath } : {}),
      ...(state.Next ? { Next: state.Next } : { End: true }),
    };
    state.ResultPath = `$.${LOCAL_STATE_FIELD_PREFIX}Results`;
    state.Next = resultsName;
    delete state.End;
    delete state.OutputPath;
    delete state.ResultWriter;
    if (processor) delete processor.ProcessorConfig;
    delete state.ItemReader;
    delete state.ItemBatcher;
    delete state.ToleratedFailurePercentage;
    delete state.ToleratedFailurePercentagePath;
    delete state.Label;
    state.ItemsPath = '$.__sluiceItems.items';
  }
}

function redirect(state: Json, from: string, to: string): void {
  if (state.Next === from && state.Comment !== `local runner: ItemReader + ItemBatcher of ${from}`)
    state.Next = to;
  if (state.Default === from) state.Default = to;
  for (const choice of (state.Choices as Json[] | undefined) ?? [])
    if (choice.Next === from) choice.Next = to;
  for (const c of (state.Catch as Json[] | undefined) ?? []) if (c.Next === from) c.Next = to;
}

/** Every Task state name, including those nested in Parallel branches and Map processors. */
export function taskStateNames(definition: Json): string[] {
  const names: string[] = [];
  const walk = (states: States) => {
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Task') names.push(name);
      if (state.Type === 'Parallel') for (const b of state.Branches as Json[]) walk(b.States as States);
      if (state.Type === 'Map') walk(((state.ItemProcessor ?? state.Iterator) as Json).States as States);
    }
  };
  walk(definition.States as States);
  return names;
}

/** Names of states that have a Retry, so the runner can shorten local backoff without changing the file. */
export function retryingStateNames(definition: Json): string[] {
  const names: string[] = [];
  const walk = (states: States) => {
    for (const [name, state] of Object.entries(states)) {
      if (state.Retry) names.push(name);
      if (state.Type === 'Parallel') for (const b of state.Branches as Json[]) walk(b.States as States);
      if (state.Type === 'Map') walk(((state.ItemProcessor ?? state.Iterator) as Json).States as States);
    }
  };
  walk(definition.States as States);
  return names;
}

/**
 * Local pauses for each state's retriers (aws-local-stepfunctions takes one per retrier, in order): the
 * same retriers as AWS with shorter pauses, except waiting for the pipeline lock, which must outlast the
 * run that holds it (a burst of uploads queues behind one run; docs/deploy.md).
 */
export function localRetryIntervals(
  definition: Json,
  pauses: { defaultMs: number; lockMs: number },
): Record<string, number[]> {
  const intervals: Record<string, number[]> = {};
  const walk = (states: States) => {
    for (const [name, state] of Object.entries(states)) {
      const retry = state.Retry as { ErrorEquals: string[] }[] | undefined;
      if (retry)
        intervals[name] = retry.map((r) =>
          r.ErrorEquals.includes('PipelineLockedError') ? pauses.lockMs : pauses.defaultMs,
        );
      if (state.Type === 'Parallel') for (const b of state.Branches as Json[]) walk(b.States as States);
      if (state.Type === 'Map') walk(((state.ItemProcessor ?? state.Iterator) as Json).States as States);
    }
  };
  walk(definition.States as States);
  return intervals;
}
