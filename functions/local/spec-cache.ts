import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { loadSpecFile, parseSpec } from '../engine/spec/load.js';
import type { LoadedSpec } from '../engine/spec/parse.js';

/**
 * Parsed specs of this process, by file and exact text. A local run reads its spec three times (the
 * CLI's check, the runner, Prepare); parsing it is most of that (~20-40 ms of CPU each, cold). Each
 * read still reads the file, and parses again unless its text is the text parsed before, so an edited
 * spec is never served stale. Each caller gets its own copy of the spec: none sees another's changes.
 */
const parsed = new Map<string, { text: string; loaded: LoadedSpec }>();

/** Keeps `loaded`, the parse of `text` read from `file`, for loadSpecFileCached. */
export function rememberSpec(file: string, text: string, loaded: LoadedSpec): void {
  parsed.set(resolve(file), { text, loaded: { ...loaded, spec: structuredClone(loaded.spec) } });
}

/** loadSpecFile, reusing the parse of the same text of the same file. */
export async function loadSpecFileCached(file: string): Promise<LoadedSpec> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return loadSpecFile(file); // the same read fails again, with the error it reports
  }
  const key = resolve(file);
  let hit = parsed.get(key);
  if (hit?.text !== text) {
    hit = { text, loaded: parseSpec(text, file) };
    parsed.set(key, hit);
  }
  return { ...hit.loaded, file, spec: structuredClone(hit.loaded.spec) };
}
