// `thrad-rules console [--port N]`: a local web page over the same store, rules and API as the
// other commands (the same withEnvironment). It serves until Ctrl-C, on 127.0.0.1 only.
import { startConsoleServer, DEFAULT_CONSOLE_PORT, CONSOLE_HOST } from '../console/server';
import { EnvironmentError } from '../local/errors';
import { numberFlag, parseFlags } from './args';
import { EXIT } from './output';
import { withEnvironment, type CommandContext } from './shared';

export const CONSOLE_HELP = `Usage: thrad-rules console [--port N] [--rules DIR]

A local web page: the rules with their schedules and next runs, a live feed of decisions with
filters, an entity's history and current values with why each rule did or did not pick it, the
proposals awaiting approval with approve and reject, and the simulator over a fixture and an
events file. It reads the same store, rules and configuration as the other commands; without
THRAD_ADS_API_KEY, the running autopilot's sandbox and store (npm start), or the demo's.

Served on ${CONSOLE_HOST} only (nothing leaves the machine, no build step, no CDN); it prints its
URL and runs until Ctrl-C. Approve, reject and simulate accept requests from the console's own
page only.

  --port N   the port (default ${DEFAULT_CONSOLE_PORT}; 0 picks a free one)

Exit codes: 0 stopped with Ctrl-C; 1 the port is taken, or the store or API is unreachable; 2 wrong usage.

Examples:
  npx thrad-rules console
  npx thrad-rules console --port 0 --rules ./staging-rules`;

/** Resolves when `signal` is aborted (Ctrl-C). */
function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** Without a signal from main(), Ctrl-C or SIGTERM stops the console. */
function processSignal(): AbortSignal {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return controller.signal;
}

export async function consoleCommand(args: string[], ctx: CommandContext & { signal?: AbortSignal }): Promise<number> {
  const { values } = parseFlags(args, { port: { type: 'string' }, rules: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, ctx.io, CONSOLE_HELP);
  if (values.help) {
    ctx.io.out(CONSOLE_HELP);
    return EXIT.ok;
  }
  const port = numberFlag(values.port, { flag: '--port', min: 0, max: 65_535, integer: true, meaning: 'the port to serve on; 0 picks a free one', example: '--port 0' }) ?? DEFAULT_CONSOLE_PORT;
  const signal = ctx.signal ?? processSignal();
  return withEnvironment(ctx, { rules: values.rules }, true, async (environment, config) => {
    let server;
    try {
      server = await startConsoleServer({ environment, config, cwd: ctx.cwd, env: ctx.env, io: ctx.io, org: ctx.org, rulesFlag: values.rules }, port);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new EnvironmentError(`Port ${port} on ${CONSOLE_HOST} is taken (another console?). Choose another with --port N, or --port 0 for a free one.`);
      throw error;
    }
    ctx.io.out(`Console: ${server.url}`);
    ctx.io.out(`Reading ${environment.describeStore}; API: ${environment.describeApi}. Ctrl-C stops it.`);
    await aborted(signal);
    await server.close();
    ctx.io.out('Console stopped.');
    return EXIT.ok;
  });
}
