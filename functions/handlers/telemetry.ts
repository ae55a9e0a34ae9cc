// The names the evaluate function's logs and metrics go by. The stack sets them on the function
// and its alarms watch them, so they are written here once: an alarm on a name nothing emits
// would never fire.
export const SERVICE_NAME = 'thrad-autopilot';
export const METRICS_NAMESPACE = 'ThradAutopilot';
/** Failed status calls per run (the ActionFailures alarm). */
export const ACTION_FAILURES_METRIC = 'ActionFailures';
