// Typed errors of the Lambda handlers.

/** The event is not what the stack's schedules send; nothing was processed. */
export class InvalidSchedulerEventError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid scheduler event: ${problems.join('; ')}`);
    this.name = 'InvalidSchedulerEventError';
  }
}

/** The function's configuration (environment) is incomplete. */
export class HandlerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HandlerConfigError';
  }
}

/** The run could not do its work (API or table unreachable): thrown so the delivery is retried and the alarm fires. */
export class RunFailedError extends Error {
  constructor(
    readonly runId: string,
    readonly errors: readonly { rule_id: string | null; code: string; message: string }[],
  ) {
    super(`Run ${runId} failed: ${errors.map((e) => `${e.code}: ${e.message}`).join('; ') || 'unknown error'}`);
    this.name = 'RunFailedError';
  }
}
