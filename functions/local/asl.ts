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

/**
 * aws-local-stepfunctions runs a Distributed Map as an inline Map and ignores ItemReader/ItemBatcher.
 * This rewrites each such Map into what Step Functions does for it: a Task (run by the runner) that reads
 * the items from staging and batches them like ItemBatcher, feeding an inline Map over `$.__sluiceItems`.
 * Everything else in the definition, including every Task's Parameters, Retry and Catch, is untouched.
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
