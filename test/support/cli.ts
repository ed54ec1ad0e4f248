import { type ChildProcess, spawn } from 'node:child_process';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the `sluice` CLI as a user would (a separate node process), collecting its output. */
export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  cwd = process.cwd(),
): Promise<CliResult> & { child: ChildProcess } {
  const child = spawn(process.execPath, ['bin/sluice.mjs', ...args], {
    cwd,
    env: { ...process.env, CI: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<CliResult>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return Object.assign(done, { child });
}

/** Runs the CLI with `input` on its stdin (a pipe, not a terminal), as `printf … | sluice …` would. */
export function runCliWithInput(
  args: string[],
  input: string,
  env: NodeJS.ProcessEnv = {},
): Promise<CliResult> {
  const child = spawn(process.execPath, ['bin/sluice.mjs', ...args], {
    env: { ...process.env, CI: 'true', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdin!.end(input);
  return new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}
