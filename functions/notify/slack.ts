// Slack-compatible payloads: `{ text, blocks }`, the blocks mrkdwn sections and `text` the plain
// fallback Slack shows in notifications (and what a receiver that ignores blocks reads). Built
// from a message's content (engine/notifier.ts words it), so the digest reads the same in SNS,
// the console and Slack.

/** What a message says, before it is shaped for a channel. */
export interface MessageContent {
  kind: 'digest' | 'failure_alert';
  /** At most 100 characters (SNS's subject limit). */
  subject: string;
  /** The first line of the body. */
  intro: string;
  /** One line per decision (a bullet each). */
  lines: string[];
  /** Errors and hints after the lines. */
  notes: string[];
}

export interface SlackSection {
  type: 'section';
  text: { type: 'mrkdwn'; text: string };
}

export interface SlackPayload {
  text: string;
  blocks: SlackSection[];
}

/** Slack's limits: 3000 characters of text per section, 50 blocks per message. */
const SECTION_CHARS = 3000;
const MAX_BLOCKS = 50;
const FALLBACK_CHARS = 40_000;

/** Slack's control characters in mrkdwn. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The body as plain text: the intro, a `- ` line per decision, then the notes. */
export function plainBody(content: MessageContent): string {
  return [content.intro, ...content.lines.map((line) => `- ${line}`), ...content.notes].join('\n');
}

/** Lines packed into sections of at most SECTION_CHARS (a longer line is cut). */
function sections(lines: readonly string[]): SlackSection[] {
  const out: SlackSection[] = [];
  let current = '';
  for (const raw of lines) {
    const line = raw.length > SECTION_CHARS ? `${raw.slice(0, SECTION_CHARS - 1)}…` : raw;
    if (current !== '' && current.length + 1 + line.length > SECTION_CHARS) {
      out.push(section(current));
      current = '';
    }
    current = current === '' ? line : `${current}\n${line}`;
  }
  if (current !== '') out.push(section(current));
  return out;
}

function section(text: string): SlackSection {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

export function slackPayload(content: MessageContent): SlackPayload {
  const blocks = [
    ...sections([`*${escapeMrkdwn(content.subject)}*`, escapeMrkdwn(content.intro)]),
    ...sections(content.lines.map((line) => `• ${escapeMrkdwn(line)}`)),
    ...sections(content.notes.map(escapeMrkdwn)),
  ].slice(0, MAX_BLOCKS);
  // Slack formats `text` too (it is the notification's fallback): escaped like the blocks, so a
  // campaign named "<!channel>" or "<https://x|y>" is shown as written, never a mention or a link.
  const text = escapeMrkdwn(`${content.subject}\n${plainBody(content)}`);
  return { text: text.length > FALLBACK_CHARS ? `${text.slice(0, FALLBACK_CHARS - 1)}…` : text, blocks };
}
