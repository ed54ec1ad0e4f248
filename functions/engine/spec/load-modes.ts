// The spec rules of the load modes that keep a source's changes: deletes (hard | soft | ignore) and history (SCD type 2).

/** What the checks read of `destination` (structural: the schema module imports this one). */
export interface ModeDestination {
  mode: string;
  columns: Record<string, unknown>;
  key?: string[] | undefined;
  partitioning?: { column: string } | undefined;
  deletes?: 'hard' | 'soft' | 'ignore' | undefined;
  softDeleteColumn?: string | undefined;
  history?:
    | { validFrom: string; validTo: string; isCurrent: string; tracked?: string[] | undefined }
    | undefined;
}

/** zod's refinement context, as far as these checks use it. */
export interface IssueSink {
  addIssue(issue: { code: 'custom'; path: (string | number)[]; message: string }): void;
}

/** `deletes`: only for upsert and history, one identity column, a soft-delete column Sluice owns. */
export function checkDeletes(dest: ModeDestination, ctx: IssueSink): void {
  const key = dest.key;
  const part = dest.partitioning?.column;
  const columns = dest.columns;
  const isHistory = dest.mode === 'history';
  const deletes = dest.deletes ?? 'ignore';
  if (deletes !== 'ignore') {
    const identity = (key ?? []).filter((k) => k !== part);
    if (isHistory && deletes === 'soft')
      ctx.addIssue({
        code: 'custom',
        path: ['destination', 'deletes'],
        message: 'mode: history closes the version of a deleted key: use deletes: hard (or ignore)',
      });
    else if (dest.mode !== 'upsert' && !isHistory)
      ctx.addIssue({
        code: 'custom',
        path: ['destination', 'deletes'],
        message: `deletes: ${deletes} needs mode: upsert or history (the target must hold one row per source key)`,
      });
    else if (key && identity.length !== 1)
      ctx.addIssue({
        code: 'custom',
        path: ['destination', 'key'],
        message: `deletes: ${deletes} needs exactly one key column${part === undefined ? '' : ` besides the partition column "${part}"`} (the source's key), not ${identity.length}`,
      });
    const soft = dest.softDeleteColumn ?? 'deleted_at';
    if (deletes === 'soft' && columns[soft])
      ctx.addIssue({
        code: 'custom',
        path: ['destination', 'columns', soft],
        message: `"${soft}" is the soft-delete column Sluice sets: remove it from columns, or name another with softDeleteColumn`,
      });
  }
  if (deletes !== 'soft' && dest.softDeleteColumn !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['destination', 'softDeleteColumn'],
      message: 'is used only with deletes: soft',
    });
  }
}

/** mode: history — the added columns are not declared, the partition column is validFrom, tracked columns exist. */
export function checkHistory(dest: ModeDestination, ctx: IssueSink): void {
  const h = dest.history ?? { validFrom: 'valid_from', validTo: 'valid_to', isCurrent: 'is_current' };
  const added = [h.validFrom, h.validTo, h.isCurrent];
  if (new Set(added).size !== 3)
    ctx.addIssue({
      code: 'custom',
      path: ['destination', 'history'],
      message: 'validFrom, validTo and isCurrent must be three different names',
    });
  for (const name of added)
    if (dest.columns[name])
      ctx.addIssue({
        code: 'custom',
        path: ['destination', 'columns', name],
        message: `"${name}" is a history column Sluice adds: remove it from columns, or rename it under destination.history`,
      });
  // Unpartitioned (no partitioning) is a plain history table; partitioned, it is by the version's start.
  if (dest.partitioning && dest.partitioning.column !== h.validFrom)
    ctx.addIssue({
      code: 'custom',
      path: ['destination', 'partitioning', 'column'],
      message: `mode: history partitions by the version's start: set it to "${h.validFrom}"`,
    });
  (h.tracked ?? []).forEach((name, i) => {
    if (!dest.columns[name] || (dest.key ?? []).includes(name))
      ctx.addIssue({
        code: 'custom',
        path: ['destination', 'history', 'tracked', i],
        message: `"${name}" is not a destination column outside the key`,
      });
  });
}

/**
 * What is wrong with a destination for a source that delivers changes (CDC): they are applied by key to
 * a table holding one row per key (upsert) or every version (history). Undefined when nothing is.
 */
export function changeCaptureProblem(dest: ModeDestination): { path: string[]; message: string } | undefined {
  if (dest.mode !== 'upsert' && dest.mode !== 'history')
    return {
      path: ['destination', 'mode'],
      message: `source.config.cdc applies changes by key: destination.mode must be upsert or history, not ${dest.mode}`,
    };
  if (!dest.key?.length)
    return {
      path: ['destination', 'key'],
      message: 'source.config.cdc applies changes by key: set destination.key',
    };
  return undefined;
}
