import { hostname } from 'node:os';

/** A local lock holder: this host and process, so a later run can tell a killed run from a live one. */
export function localHolder(): string {
  return `local:${hostname()}:${process.pid}`;
}

/** False only when the holder is a local process on this host that no longer exists. */
export function isLocalHolderAlive(holder: string): boolean {
  const m = /^local:(.+):(\d+)$/.exec(holder);
  if (!m || m[1] !== hostname()) return true;
  try {
    process.kill(Number(m[2]), 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
