/**
 * A transform in the spec that cannot be compiled (bad expression, format, option or missing key),
 * found once per chunk before any row is read. The message starts with the spec path.
 * @example new TransformConfigError('transforms[3].derive.total', 'invalid expression "a +"').message
 * // 'transforms[3].derive.total: invalid expression "a +"'
 */
export class TransformConfigError extends Error {
  constructor(
    readonly path: string,
    readonly detail: string,
  ) {
    super(`${path}: ${detail}`);
    this.name = 'TransformConfigError';
  }
}

/**
 * Refuses column names that would reach Object.prototype when used as a key on a plain row object.
 * Every transform checks the names it reads or writes, once, at compile time.
 */
export function assertSafeColumnName(name: string, path: string): void {
  if (name === '__proto__')
    throw new TransformConfigError(path, '"__proto__" cannot be used as a column name');
}
