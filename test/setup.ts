// Per-worker test setup: quiet SDK warnings, keep CDK's temp output inside the git-ignored .tmp,
// and watch everything the tests print: an API key in any output fails the file that printed it.
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll } from 'vitest';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.CDK_DISABLE_VERSION_CHECK = '1';
const tmp = resolve(__dirname, '..', '.tmp');
mkdirSync(tmp, { recursive: true });
process.env.TMPDIR = tmp;

/** Anything shaped like a Thrad secret key. Nothing the product or the tests print may contain one. */
const KEY_SHAPE = /\bak_[A-Za-z0-9_-]{6,}/;
const leaks: string[] = [];
const watch = (text: string): void => {
  const match = KEY_SHAPE.exec(text);
  if (match) leaks.push(`…${text.slice(Math.max(0, match.index - 60), match.index + 40)}…`);
};
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    watch(typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString() : '');
    return write(chunk, ...rest);
  });
}
for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
  const original = console[method].bind(console);
  console[method] = (...args: unknown[]) => {
    watch(args.map((a) => (typeof a === 'string' ? a : a instanceof Error ? `${a.message} ${a.stack ?? ''}` : JSON.stringify(a) ?? '')).join(' '));
    original(...args);
  };
}

afterAll(() => {
  if (leaks.length > 0) throw new Error(`An API key was printed:\n${leaks.join('\n')}`);
});
