import { spawn } from 'node:child_process';

export interface ChildResult {
  /** Exit code; null when a signal ended it. */
  code: number | null;
  stdout: string;
  /** The last `stderrTailChars` characters of stderr: enough to say why it failed. */
  stderrTail: string;
}

/** Runs a command to its end with no stdin, keeping all of stdout and the tail of stderr. */
export async function runChild(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; stderrTailChars?: number } = {},
): Promise<ChildResult> {
  const tail = options.stderrTailChars ?? 4000;
  const child = spawn(command, args, {
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.env ? { env: options.env } : {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderrTail = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString('utf8');
  });
  child.stderr.on('data', (d: Buffer) => {
    stderrTail = (stderrTail + d.toString('utf8')).slice(-tail);
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  return { code, stdout, stderrTail };
}
