// The org-hour benchmark's servers in their own process: the Thrad sandbox on a generated world of
// many organizations (sandbox/generate.ts, loaded one organization at a time), frozen clock, and
// dynalite. Prints one JSON line (endpoints, and each org's generated sandbox key and account),
// then serves until killed. Over IPC it answers 'cpu' with its CPU time so far.
import { startEmbeddedDynamo } from '../functions/local/dynalite';
import { generatedWorld, type GenerateOptions } from '../sandbox/generate';
import { startSandbox } from '../sandbox/server';

async function main(): Promise<void> {
  const [orgs, campaigns, seed, now] = process.argv.slice(2, 6).map(Number);
  const mix = JSON.parse(process.argv[6] ?? '{}') as Pick<GenerateOptions, 'weights' | 'daypartShare'>;
  const sandbox = await startSandbox({ fixture: generatedWorld({ orgs: orgs ?? 200, campaigns: campaigns ?? 500, seed: seed ?? 7, now: now ?? 0, ...mix }), port: 0, clockSpeed: 0 });
  const dynamo = await startEmbeddedDynamo();
  const organizations = sandbox.world.orgs.map((o) => ({ key: o.keys[0]?.key ?? '', account: o.account.id }));
  process.stdout.write(`${JSON.stringify({ apiUrl: sandbox.apiUrl, url: sandbox.url, dynamoEndpoint: dynamo.endpoint, organizations })}\n`);
  const stop = (): void => {
    void Promise.all([sandbox.close(), dynamo.close()]).then(() => process.exit(0));
  };
  // The bench asks (over IPC) for this process's CPU time, to report what serving the hour cost.
  process.on('message', (message) => {
    if (message === 'cpu') process.send?.({ cpu: process.cpuUsage() });
  });
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (require.main === module) void main();
