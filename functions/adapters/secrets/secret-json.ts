import type * as z from 'zod';

/**
 * A secret whose value does not have the shape its reader expects. The message names the secret and
 * the shape, never the value nor any piece of it: `JSON.parse`'s own message quotes the text around
 * the error (`Unexpected token 'T', "Tr0ub4dor-"... is not valid JSON`), which for a secret is a leak.
 */
export class SecretFormatError extends Error {
  constructor(
    readonly secretName: string,
    problem: string,
  ) {
    super(`secret "${secretName}" ${problem} (its value is not shown)`);
    this.name = 'SecretFormatError';
  }
}

/**
 * Parses a secret's JSON value with a zod schema. Errors say which secret (by name), what shape was
 * expected and which fields are wrong (by path and kind), never a value.
 *
 * @example parseSecretJson('warehouse', text, databaseSecretSchema, 'a database secret { host, port, username, password, dbname }')
 */
export function parseSecretJson<T>(
  secretName: string,
  text: string,
  schema: z.ZodType<T>,
  expected: string,
): T {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new SecretFormatError(secretName, `is not JSON: expected ${expected}`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    // zod's issue codes and paths only: its messages can quote the input (an enum, a literal).
    const fields = parsed.error.issues
      .map((i) => `${i.path.map(String).join('.') || '(root)'} (${describeIssue(i)})`)
      .join(', ');
    throw new SecretFormatError(secretName, `is not ${expected}: check ${fields}`);
  }
  return parsed.data;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') return `expected ${issue.expected}`;
  if (issue.code === 'too_small') return 'too short or too small';
  if (issue.code === 'too_big') return 'too long or too big';
  return issue.code.replaceAll('_', ' ');
}
