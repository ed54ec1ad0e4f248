import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

export interface PipelineMonitoringProps {
  readonly pipeline: string;
  readonly dashboardName: string;
  readonly stateMachine: sfn.IStateMachine;
  /** The pipeline's functions by role (prepare, process-chunks, ...). */
  readonly functions: Record<string, lambda.IFunction>;
  /** Where failed trigger deliveries land. */
  readonly triggerFailures: sqs.IQueue;
  readonly alarmTopic: sns.ITopic;
  /** Namespace and `service` dimension of the pipeline's Powertools metrics. */
  readonly metricsNamespace: string;
  readonly serviceName: string;
  /** The spec's quality.maxRejectRatio (0..1): the reject alarm fires at half of it, before runs start failing. */
  readonly maxRejectRatio: number;
  /**
   * Alarm when no run succeeded for this long.
   * @default - no freshness alarm (the pipeline has no recurring schedule)
   */
  readonly freshnessWindow?: Duration;
  /**
   * The source is PostgreSQL change data capture: alarm when its replication slot is more than this many
   * bytes of WAL behind the source (metric `ReplicationSlotLagBytes`, published by each run's Prepare),
   * and, with a `freshnessWindow`, when no run measured the slot for that long.
   * @default - no slot-lag alarms (the source has no replication slot)
   */
  readonly replicationSlotMaxLagBytes?: number;
  /** Lines of Markdown at the top of the dashboard (trigger, Map settings, spec). */
  readonly description: string[];
}

/**
 * Alarms (to the stage's topic) and a dashboard for one pipeline: failed, timed-out and aborted
 * executions; function errors and throttles; lost trigger events; the reject ratio; freshness; and,
 * for a CDC source, how far its replication slot is behind the source's WAL.
 */
export class PipelineMonitoring extends Construct {
  public readonly alarms: cloudwatch.Alarm[] = [];
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: PipelineMonitoringProps) {
    super(scope, id);
    const sm = props.stateMachine;
    const action = new actions.SnsAction(props.alarmTopic);
    const alarm = (
      alarmId: string,
      metric: cloudwatch.Metric,
      description: string,
      options: Partial<cloudwatch.CreateAlarmOptions> = {},
    ) => {
      const created = metric.createAlarm(this, alarmId, {
        alarmDescription: `${props.pipeline}: ${description}`,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...options,
      });
      created.addAlarmAction(action);
      created.addOkAction(action);
      this.alarms.push(created);
      return created;
    };

    const fiveMinutes = { period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM };
    alarm(
      'ExecutionsFailed',
      sm.metricFailed(fiveMinutes),
      'a run failed (sluice runs shows why; sluice redrive retries it)',
    );
    alarm('ExecutionsTimedOut', sm.metricTimedOut(fiveMinutes), 'a run hit the state machine timeout');
    alarm('ExecutionsAborted', sm.metricAborted(fiveMinutes), 'a run was stopped');
    for (const [name, fn] of Object.entries(props.functions)) {
      const title = name.replace(/(^|-)(\w)/g, (_, __, c: string) => c.toUpperCase());
      alarm(
        `${title}Errors`,
        fn.metricErrors(fiveMinutes),
        `the ${name} function failed (retried by the state machine)`,
      );
      alarm(
        `${title}Throttles`,
        fn.metricThrottles(fiveMinutes),
        `the ${name} function was throttled (reserved concurrency reached)`,
      );
    }
    alarm(
      'TriggerFailures',
      props.triggerFailures.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      'a schedule or upload event could not start a run; it waits in the trigger failure queue',
    );

    const rejectRatio = new cloudwatch.Metric({
      namespace: props.metricsNamespace,
      metricName: 'RejectRatio',
      dimensionsMap: { service: props.serviceName, pipeline: props.pipeline },
      statistic: cloudwatch.Stats.MAXIMUM,
      period: Duration.hours(1),
      unit: cloudwatch.Unit.PERCENT,
    });
    const rejectThreshold = (props.maxRejectRatio * 100) / 2;
    alarm(
      'RejectRatio',
      rejectRatio,
      `a run rejected more than ${rejectThreshold}% of its rows (the quality limit is ${props.maxRejectRatio * 100}%)`,
      {
        threshold: rejectThreshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      },
    );

    if (props.freshnessWindow) {
      const { period, periods } = alarmPeriodsOf(props.freshnessWindow);
      alarm(
        'Freshness',
        sm.metricSucceeded({ period, statistic: cloudwatch.Stats.SUM }),
        `no run succeeded in the last ${props.freshnessWindow.toHumanString()}: the data is stale`,
        {
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          evaluationPeriods: periods,
          datapointsToAlarm: periods,
          // No successful execution publishes no datapoint at all: that is exactly the stale case.
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        },
      );
    }

    const slotLag = props.replicationSlotMaxLagBytes
      ? this.replicationSlotAlarms(props, props.replicationSlotMaxLagBytes, alarm)
      : undefined;

    const rows = (metricName: string) =>
      new cloudwatch.Metric({
        namespace: props.metricsNamespace,
        metricName,
        dimensionsMap: { service: props.serviceName, pipeline: props.pipeline },
        statistic: cloudwatch.Stats.SUM,
        period: Duration.hours(1),
      });
    const fnMetrics = (pick: (fn: lambda.IFunction) => cloudwatch.IMetric) =>
      Object.values(props.functions).map(pick);
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.days(7),
      widgets: [
        [new cloudwatch.TextWidget({ markdown: props.description.join('\n\n'), width: 24, height: 3 })],
        [
          new cloudwatch.GraphWidget({
            title: 'Runs',
            left: [
              sm.metricStarted(),
              sm.metricSucceeded(),
              sm.metricFailed(),
              sm.metricTimedOut(),
              sm.metricAborted(),
            ],
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'Run duration',
            left: [
              sm.metricTime({ statistic: cloudwatch.Stats.AVERAGE }),
              sm.metricTime({ statistic: cloudwatch.Stats.MAXIMUM }),
            ],
            width: 12,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Rows per run',
            left: [rows('RowsLoaded'), rows('RowsRejected')],
            width: 12,
          }),
          new cloudwatch.GraphWidget({ title: 'Reject ratio (%)', left: [rejectRatio], width: 12 }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Function errors',
            left: fnMetrics((f) => f.metricErrors()),
            width: 8,
          }),
          new cloudwatch.GraphWidget({
            title: 'Function throttles',
            left: fnMetrics((f) => f.metricThrottles()),
            width: 8,
          }),
          new cloudwatch.GraphWidget({
            title: 'Function duration (p90)',
            left: fnMetrics((f) => f.metricDuration({ statistic: 'p90' })),
            width: 8,
          }),
        ],
        ...(slotLag ? [[slotLag]] : []),
        [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 })],
      ],
    });
  }

  /**
   * A stalled CDC pipeline is not only stale: its slot makes the source keep every byte of WAL written
   * since the last run, until the source's disk fills or `max_slot_wal_keep_size` drops the slot's WAL
   * (and the next run must refuse). So: an alarm on the lag itself, and one when runs stop measuring it.
   */
  private replicationSlotAlarms(
    props: PipelineMonitoringProps,
    maxLagBytes: number,
    alarm: (
      id: string,
      metric: cloudwatch.Metric,
      description: string,
      options: Partial<cloudwatch.CreateAlarmOptions>,
    ) => cloudwatch.Alarm,
  ): cloudwatch.GraphWidget {
    const lag = (statistic: string, period: Duration) =>
      new cloudwatch.Metric({
        namespace: props.metricsNamespace,
        metricName: 'ReplicationSlotLagBytes',
        dimensionsMap: { service: props.serviceName, pipeline: props.pipeline },
        statistic,
        period,
      });
    const limit = formatBytes(maxLagBytes);
    alarm(
      'ReplicationSlotLag',
      lag(cloudwatch.Stats.MAXIMUM, Duration.minutes(5)),
      `the source's replication slot is more than ${limit} of WAL behind (source.config.cdc.maxLagBytes): runs are not keeping up with the source's changes, and the source keeps at least that much WAL on disk for them; see docs/cdc.md`,
      {
        threshold: maxLagBytes,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        // One datapoint per run: between runs the alarm keeps what the last run measured.
        treatMissingData: cloudwatch.TreatMissingData.IGNORE,
      },
    );
    if (props.freshnessWindow) {
      const { period, periods } = alarmPeriodsOf(props.freshnessWindow);
      alarm(
        'ReplicationSlotLagMissing',
        lag(cloudwatch.Stats.SAMPLE_COUNT, period),
        `no run measured the source's replication slot in the last ${props.freshnessWindow.toHumanString()}: while runs stall, the slot keeps every byte of WAL on the source; see docs/cdc.md`,
        {
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          evaluationPeriods: periods,
          datapointsToAlarm: periods,
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        },
      );
    }
    return new cloudwatch.GraphWidget({
      title: 'Replication slot lag (bytes of WAL behind the source)',
      left: [lag(cloudwatch.Stats.MAXIMUM, Duration.minutes(5))],
      leftAnnotations: [{ value: maxLagBytes, label: `alarm above ${limit}` }],
      width: 24,
    });
  }
}

/**
 * Periods that cover a window for a "no datapoint in the window" alarm: one period of the window itself
 * up to a day, else days (an alarm's period is at most a day).
 */
function alarmPeriodsOf(window: Duration): { period: Duration; periods: number } {
  const seconds = window.toSeconds();
  const period = Duration.seconds(Math.min(seconds, Duration.days(1).toSeconds()));
  return { period, periods: Math.ceil(seconds / period.toSeconds()) };
}

/** 1073741824 → "1 GiB", 500000000 → "476.8 MiB": for alarm descriptions. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}

/**
 * How long a pipeline on this schedule may go without a successful run: twice the interval between
 * runs, so one missed or failed run is tolerated. Undefined for one-off (`at`) and monthly or rarer
 * schedules, which a CloudWatch alarm cannot watch (its evaluation range ends at 7 days).
 */
export function freshnessWindowOf(schedule: string | undefined): Duration | undefined {
  const interval = scheduleIntervalHours(schedule);
  if (interval === undefined) return undefined;
  const hours = Math.max(1, Math.ceil(2 * interval));
  return hours <= 7 * 24 ? Duration.hours(hours) : undefined;
}

const UNIT_HOURS: Record<string, number> = {
  minute: 1 / 60,
  minutes: 1 / 60,
  hour: 1,
  hours: 1,
  day: 24,
  days: 24,
};

/** Approximate hours between runs of an EventBridge Scheduler expression. */
export function scheduleIntervalHours(schedule: string | undefined): number | undefined {
  if (!schedule) return undefined;
  const rate = /^rate\((\d+) (\w+)\)$/.exec(schedule);
  if (rate) return Number(rate[1]) * (UNIT_HOURS[rate[2]!] ?? Number.NaN);
  const cron = /^cron\((.+)\)$/.exec(schedule);
  if (!cron) return undefined;
  const [minutes, hours, dayOfMonth, , dayOfWeek] = cron[1]!.trim().split(/\s+/);
  const any = (field: string | undefined) => field === undefined || field === '*' || field === '?';
  const step = (field: string | undefined) => /^(?:\*|\d+)\/(\d+)$/.exec(field ?? '')?.[1];
  if (any(hours) || step(hours)) {
    if (any(minutes)) return 1 / 60;
    const minuteStep = step(minutes);
    if (minuteStep) return Number(minuteStep) / 60;
    return step(hours) ? Number(step(hours)) : 1;
  }
  if (any(dayOfMonth) && any(dayOfWeek)) return 24;
  if (any(dayOfMonth) && dayOfWeek) {
    const days = countWeekdays(dayOfWeek);
    // Weekday schedules have a weekend gap: three days is the longest wait between runs.
    return days >= 5 ? 72 : (7 * 24) / Math.max(days, 1);
  }
  return 31 * 24;
}

const WEEKDAYS: Record<string, number> = { SUN: 1, MON: 2, TUE: 3, WED: 4, THU: 5, FRI: 6, SAT: 7 };

/** Days a cron day-of-week field selects, e.g. MON-FRI → 5, SAT,SUN → 2, 2#1 → 1. */
function countWeekdays(field: string): number {
  const day = (d: string) => WEEKDAYS[d.toUpperCase()] ?? Number(d);
  return field.split(',').reduce((n, part) => {
    const range = /^(\w+)-(\w+)$/.exec(part);
    if (!range) return n + 1;
    const from = day(range[1]!);
    const to = day(range[2]!);
    return n + (Number.isNaN(from) || Number.isNaN(to) ? 1 : ((to - from + 7) % 7) + 1);
  }, 0);
}
