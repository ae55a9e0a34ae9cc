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
