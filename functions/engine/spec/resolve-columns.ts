import { columnsReadBy } from '../transforms/expression-columns.js';
import { COLUMN_TYPE_PATTERN, type PipelineSpec } from './schema.js';
import { suggestName } from './suggest-name.js';

/*
 * Column resolution: every column a transform names (select, drop, rename, cast, default, trim, case,
 * hash, dedupe, and the names read inside derive/filter expressions) and every destination column must
 * resolve, in transform order, against the source's columns plus what earlier transforms derived or
 * renamed. A name that resolves to nothing would load NULL in every row: it is a spec error instead.
 *
 * Without the source's columns (`sluice validate` offline) the row is "open": a name not produced by a
 * transform is assumed to come from the source, so only what the spec itself contradicts is reported
 * (a column read after a drop, a rename or outside a select, a dedupe key nothing produces).
 */

/** A column the source reports (DiscoveredColumn has this shape). */
export interface SourceColumnName {
  name: string;
  /** A destination type when the source knows it. */
  type?: string;
}

/** One unresolved name: where in the spec (a field path) and what is wrong. */
export interface ColumnProblem {
  path: (string | number)[];
  message: string;
}

export interface ColumnResolution {
  problems: ColumnProblem[];
  /**
   * Source columns that reach no destination column and that no transform names, under the name they
   * reach the end of the transforms with: what `destination.schemaEvolution` governs. Undefined when
   * the source's columns are not known.
   */
  unreached?: { name: string; type: string }[];
}

interface Present {
  /** The source column this one carries (through renames and casts); undefined for derived columns. */
  source?: string;
}

/** How many column names an error lists before "…". */
const LISTED = 30;

/**
 * Resolves the spec's column names against the source's columns (or, offline, against what the spec
 * says). Pure: no I/O.
 */
export function resolveColumns(
  spec: PipelineSpec,
  sourceColumns?: readonly SourceColumnName[],
): ColumnResolution {
  const problems: ColumnProblem[] = [];
  const row = new Map<string, Present>();
  for (const c of sourceColumns ?? []) row.set(c.name, { source: c.name });
  /** Names that left the row, and how (for the message). */
  const gone = new Map<string, string>();
  /** Source columns some transform names: used on purpose even if they are not loaded. */
  const named = new Set<string>();
  let open = sourceColumns === undefined;
  let closedBy: string | undefined;

  const where = () =>
    closedBy ? `among the columns ${closedBy} keeps` : sourceColumns ? 'among the source columns' : '';
  const listed = () => {
    const names = [...row.keys()];
    return names.length > LISTED ? `${names.slice(0, LISTED).join(', ')}, …` : names.join(', ');
  };
  const unresolved = (name: string, path: (string | number)[], role: string) => {
    const how = gone.get(name);
    const guess = how ? undefined : suggestName(name, row.keys());
    const hint = guess ? `; did you mean "${guess}"?` : '';
    const message = how
      ? `${role} "${name}" ${how}`
      : `${role} "${name}" is not ${where() || 'a column here'}${hint} (columns here: ${listed() || 'none'})`;
    problems.push({ path, message });
  };
  /** Marks a name as read; reports it when nothing provides it. */
  const need = (name: string, path: (string | number)[], options: { nested?: boolean } = {}) => {
    const present = row.get(name);
    if (present) {
      if (present.source) named.add(present.source);
      return true;
    }
    // `a.b` in an expression: field b of object column a, when there is no column "a.b".
    if (options.nested && name.includes('.')) {
      const head = row.get(name.slice(0, name.indexOf('.')));
      if (head) {
        if (head.source) named.add(head.source);
        return true;
      }
    }
    if (open && !gone.has(name)) {
      // Offline: assume the source has it, from here on.
      row.set(name, { source: name });
      named.add(name);
      return true;
    }
    unresolved(name, path, 'column');
    return false;
  };
  const needAll = (names: readonly string[], path: (string | number)[]) => {
    names.forEach((name, j) => {
      need(name, [...path, j]);
    });
  };
  const needExpression = (source: string, path: (string | number)[]) => {
    let columns: ReturnType<typeof columnsReadBy>;
    try {
      columns = columnsReadBy(source);
    } catch {
      return; // does not parse: compiling the transforms reports it, with its position
    }
    for (const c of columns) need(c.name, path, { nested: !c.quoted });
  };
  const remove = (name: string, how: string) => {
    row.delete(name);
    gone.set(name, how);
  };

  spec.transforms.forEach((t, i) => {
    const at = `transforms[${i}]`;
    if ('select' in t) {
      needAll(t.select, ['transforms', i, 'select']);
      const kept = new Set(t.select);
      for (const name of [...row.keys()]) if (!kept.has(name)) remove(name, `is not kept by ${at}.select`);
      open = false;
      closedBy = `${at}.select`;
    } else if ('drop' in t) {
      t.drop.forEach((name, j) => {
        if (need(name, ['transforms', i, 'drop', j])) remove(name, `was dropped by ${at}.drop`);
      });
    } else if ('rename' in t) {
      const moved: [string, Present][] = [];
      for (const [from, to] of Object.entries(t.rename)) {
        if (!need(from, ['transforms', i, 'rename', from])) continue;
        moved.push([to, row.get(from)!]);
        remove(from, `was renamed to "${to}" by ${at}.rename`);
      }
      for (const [to, present] of moved) {
        row.set(to, present);
        gone.delete(to);
      }
    } else if ('cast' in t) {
      need(t.cast.column, ['transforms', i, 'cast', 'column']);
    } else if ('default' in t) {
      // A default fills a missing column too, so it provides the name.
      for (const name of Object.keys(t.default)) {
        if (!row.has(name)) {
          row.set(name, {});
          gone.delete(name);
        } else {
          const source = row.get(name)?.source;
          if (source) named.add(source);
        }
      }
    } else if ('derive' in t) {
      for (const [column, source] of Object.entries(t.derive)) {
        needExpression(source, ['transforms', i, 'derive', column]);
        row.set(column, {});
        gone.delete(column);
      }
    } else if ('filter' in t) {
      needExpression(t.filter, ['transforms', i, 'filter']);
    } else if ('trim' in t) {
      if (t.trim !== 'all') needAll(t.trim, ['transforms', i, 'trim']);
    } else if ('case' in t) {
      needAll(t.case.columns, ['transforms', i, 'case', 'columns']);
    } else if ('hash' in t) {
      needAll(t.hash.columns, ['transforms', i, 'hash', 'columns']);
    }
  });

  // dedupe runs on the transformed rows, whatever its place in the list.
  spec.transforms.forEach((t, i) => {
    if ('dedupe' in t && t.dedupe.key) needAll(t.dedupe.key, ['transforms', i, 'dedupe', 'key']);
  });

  const destination = spec.destination.columns;
  for (const name of Object.keys(destination)) {
    const present = row.get(name);
    if (present) {
      if (present.source) named.add(present.source);
      continue;
    }
    if (open && !gone.has(name)) continue;
    unresolved(name, ['destination', 'columns', name], 'destination column');
  }

  if (!sourceColumns) return { problems };
  const types = new Map(sourceColumns.map((c) => [c.name, c.type]));
  const unreached: { name: string; type: string }[] = [];
  for (const [name, present] of row) {
    if (present.source === undefined || name in destination || named.has(present.source)) continue;
    const type = types.get(present.source);
    unreached.push({ name, type: type && COLUMN_TYPE_PATTERN.test(type) ? type : 'text' });
  }
  return { problems, unreached };
}

/** The freeze refusal's text (the run fails with it, located at destination.schemaEvolution). */
export function schemaFrozenMessage(
  table: string,
  source: string,
  columns: readonly { name: string; type: string }[],
): string {
  return `schemaEvolution is freeze and source ${source} has ${columns.length} column(s) that ${table} does not: ${columns
    .map((c) => `${c.name} (${c.type})`)
    .join(
      ', ',
    )}; add them to destination.columns, drop them with a drop transform, or set schemaEvolution: evolve or discard`;
}
