// The names the Lambda functions' logs, metrics and settings go by. The stack sets them on the
// functions and its alarms watch them, so they are written here once: an alarm on a name nothing
// emits would never fire, and a setting under another name would never be read.
export const SERVICE_NAME = 'thrad-autopilot';
export const METRICS_NAMESPACE = 'ThradAutopilot';
/** Failed status calls per run (the ActionFailures alarm). */
export const ACTION_FAILURES_METRIC = 'ActionFailures';
/** Org ticks the worker could not run (the message is retried, then dead-lettered): the RunFailures alarm. */
export const RUN_FAILURES_METRIC = 'RunFailures';
/** Registry entries the planner cannot serve (invalid, or a secret outside the prefix): the UnplannedOrgs alarm. */
export const UNPLANNED_ORGS_METRIC = 'UnplannedOrgs';
/** One per schedule group (dimension `schedule`: its group id) whose rules a completed run included: the RuleDidNotRun alarms. */
export const COMPLETED_RUNS_METRIC = 'CompletedRuns';
export const SCHEDULE_DIMENSION = 'schedule';
/** Notifications (digests, failure alerts) a run could not send; recorded in its summary too. */
export const NOTIFICATION_FAILURES_METRIC = 'NotificationFailures';
/** Tick messages the planner could not send after its retries (the invocation then fails and is retried). */
export const TICK_SEND_FAILURES_METRIC = 'TickSendFailures';

/** The deployment's default org (context secretName/secretArn): JSON of an org entry. */
export const DEFAULT_ORG_ENV = 'THRAD_DEFAULT_ORG';
/** The name prefix every registered org's secret must have (the worker may read only those). */
export const ORG_SECRET_PREFIX_ENV = 'THRAD_ORG_SECRET_PREFIX';
