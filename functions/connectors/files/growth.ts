// A file loaded before that changed since: did it only grow (the old bytes a prefix of the new), and where do its new records start?
import { createHash } from 'node:crypto';
import type { ObjectInfo, Storage } from '../../sdk/index.js';
import type { PreviousUnitVersion } from '../../sdk/source.js';
import { SourceError } from './errors.js';

/** A file whose change is not growth, in append mode: refused, naming it and the way to load it anyway. */
export class ChangedFileError extends SourceError {
  constructor(where: string, why: string) {
    super(
      `${where} changed since an earlier run loaded it, and not only by growing: ${why}. ` +
        'In append mode loading it again would load its earlier rows twice. Restore the file, or set ' +
        'source.config.changedFiles: reload to load it whole again (its earlier rows then load a second time).',
    );
    this.name = 'ChangedFileError';
  }
}

/**
 * Where a changed file's new records start, when the file only grew: the first `previous.size` bytes
 * hash to the bookmarked content, and the old content ended at a line end (or the new file ends the
 * old last line with just a line break). Returns that byte offset; the caller checks that it is a
 * record boundary while it scans the file (a quote left open would make it a line inside a record).
 *
 * @throws ChangedFileError naming the file and what changed.
 */
export async function growthStart(
  storage: Storage,
  info: ObjectInfo,
  previous: PreviousUnitVersion,
  where: string,
  options: { gzip: boolean; format: string },
): Promise<number> {
  const n = previous.size;
  if (options.gzip)
    throw new ChangedFileError(
      where,
      'it is gzip-compressed (a grown .gz is not a byte prefix of the new one)',
    );
  if (options.format === 'json')
    throw new ChangedFileError(where, 'a JSON array cannot grow by appending bytes');
  if (previous.sha256 === undefined)
    throw new ChangedFileError(where, 'its bookmark has no content hash to compare the new content with');
  if (info.size < n) throw new ChangedFileError(where, `it shrank from ${n} to ${info.size} bytes`);
  if (n === 0) return 0;
  const head = await storage.readBytes(
    info.key,
    { start: 0, end: Math.min(info.size, n + 2) },
    { ifMatch: info.etag },
  );
  const hash = createHash('sha256').update(head.subarray(0, n)).digest('hex');
  if (hash !== previous.sha256)
    throw new ChangedFileError(
      where,
      `its first ${n} bytes (the content loaded before) are not the same any more`,
    );
  if (head[n - 1] === 0x0a) return n;
  const tail = head.subarray(n);
  if (tail.length === 0) return n;
  if (tail[0] === 0x0a) return n + 1;
  if (tail[0] === 0x0d && tail[1] === 0x0a) return n + 2;
  throw new ChangedFileError(
    where,
    `its last line, loaded before without a line break, was extended (byte ${n} continues it)`,
  );
}
