#!/usr/bin/env node
// The `thrad-rules` command: loads the TypeScript sources through tsx and runs the CLI. main()
// prints every error of a command itself (functions/cli/errors.ts); what is left here (the sources
// failing to load, an error thrown after a command returned) is still one line, and a stack trace
// only with --debug or THRAD_RULES_DEBUG=1.
'use strict';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const args = process.argv.slice(2);
const debug = args.slice(0, args.includes('--') ? args.indexOf('--') : undefined).includes('--debug') || ['1', 'true', 'yes'].includes((process.env.THRAD_RULES_DEBUG ?? '').trim().toLowerCase());

/** Anything shaped like an API key, in case a message carries one. */
const redact = (text) => String(text).replace(/ak_[A-Za-z0-9_-]{4,}/g, '[redacted key]');

function fail(error) {
  const message = error instanceof Error ? `${error.name}: ${error.message.split('\n')[0]}` : String(error);
  process.stderr.write(`thrad-rules stopped on an unexpected error: ${redact(message)}\n`);
  process.stderr.write(debug && error instanceof Error && error.stack ? `${redact(error.stack)}\n` : 'This is a bug or a case thrad-rules does not know yet: run again with THRAD_RULES_DEBUG=1 for details (or add --debug).\n');
  process.exitCode = 1;
}

process.on('uncaughtException', (error) => {
  fail(error);
  process.exit(1);
});
process.on('unhandledRejection', (reason) => {
  fail(reason);
  process.exit(1);
});

try {
  require('tsx/cjs');
  const { main } = require('../functions/cli/main.ts');
  main(args).then(
    (code) => {
      process.exitCode = code;
    },
    fail,
  );
} catch (error) {
  fail(error);
}
