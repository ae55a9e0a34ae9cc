// `npm run sandbox -- --port 4010 [--fixture path.json] [--seed N] [--clock-speed X] [--wire-profile P]`
// Runs the Thrad sandbox until stopped (Ctrl-C).
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isWireProfileName, WIRE_PROFILE_NAMES, WIRE_PROFILES } from '../functions/thrad/wire';
import { DEMO_FIXTURE_PATH, FixtureError, loadFixtureFile } from './fixture';
import { startSandbox } from './server';

const HELP = `Thrad sandbox: a local, faithful stand-in for the Thrad Advertiser API.

Usage: npm run sandbox -- [--port 4010] [--fixture path.json] [--seed N] [--clock-speed X] [--wire-profile P]

  --port N          port on 127.0.0.1 (default 4010; 0 picks a free one)
  --fixture PATH    the world to start from (default sandbox/fixtures/demo.json)
  --seed N          seed for generated traffic and ids (default: the fixture's, else 1)
  --clock-speed X   sandbox seconds per real second (default: the fixture's, else 1; 0 freezes)
  --wire-profile P  the insights wire shape to serve: ${WIRE_PROFILE_NAMES.join(' | ')} (default: the
                    fixture's behaviour.wire_profile, else reference); the other's shapes get a 400.
                    Run the autopilot with the same THRAD_WIRE_PROFILE.

The API is under /v1 (Authorization: Bearer <a key from the fixture's api_keys>);
the control API is under /_sandbox (README, "The sandbox").`;

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string', default: '4010' },
        fixture: { type: 'string' },
        seed: { type: 'string' },
        'clock-speed': { type: 'string' },
        'wire-profile': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    fail(`${(error as Error).message}\n\n${HELP}`);
  }
  if (values.help) {
    console.log(HELP);
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) fail(`--port must be an integer from 0 to 65535 (got "${values.port}").`);
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if (seed !== undefined && !Number.isInteger(seed)) fail(`--seed must be an integer (got "${values.seed}").`);
  const speedRaw = values['clock-speed'];
  const clockSpeed = speedRaw === undefined ? undefined : Number(speedRaw);
  if (clockSpeed !== undefined && (!Number.isFinite(clockSpeed) || clockSpeed < 0)) fail(`--clock-speed must be a number ≥ 0 (got "${speedRaw}").`);
  const profileRaw = values['wire-profile'];
  if (profileRaw !== undefined && !isWireProfileName(profileRaw)) fail(`--wire-profile must be one of ${WIRE_PROFILE_NAMES.join(', ')} (got "${profileRaw}").`);
  const wireProfile = profileRaw !== undefined && isWireProfileName(profileRaw) ? profileRaw : undefined;
  const fixturePath = resolve(values.fixture ?? DEMO_FIXTURE_PATH);
  let fixture;
  try {
    fixture = loadFixtureFile(fixturePath);
  } catch (error) {
    if (error instanceof FixtureError) fail(error.message);
    throw error;
  }
  const sandbox = await startSandbox({ fixture, port, seed, clockSpeed: clockSpeed ?? fixture.clock_speed ?? 1, wireProfile }).catch((error: Error) =>
    fail(`Could not start the sandbox on 127.0.0.1:${port}: ${error.message}`),
  );
  console.log(`Thrad sandbox listening on ${sandbox.apiUrl}`);
  const served = WIRE_PROFILES[sandbox.world.behaviour.wire_profile];
  console.log(`Wire profile ${served.name}: ${served.summary} (set THRAD_WIRE_PROFILE=${served.name} for the autopilot)`);
  console.log(`Fixture ${fixturePath}: ${sandbox.world.campaigns.size} campaigns, clock at ${new Date(sandbox.world.clock.nowMs()).toISOString()} running ×${sandbox.world.clock.speed}; API keys are the fixture's api_keys; control API at ${sandbox.url}/_sandbox`);
  const stop = (): void => {
    void sandbox.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) void main();
