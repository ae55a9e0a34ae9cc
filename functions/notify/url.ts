// Which webhook addresses the notifier posts to: https anywhere; plain http only to this machine
// (127.0.0.1, localhost, [::1]) and only when running locally, for testing against a local
// receiver. Errors name the variable and the host, never the whole address: the path of a Slack
// webhook is its secret.
import { WebhookConfigError } from './errors';

const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '[::1]']);

export interface WebhookUrlRules {
  /** The variable (or secret) the address came from, named in errors. */
  variable: string;
  /** Local runs may post to a receiver on this machine over plain http. */
  allowLoopbackHttp: boolean;
}

export function webhookUrl(raw: string, rules: WebhookUrlRules): URL {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new WebhookConfigError(`${rules.variable} is not a URL (expected https://…, e.g. a Slack incoming webhook).`, rules.variable);
  }
  // fetch refuses such an address at every send; say so once, now, without echoing the password.
  if (url.username !== '' || url.password !== '') {
    throw new WebhookConfigError(`${rules.variable} must not carry a user name or password (…@${url.hostname}): webhooks are sent without them; use the receiver's secret URL (a Slack incoming webhook's path is its secret).`, rules.variable);
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && rules.allowLoopbackHttp && LOOPBACK_HOSTS.has(url.hostname)) return url;
  const allowed = rules.allowLoopbackHttp ? 'an https:// URL (plain http:// only to 127.0.0.1 or localhost, for testing)' : 'an https:// URL';
  throw new WebhookConfigError(`${rules.variable} must be ${allowed}; found a ${url.protocol}// URL to ${url.hostname}.`, rules.variable);
}

/** The address as it may be shown: scheme and host only. */
export function describeWebhook(url: URL): string {
  return `${url.protocol}//${url.host}/…`;
}
