// The Fargate task sizes ECS accepts (CPU units → memory MiB), checked at synth instead of at deploy.

/**
 * Valid Fargate (Linux) task memory per CPU value, from the ECS developer guide's table "Task CPU and
 * memory" (https://docs.aws.amazon.com/AmazonECS/latest/userguide/task-cpu-memory-error.html, read
 * 2026-12-04): 8 and 16 vCPU need platform version 1.4.0 or later, which is the LATEST CDK deploys.
 */
const FARGATE_MEMORY: Readonly<Record<number, { min: number; max: number; step: number }>> = {
  256: { min: 512, max: 2048, step: 512 },
  512: { min: 1024, max: 4096, step: 1024 },
  1024: { min: 2048, max: 8192, step: 1024 },
  2048: { min: 4096, max: 16384, step: 1024 },
  4096: { min: 8192, max: 30720, step: 1024 },
  8192: { min: 16384, max: 61440, step: 4096 },
  16384: { min: 32768, max: 122880, step: 8192 },
};

/** The CPU values Fargate accepts, in units of 1/1024 vCPU. */
export const FARGATE_CPU_VALUES = Object.keys(FARGATE_MEMORY).map(Number);

/**
 * Why `cpu`/`memoryMiB` is not a Fargate task size, or undefined when it is. The message lists what
 * this CPU value accepts, so the fix is in the error.
 */
export function fargateSizeProblem(cpu: number, memoryMiB: number): string | undefined {
  const range = FARGATE_MEMORY[cpu];
  if (!range) return `cpu ${cpu} is not a Fargate CPU value (one of ${FARGATE_CPU_VALUES.join(', ')})`;
  const fits =
    memoryMiB >= range.min &&
    memoryMiB <= range.max &&
    (memoryMiB - range.min) % range.step === 0 &&
    // 256 CPU units take 512, 1024 or 2048 MiB only.
    (cpu !== 256 || [512, 1024, 2048].includes(memoryMiB));
  if (fits) return undefined;
  const allowed =
    cpu === 256 ? '512, 1024 or 2048' : `${range.min} to ${range.max} in steps of ${range.step}`;
  return `memoryMiB ${memoryMiB} is not valid with cpu ${cpu} on Fargate (allowed: ${allowed} MiB)`;
}
