/**
 * The scale-out model for AWS, computed from what the bench measured: the server's CPU per loaded row
 * (the database side) and the Sluice process's CPU per row (the chunk side, which runs in Lambdas).
 * Formulas and sources are in bench/README.md ("Scale-out in AWS: the model"); the constants below are
 * the assumptions and list prices it names.
 */

/**
 * vCPU per Aurora Capacity Unit. AWS states only that "each ACU is a combination of approximately
 * 2 gibibytes (GiB) of memory, corresponding CPU, and networking"
 * (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2.requirements.html);
 * the memory-optimized classes Aurora's ACU is sized like (db.r6g/r7g: 8 GiB per vCPU) make 2 GiB a
 * quarter of a vCPU. An assumption, not an AWS figure.
 */
export const VCPU_PER_ACU = 0.25;
/** "At 1,769 MB, a function has the equivalent of one vCPU" (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html). */
export const LAMBDA_MB_PER_VCPU = 1769;
/** us-east-1 list prices, read 2026-12-05 (sources in bench/README.md). */
export const PRICES = {
  /** Lambda duration, x86, first tier (https://aws.amazon.com/lambda/pricing/). */
  lambdaGbSecond: 0.0000166667,
  /** Lambda requests (same page). */
  lambdaPerMillionRequests: 0.2,
  /** Aurora Serverless v2, Aurora Standard (https://aws.amazon.com/rds/aurora/pricing/). */
  auroraAcuHour: 0.12,
  /** S3 Standard PUT/COPY/POST/LIST and GET (https://aws.amazon.com/s3/pricing/). */
  s3PutPer1000: 0.005,
  s3GetPer1000: 0.0004,
} as const;
/** S3 requests per chunk in the AWS path: PUTs of the rejects and their reasons (no staged file since 7cd32c0); GETs of the source range and the header. */
export const S3_PUTS_PER_CHUNK = 2;
export const S3_GETS_PER_CHUNK = 2;
/** Writer sizes the generated table shows. */
export const MODEL_ACUS = [1, 4, 16, 64];

export interface ScaleModelInput {
  /** Which measurement the numbers come from, e.g. "sluice-append, 1,000,000 rows". */
  source: string;
  serverCpuUsPerRow: number;
  /** CPU per row on the chunk side (the Sluice process's CPU / rows: start-up, prepare and commit included, so an upper bound). */
  chunkCpuUsPerRow: number;
  bytesPerRow: number;
  chunkBytes: number;
  lambdaMemoryMb: number;
}

export interface ScaleModel extends ScaleModelInput {
  /** The vCPU share one chunk Lambda can use: its memory's share, at most one (the chunk work is one thread). */
  lambdaVcpu: number;
  rowsPerSecondPerAcu: number;
  rowsPerSecondPerLambda: number;
  /** Map concurrency at which a writer of `acu` ACUs saturates, for each of MODEL_ACUS. */
  saturation: { acu: number; rowsPerSecond: number; concurrency: number }[];
  per100MRows: {
    lambdaGbSeconds: number;
    lambdaUsd: number;
    acuHours: number;
    auroraUsd: number;
    chunks: number;
    s3Usd: number;
    totalUsd: number;
  };
}

export function scaleModel(input: ScaleModelInput): ScaleModel {
  const rows = 1e8;
  const lambdaVcpu = Math.min(input.lambdaMemoryMb / LAMBDA_MB_PER_VCPU, 1);
  const rowsPerSecondPerAcu = VCPU_PER_ACU / (input.serverCpuUsPerRow * 1e-6);
  const rowsPerSecondPerLambda = lambdaVcpu / (input.chunkCpuUsPerRow * 1e-6);
  const saturation = MODEL_ACUS.map((acu) => ({
    acu,
    rowsPerSecond: acu * rowsPerSecondPerAcu,
    concurrency: (acu * rowsPerSecondPerAcu) / rowsPerSecondPerLambda,
  }));
  const lambdaSeconds = (rows * input.chunkCpuUsPerRow * 1e-6) / lambdaVcpu;
  const lambdaGbSeconds = lambdaSeconds * (input.lambdaMemoryMb / 1024);
  const chunks = Math.ceil((rows * input.bytesPerRow) / input.chunkBytes);
  const lambdaUsd =
    lambdaGbSeconds * PRICES.lambdaGbSecond + (chunks / 1e6) * PRICES.lambdaPerMillionRequests;
  const acuHours = (rows * input.serverCpuUsPerRow * 1e-6) / VCPU_PER_ACU / 3600;
  const auroraUsd = acuHours * PRICES.auroraAcuHour;
  const s3Usd =
    ((chunks * S3_PUTS_PER_CHUNK) / 1000) * PRICES.s3PutPer1000 +
    ((chunks * S3_GETS_PER_CHUNK) / 1000) * PRICES.s3GetPer1000;
  return {
    ...input,
    lambdaVcpu,
    rowsPerSecondPerAcu,
    rowsPerSecondPerLambda,
    saturation,
    per100MRows: {
      lambdaGbSeconds,
      lambdaUsd,
      acuHours,
      auroraUsd,
      chunks,
      s3Usd,
      totalUsd: lambdaUsd + auroraUsd + s3Usd,
    },
  };
}

export function scaleModelMarkdown(models: ScaleModel[]): string {
  const n = (v: number, digits = 0) =>
    v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  const lines = [
    `| Measured on | Server CPU µs/row | Chunk CPU µs/row | Rows/s per ACU | Rows/s per Lambda (${models[0]?.lambdaMemoryMb ?? '?'} MB) | ${MODEL_ACUS.map((a) => `Map concurrency at saturation, ${a} ACU`).join(' | ')} |`,
    `|---|---:|---:|---:|---:|${MODEL_ACUS.map(() => '---:').join('|')}|`,
  ];
  for (const m of models)
    lines.push(
      `| ${m.source} | ${n(m.serverCpuUsPerRow, 2)} | ${n(m.chunkCpuUsPerRow, 2)} | ${n(m.rowsPerSecondPerAcu)} | ${n(m.rowsPerSecondPerLambda)} | ${m.saturation.map((s) => n(s.concurrency, 1)).join(' | ')} |`,
    );
  lines.push(
    '',
    '| Per 100M rows, measured on | Lambda GB-s | Lambda $ | ACU-h | Aurora $ | Chunks | S3 requests $ | Total $ |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const m of models) {
    const c = m.per100MRows;
    lines.push(
      `| ${m.source} | ${n(c.lambdaGbSeconds)} | ${n(c.lambdaUsd, 2)} | ${n(c.acuHours, 1)} | ${n(c.auroraUsd, 2)} | ${n(c.chunks)} | ${n(c.s3Usd, 3)} | ${n(c.totalUsd, 2)} |`,
    );
  }
  return lines.join('\n');
}
