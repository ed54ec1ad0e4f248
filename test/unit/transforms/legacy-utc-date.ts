// The hand-written UTC Date that @date-fns/utc replaced in functions/engine/transforms/cast.ts, kept only as
// the reference for test/unit/transforms/utc-date-differential.test.ts.
/**
 * A Date whose local-time methods are its UTC ones, so date-fns parses and formats wall-clock values
 * without the machine's time zone (no DST gaps on a laptop that Lambda, in UTC, would not have).
 * date-fns builds further dates through the `constructDateFrom` symbol, which keeps them UtcDates.
 */
const constructFromSymbol = Symbol.for('constructDateFrom');

export class UtcDate extends Date {
  [constructFromSymbol](value: Date | number | string): UtcDate {
    return new UtcDate(value instanceof Date ? value.getTime() : value);
  }

  override getFullYear(): number {
    return this.getUTCFullYear();
  }
  override getMonth(): number {
    return this.getUTCMonth();
  }
  override getDate(): number {
    return this.getUTCDate();
  }
  override getDay(): number {
    return this.getUTCDay();
  }
  override getHours(): number {
    return this.getUTCHours();
  }
  override getMinutes(): number {
    return this.getUTCMinutes();
  }
  override getSeconds(): number {
    return this.getUTCSeconds();
  }
  override getMilliseconds(): number {
    return this.getUTCMilliseconds();
  }
  override getTimezoneOffset(): number {
    return 0;
  }
  // Rest parameters forward exactly the arguments given: an explicit `undefined` would make NaN.
  override setFullYear(...args: [year: number, month?: number, date?: number]): number {
    return this.setUTCFullYear(...args);
  }
  override setMonth(...args: [month: number, date?: number]): number {
    return this.setUTCMonth(...args);
  }
  override setDate(date: number): number {
    return this.setUTCDate(date);
  }
  override setHours(...args: [hours: number, min?: number, sec?: number, ms?: number]): number {
    return this.setUTCHours(...args);
  }
  override setMinutes(...args: [min: number, sec?: number, ms?: number]): number {
    return this.setUTCMinutes(...args);
  }
  override setSeconds(...args: [sec: number, ms?: number]): number {
    return this.setUTCSeconds(...args);
  }
  override setMilliseconds(ms: number): number {
    return this.setUTCMilliseconds(ms);
  }
}

/** The `in` context for date-fns: results are UtcDates. */
export function inUtc(value: Date | number | string): UtcDate {
  return new UtcDate(value instanceof Date ? value.getTime() : value);
}
