// Typed errors of the Lambda handlers (the planner and the worker).

/** The event is not what the stack's schedule sends; nothing was planned. */
export class InvalidSchedulerEventError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid scheduler event: ${problems.join('; ')}`);
    this.name = 'InvalidSchedulerEventError';
  }
}

/** A tick message is not what the planner sends (or is not for its message group); nothing was run. */
export class InvalidTickMessageError extends Error {
  constructor(
    readonly messageId: string,
    readonly problems: readonly string[],
  ) {
    super(`Invalid tick message ${messageId}: ${problems.join('; ')}`);
    this.name = 'InvalidTickMessageError';
  }
}

/** The function's configuration (environment) is incomplete. */
export class HandlerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HandlerConfigError';
  }
}

/** The run could not do its work (API or table unreachable): thrown so the message is retried and the alarm fires. */
export class RunFailedError extends Error {
  constructor(
    readonly runId: string,
    readonly errors: readonly { rule_id: string | null; code: string; message: string }[],
  ) {
    super(`Run ${runId} failed: ${errors.map((e) => `${e.code}: ${e.message}`).join('; ') || 'unknown error'}`);
    this.name = 'RunFailedError';
  }
}

/** The org's secret holds a key of another ad account: nothing is run with it. */
export class KeyAccountMismatchError extends Error {
  constructor(
    readonly orgId: string,
    readonly expectedAccountId: string,
    readonly keyAccountId: string,
    secretId: string,
  ) {
    super(`Organization "${orgId}" is registered for ad account ${expectedAccountId}, but the key in ${secretId} answers for ${keyAccountId}: nothing was run. Put ${orgId}'s key in the secret (or register that organization under its own name).`);
    this.name = 'KeyAccountMismatchError';
  }
}

/** Tick messages the planner could not send after its retries; the others were sent. */
export class TickSendError extends Error {
  constructor(
    readonly tick: string,
    readonly failures: readonly { org_id: string; code: string; message: string }[],
  ) {
    super(`Could not send the tick ${tick} to ${failures.length} organization(s): ${failures.map((f) => `${f.org_id} (${f.code}: ${f.message})`).join('; ')}`);
    this.name = 'TickSendError';
  }
}
