import * as logs from 'aws-cdk-lib/aws-logs';

/** The shortest CloudWatch Logs retention that keeps logs at least `days` days. */
export function toRetentionDays(days: number): logs.RetentionDays {
  const allowed = Object.values(logs.RetentionDays)
    .filter((v): v is number => typeof v === 'number' && v !== logs.RetentionDays.INFINITE)
    .sort((a, b) => a - b);
  return (allowed.find((d) => d >= days) ?? logs.RetentionDays.TEN_YEARS) as logs.RetentionDays;
}
