/*
 * "Did you mean": the closest known name by edit distance. Hand-written (ten lines of the textbook
 * dynamic programme) rather than a dependency: it compares names of at most 63 characters against a
 * few hundred candidates, once per error, so speed does not matter and there is nothing to get wrong
 * that the unit test does not pin.
 */

/** Levenshtein distance: insertions, deletions and substitutions of one UTF-16 unit each cost 1. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(substitution, previous[j]! + 1, current[j - 1]! + 1);
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The candidate a misspelt `name` most likely meant: an exact match ignoring case first, else the
 * nearest within a third of the name's length (at least 2 edits), ties to the first candidate.
 * Undefined when nothing is close: a wild guess would mislead more than no guess.
 *
 * @example suggestName('amout', ['amount', 'currency']) // 'amount'
 */
export function suggestName(name: string, candidates: Iterable<string>): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const candidate of candidates) {
    if (candidate === name) continue;
    if (candidate.toLowerCase() === lower) return candidate;
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}
