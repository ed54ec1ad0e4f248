import { describe, expect, it } from 'vitest';
import { PRICES, scaleModel, VCPU_PER_ACU } from '../../bench/model.js';
import { parseBenchArgs } from '../../bench/options.js';

describe('the bench scale model for AWS', () => {
  // 4 µs of server CPU and 8 µs of chunk CPU per row, 100 bytes per row, 32 MiB chunks, one full vCPU.
  const model = scaleModel({
    source: 'example',
    serverCpuUsPerRow: 4,
    chunkCpuUsPerRow: 8,
    bytesPerRow: 100,
    chunkBytes: 32 * 1024 * 1024,
    lambdaMemoryMb: 1769,
  });

  it('turns CPU per row into rows/s per ACU and per Lambda, and the Map concurrency that saturates a writer', () => {
    expect(VCPU_PER_ACU).toBe(0.25);
    expect(model.rowsPerSecondPerAcu).toBeCloseTo(62_500, 6);
    expect(model.rowsPerSecondPerLambda).toBeCloseTo(125_000, 6);
    // 4 ACU = 250,000 rows/s of server work = 2 Lambdas' worth of chunks.
    expect(model.saturation.find((s) => s.acu === 4)?.concurrency).toBeCloseTo(2, 6);
  });

  it('prices 100M rows from the same numbers', () => {
    // 800 s of one vCPU at 1,769 MB; 400 s of server CPU = 1,600 ACU-seconds.
    expect(model.per100MRows.lambdaGbSeconds).toBeCloseTo(800 * (1769 / 1024), 6);
    expect(model.per100MRows.acuHours).toBeCloseTo(1600 / 3600, 9);
    expect(model.per100MRows.auroraUsd).toBeCloseTo((1600 / 3600) * PRICES.auroraAcuHour, 9);
    expect(model.per100MRows.chunks).toBe(Math.ceil(1e10 / (32 * 1024 * 1024)));
    expect(model.per100MRows.totalUsd).toBeCloseTo(
      model.per100MRows.lambdaUsd + model.per100MRows.auroraUsd + model.per100MRows.s3Usd,
      9,
    );
  });

  it('gives a Lambda below 1,769 MB its share of a vCPU, and never more than one (the chunk work is one thread)', () => {
    const small = scaleModel({ ...model, lambdaMemoryMb: 1024 });
    const big = scaleModel({ ...model, lambdaMemoryMb: 4096 });
    expect(small.lambdaVcpu).toBeCloseTo(1024 / 1769, 9);
    expect(big.lambdaVcpu).toBe(1);
  });
});

describe('npm run bench flags', () => {
  it('fails when --only names a step that does not exist', () => {
    expect(() => parseBenchArgs(['--only', 'sluice,saturaton'])).toThrow(
      '--only: "saturaton" is not one of sluice, psql, pgloader, bundles, scale, saturation',
    );
  });

  it('fails when --saturation-cpus is not a CPU list', () => {
    expect(() => parseBenchArgs(['--saturation-cpus', 'first'])).toThrow(
      '--saturation-cpus: "first" is not a CPU list such as 0 or 0-1',
    );
  });

  it('fails when a flag has no value', () => {
    expect(() => parseBenchArgs(['--rows'])).toThrow('--rows needs a value');
  });
});
