// `npm run sandbox -- --port 4010 [--fixture path.json | --generate orgs=N,campaigns=M] [--seed N] [--clock-speed X] [--wire-profile P]`
// Runs the Thrad sandbox until stopped (Ctrl-C).
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isWireProfileName, WIRE_PROFILE_NAMES, WIRE_PROFILES } from '../functions/thrad/wire';
import { GenerateSpecError } from './errors';
import { DEMO_FIXTURE_PATH, FixtureError, isWorldSource, loadAnyFixtureFile, type AnyFixture, type WorldSource } from './fixture';
import { generatedKey, generatedWorld, parseGenerateSpec, type GenerateOptions } from './generate';
import { startSandbox } from './server';

const HELP = `Thrad sandbox: a local, faithful stand-in for the Thrad Advertiser API.

Usage: npm run sandbox -- [--port 4010] [--fixture path.json | --generate SPEC [--write-fixture PATH]]
                          [--seed N] [--clock-speed X] [--wire-profile P]

  --port N          port on 127.0.0.1 (default 4010; 0 picks a free one)
  --fixture PATH    the world to start from (default sandbox/fixtures/demo.json); one organization
                    at the top level, or several in "organizations" (each key serves its own)
  --generate SPEC   start on a generated world instead: orgs=N,campaigns=M per organization
                    [,ad_groups=N per campaign (default 1)][,ads=N per ad group (default 1)]
                    [,now=UNIX (default: the current hour)], e.g. orgs=200,campaigns=500; the same
                    SPEC and --seed give the same world. Organization i's key is ak_gen_<i>_…
  --write-fixture PATH  with --generate: also write the generated fixture there (every key, account
                    and campaign, as JSON the sandbox can load with --fixture)
  --seed N          seed for generated traffic, ids and worlds (default: the fixture's, else 1)
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
        generate: { type: 'string' },
        'write-fixture': { type: 'string' },
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
  if (values.generate !== undefined && values.fixture !== undefined) fail('Give --fixture or --generate, not both.');
  if (values['write-fixture'] !== undefined && values.generate === undefined) fail('--write-fixture writes a generated world: use it with --generate.');
  let world: AnyFixture | WorldSource;
  let generated: { options: GenerateOptions; writer: FixtureWriter | undefined } | undefined;
  let fixturePath: string | undefined;
  if (values.generate !== undefined) {
    let options: GenerateOptions;
    try {
      const spec = parseGenerateSpec(values.generate);
      options = { ...spec, seed: seed ?? 1, now: spec.now ?? Math.floor(Date.now() / 3_600_000) * 3_600 };
    } catch (error) {
      if (error instanceof GenerateSpecError) fail(`--generate: ${error.message}.`);
      throw error;
    }
    const target = values['write-fixture'];
    let writer: FixtureWriter | undefined;
    try {
      writer = target === undefined ? undefined : new FixtureWriter(resolve(target));
    } catch (error) {
      fail(`--write-fixture: cannot write ${target ?? ''}: ${(error as Error).message}`);
    }
    try {
      world = generatedWorld(options, writer?.hooks());
    } catch (error) {
      writer?.abandon();
      if (error instanceof GenerateSpecError) fail(`--generate: ${error.message}.`);
      throw error;
    }
    generated = { options, writer };
  } else {
    fixturePath = resolve(values.fixture ?? DEMO_FIXTURE_PATH);
    try {
      world = loadAnyFixtureFile(fixturePath);
    } catch (error) {
      if (error instanceof FixtureError) fail(error.message);
      throw error;
    }
  }
  const fixtureSpeed = isWorldSource(world) ? world.head.clock_speed : world.clock_speed;
  const sandbox = await startSandbox({ fixture: world, port, seed, clockSpeed: clockSpeed ?? fixtureSpeed ?? 1, wireProfile }).catch((error: Error) => {
    generated?.writer?.abandon();
    return fail(error instanceof FixtureError ? error.message : `Could not start the sandbox on 127.0.0.1:${port}: ${error.message}`);
  });
  generated?.writer?.finish();
  console.log(`Thrad sandbox listening on ${sandbox.apiUrl}`);
  const served = WIRE_PROFILES[sandbox.world.behaviour.wire_profile];
  console.log(`Wire profile ${served.name}: ${served.summary} (set THRAD_WIRE_PROFILE=${served.name} for the autopilot)`);
  const clockLine = `clock at ${new Date(sandbox.world.clock.nowMs()).toISOString()} running ×${sandbox.world.clock.speed}`;
  if (generated) {
    const { options, writer } = generated;
    const orgs = sandbox.world.orgs;
    console.log(`Generated world (seed ${options.seed}): ${orgs.length} organizations × ${options.campaigns} campaigns = ${sandbox.world.campaigns.size} campaigns, ${sandbox.world.ads.size} ads; ${clockLine}; control API at ${sandbox.url}/_sandbox`);
    // Generated keys are the sandbox's own (derived from the seed), printed so the world can be used.
    console.log(`Keys: one per organization, ak_gen_<index>_…; organization 0 (ad account ${orgs[0]?.account.id ?? '?'}) has ${generatedKey(options.seed, 0)}`);
    console.log(writer ? `Every key, account and campaign: ${writer.path} (organizations[i].api_keys)` : 'Every key, account and campaign: add --write-fixture PATH to write the generated fixture');
  } else {
    const orgs = sandbox.world.orgs.length;
    console.log(`Fixture ${fixturePath ?? ''}: ${orgs > 1 ? `${orgs} organizations, ` : ''}${sandbox.world.campaigns.size} campaigns, ${clockLine}; API keys are the fixture's api_keys; control API at ${sandbox.url}/_sandbox`);
  }
  const stop = (): void => {
    void sandbox.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/**
 * Streams a generated fixture to a file as its organizations are generated (a large world is
 * never held as one JSON string). An unfinished file is removed.
 */
class FixtureWriter {
  private fd: number | undefined;
  private count = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
  }

  hooks(): Parameters<typeof generatedWorld>[1] {
    return {
      onWorld: (head) => {
        if (this.fd === undefined) return;
        const fields = JSON.stringify(head, null, 2).replace(/\n}$/, '');
        writeSync(this.fd, `${fields},\n  "organizations": [\n`);
      },
      onOrganization: (organization) => {
        if (this.fd === undefined) return;
        writeSync(this.fd, `${this.count > 0 ? ',\n' : ''}    ${JSON.stringify(organization)}`);
        this.count += 1;
      },
    };
  }

  finish(): void {
    if (this.fd === undefined) return;
    writeSync(this.fd, '\n  ]\n}\n');
    closeSync(this.fd);
    this.fd = undefined;
  }

  abandon(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    rmSync(this.path, { force: true });
  }
}

if (require.main === module) void main();
