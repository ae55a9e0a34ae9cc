// Typed errors of the notification channels. None of their messages holds the webhook's address
// (a Slack webhook URL is itself a credential) or an API key.

export class NotifyError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NotifyError';
  }
}

/** A webhook address that is not one the notifier may post to (named by its variable). */
export class WebhookConfigError extends NotifyError {
  constructor(
    message: string,
    readonly variable: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'WebhookConfigError';
  }
}

/** The webhook's secret could not be read, or holds no address. */
export class WebhookUnavailableError extends NotifyError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'WebhookUnavailableError';
  }
}
