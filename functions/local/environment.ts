// What a local command runs against: the Thrad API (real, or the bundled sandbox when no key is
// set), the engine clock (the sandbox's clock when talking to a sandbox, else the system clock),
// and the audit store (an embedded dynalite persisted under the data folder, or a DynamoDB table).
// The runner publishes its sandbox and store in a session file so CLI commands run meanwhile use
// the same ones.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import { auditDynamoClient } from '../audit/client';
import { AuditStore } from '../audit/store';
import { ScaledClock, systemClock, type Clock } from '../shared/clock';
import { ThradClient, type ClientEvent } from '../thrad/client';
import { apiKeyProviderFromEnv, StaticApiKeyProvider } from '../thrad/keys';
import { DEMO_FIXTURE_PATH, loadFixtureFile } from '../../sandbox/fixture';
import { startSandbox, type Sandbox } from '../../sandbox/server';
import { rebuildDemoWorld, type Rebuilt } from './demo-world';
import { DEFAULT_TABLE_NAME, type LocalConfig } from './config';
import { EnvironmentError, StoreFolderLockedError } from './errors';
import { AuthenticationError } from '../thrad/errors';
import { ORG_ID_ENV } from '../orgs/select';
import { checkFolderOpens, localDynamoClient, startEmbeddedDynamo, type EmbeddedDynamo } from './dynalite';

export const DEMO_CLOCK_SPEED = 1200;

const sessionSchema = z.object({
  apiUrl: z.string(),
  controlUrl: z.string(),
  dynamoEndpoint: z.string(),
  key: z.string(),
  accountId: z.string(),
  pid: z.number().int(),
  startedAt: z.string(),
});
type Session = z.infer<typeof sessionSchema>;

export interface LocalEnvironment {
  mode: 'sandbox' | 'api';
  client: ThradClient;
  clock: Clock;
  store: AuditStore;
  accountId(): Promise<string>;
  /** The sandbox this process started, when it did. */
  sandbox: Sandbox | undefined;
  /** No key: attached to the running autopilot's sandbox (its world, its clock). */
  attachedToRunner?: boolean;
  /** The speed its clock should run at once the runner starts (it starts frozen). */
  sandboxSpeed?: number;
  /** No key, no autopilot running: the demo's world this process started, rebuilt from the demo's record. */
  rebuilt?: Rebuilt;
  describeApi: string;
  describeStore: string;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** The runner owns the demo sandbox and the store; CLI commands attach to them. */
  role: 'runner' | 'cli';
  /** Whether the command needs the API (audit and report do not). */
  needApi: boolean;
  sandboxPort?: number;
  clockSpeed?: number;
  /** Without a key, insist on the running autopilot's sandbox (undo must act on the world it changed). */
  requireLiveSandbox?: boolean;
  env: NodeJS.ProcessEnv;
  onClientEvent?: (event: ClientEvent) => void;
}

function sandboxDir(config: LocalConfig): string {
  return join(config.dataDir, 'sandbox');
}

function sessionPath(config: LocalConfig): string {
  return join(sandboxDir(config), 'session.json');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The running runner's sandbox session and its clock, if there is one and it answers. */
export async function liveSession(config: LocalConfig): Promise<{ session: Session; clock: Clock } | undefined> {
  const path = sessionPath(config);
  if (!existsSync(path)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    // A session file its runner did not finish writing (it was killed) is no session.
    return undefined;
  }
  const parsed = sessionSchema.safeParse(raw);
  if (!parsed.success || !alive(parsed.data.pid)) return undefined;
  const clock = await followSandboxClock(parsed.data.controlUrl);
  return clock ? { session: parsed.data, clock } : undefined;
}

/** A clock that follows a sandbox's clock (read once; it runs at a constant speed until changed). */
export async function followSandboxClock(controlUrl: string): Promise<Clock | undefined> {
  try {
    const response = await fetch(`${controlUrl}/_sandbox/clock`, { signal: AbortSignal.timeout(2_000) });
    if (!response.ok) return undefined;
    const body = z.object({ now_ms: z.number(), speed: z.number() }).parse(await response.json());
    return new ScaledClock(body.now_ms, body.speed);
  } catch {
    return undefined;
  }
}

async function listenSandbox(port: number, clockSpeed: number, wireProfile: LocalConfig['wireProfile']): Promise<Sandbox> {
  const fixture = loadFixtureFile(DEMO_FIXTURE_PATH);
  try {
    return await startSandbox({ fixture, port, clockSpeed, wireProfile });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE' && port !== 0) return startSandbox({ fixture, port: 0, clockSpeed, wireProfile });
    throw error;
  }
}

/** Throw when another process holds the embedded store in `dir` open (its folder lock). */
async function refuseIfStoreOpen(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  try {
    await checkFolderOpens(dir);
  } catch (error) {
    if (error instanceof StoreFolderLockedError) {
      throw new EnvironmentError(`The demo's store in ${dir} is open in another process (another autopilot, or a console, report or preview started after the last demo). Stop it (Ctrl-C), then start the autopilot again: a new demo starts from a fresh store.`);
    }
    // Anything else (a damaged folder): the folder is removed next, and the demo starts afresh.
  }
}

async function openStore(config: LocalConfig, options: OpenOptions, clock: Clock, session: Session | undefined, sandboxMode: boolean): Promise<{ store: AuditStore; describe: string; embedded?: EmbeddedDynamo }> {
  const retention = { retentionDays: config.retentionDays, clock };
  if (config.tableName) {
    const client = config.dynamoEndpoint ? localDynamoClient(config.dynamoEndpoint) : auditDynamoClient();
    const store = new AuditStore({ tableName: config.tableName, client, ...retention });
    if (config.dynamoEndpoint) await store.ensureTable();
    return { store, describe: `DynamoDB table ${config.tableName}${config.dynamoEndpoint ? ` at ${config.dynamoEndpoint}` : ''}` };
  }
  if (session && options.role === 'cli') {
    const store = new AuditStore({ tableName: DEFAULT_TABLE_NAME, client: localDynamoClient(session.dynamoEndpoint), ...retention });
    return { store, describe: `the running autopilot's store (${session.dynamoEndpoint})` };
  }
  const dir = sandboxMode ? join(sandboxDir(config), 'db') : join(config.dataDir, 'db');
  let embedded: EmbeddedDynamo;
  try {
    embedded = await startEmbeddedDynamo({ path: dir });
  } catch (error) {
    throw new EnvironmentError(`Cannot open the embedded store in ${dir} (${(error as Error).message}). Is another autopilot using it? To share one store between processes, run a DynamoDB-compatible server and set AUDIT_TABLE_NAME and DYNAMODB_ENDPOINT.`);
  }
  const store = new AuditStore({ tableName: DEFAULT_TABLE_NAME, client: embedded.client, ...retention });
  await store.ensureTable();
  return { store, describe: `embedded store in ${dir}`, embedded };
}

/** The API half of an environment: what `doctor` needs, without opening the audit store. */
export type ApiEnvironment = Omit<LocalEnvironment, 'store' | 'describeStore'>;

interface ApiSide extends Omit<ApiEnvironment, 'close'> {
  /** The running autopilot's session this process attached to (no key). */
  session: Session | undefined;
  /** The demo key (no key). */
  key: string | undefined;
}

/** Open only the API (real, or the bundled sandbox): no audit store is opened or created. */
export async function openApiEnvironment(config: LocalConfig, options: OpenOptions): Promise<ApiEnvironment> {
  const closers: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    const { session: _session, key: _key, ...side } = await openApiSide(config, options, closers);
    return { ...side, close };
  } catch (error) {
    await close();
    throw error;
  }
}

const cachedAccountSchema = z.object({ id: z.string().min(1), key_fingerprint: z.string().min(1) });

/** The ad account a key answered for last (account.json), or null: missing, unreadable, or from before keys were noted. */
function cachedAccount(path: string): z.infer<typeof cachedAccountSchema> | null {
  if (!existsSync(path)) return null;
  try {
    const parsed = cachedAccountSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

async function openApiSide(config: LocalConfig, options: OpenOptions, closers: (() => Promise<void>)[]): Promise<ApiSide> {
  if (config.hasApiKey) {
    const keyProvider = apiKeyProviderFromEnv(options.env);
    if (!keyProvider) throw new EnvironmentError('No API key provider could be built from the environment.');
    // A THRAD_API_BASE_URL pointing at a sandbox (npm run sandbox) is followed on its clock.
    const origin = config.apiBaseUrl.replace(/\/v1\/?$/, '');
    const followed = config.apiBaseUrlSet ? await followSandboxClock(origin) : undefined;
    const clock = followed ?? systemClock;
    const client = new ThradClient({ baseUrl: config.apiBaseUrl, keyProvider, clock, wireProfile: config.wireProfile, onEvent: options.onClientEvent });
    let account: string | undefined = options.env.THRAD_AD_ACCOUNT_ID || undefined;
    // Per org: each org's key answers for its own ad account.
    const org = options.env[ORG_ID_ENV]?.trim();
    let accountChecked = false;
    const accountFile = join(config.dataDir, org ? `account-${org}.json` : 'account.json');
    return {
      mode: 'api',
      client,
      clock,
      sandbox: undefined,
      session: undefined,
      key: undefined,
      describeApi: `${followed ? 'the Thrad sandbox' : 'the Thrad API'} at ${config.apiBaseUrl}`,
      accountId: async () => {
        if (account && org && !accountChecked) {
          // An org of the registry: its records go under the account the registry names, so the
          // key must answer for that account (a stale or wrong entry would file one org's
          // decisions, claims and ledger under another's).
          let answered: string;
          try {
            answered = (await client.getAdAccount()).id;
          } catch (error) {
            // A command that only reads the audit trail (audit, report, approvals) may read the
            // registry's account when the key is refused: that is when a person most needs to see
            // what the autopilot did for the org. Nothing that calls the API or acts gets here.
            if (!options.needApi && error instanceof AuthenticationError) {
              accountChecked = true;
              return account;
            }
            throw error;
          }
          if (answered !== account) throw new EnvironmentError(`Organization ${org}: its key answers for ad account ${answered}, but the registry says ${account}. Fix the entry's "ad_account_id" (or its key) before running anything for it.`);
          accountChecked = true;
        }
        if (account) return account;
        try {
          account = (await client.getAdAccount()).id;
          mkdirSync(config.dataDir, { recursive: true });
          writeFileSync(accountFile, JSON.stringify({ id: account, key_fingerprint: await client.currentKeyFingerprint() }));
        } catch (error) {
          // The account last seen, only for the key it was seen with: another key (the variable now
          // holds another organization's) would file its records, claims and ledger under this account.
          const cached = cachedAccount(accountFile);
          if (!cached || cached.key_fingerprint !== (await client.currentKeyFingerprint().catch(() => null))) throw error;
          account = cached.id;
        }
        return account;
      },
    };
  }

  // No key: the bundled sandbox with the demo fixture.
  const fixture = loadFixtureFile(DEMO_FIXTURE_PATH);
  const sandboxSpeed = options.clockSpeed ?? fixture.clock_speed ?? DEMO_CLOCK_SPEED;
  const key = fixture.api_keys.map((k) => (typeof k === 'string' ? k : k.key))[0];
  const accountId = fixture.account.id;
  const live = options.role === 'cli' ? await liveSession(config) : undefined;
  const session = live?.session;
  let sandbox: Sandbox | undefined;
  let apiUrl: string;
  let clock: Clock;
  if (!session && options.requireLiveSandbox) {
    throw new EnvironmentError('No autopilot sandbox is running: start the autopilot (npm start) in another terminal and run this there, or set THRAD_ADS_API_KEY to use the real API.');
  }
  if (live) {
    apiUrl = live.session.apiUrl;
    clock = live.clock;
  } else if (options.needApi || options.role === 'runner') {
    if (options.role === 'runner') {
      // A new demo starts from a fresh store; never from under a process that has the last one open
      // (a console started after the demo stopped): it would go on showing the old demo's records.
      await refuseIfStoreOpen(join(sandboxDir(config), 'db'));
      rmSync(sandboxDir(config), { recursive: true, force: true });
    }
    // The clock starts frozen; the runner sets it going when its scheduler starts, so a slow start
    // never skips the demo's first occurrences.
    sandbox = await listenSandbox(options.sandboxPort ?? (options.role === 'runner' ? 4010 : 0), 0, config.wireProfile);
    const started = sandbox;
    closers.push(() => started.close());
    apiUrl = sandbox.apiUrl;
    clock = sandbox.world.clock;
  } else {
    apiUrl = 'http://127.0.0.1:0/v1';
    clock = systemClock;
  }
  const client = new ThradClient({ baseUrl: apiUrl, keyProvider: new StaticApiKeyProvider(key), clock, wireProfile: config.wireProfile, onEvent: options.onClientEvent });
  return {
    mode: 'sandbox',
    client,
    clock,
    sandbox,
    session,
    key,
    describeApi: sandbox ? `the bundled Thrad sandbox at ${sandbox.apiUrl} (demo fixture${options.role === 'runner' ? `, clock ×${sandboxSpeed}` : ''})` : session ? `the running autopilot's sandbox at ${session.apiUrl}` : 'no API (audit data only)',
    sandboxSpeed,
    attachedToRunner: session !== undefined,
    accountId: () => Promise.resolve(accountId),
  };
}

export async function openEnvironment(config: LocalConfig, options: OpenOptions): Promise<LocalEnvironment> {
  const closers: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    const { session: attached, key, ...side } = await openApiSide(config, options, closers);
    const sandboxMode = side.mode === 'sandbox';
    const { store, describe, embedded } = await openStore(config, options, side.clock, attached, sandboxMode);
    if (embedded) closers.push(() => embedded.close());
    // No key and no autopilot running, over the demo's own store: the demo's world as it left it
    // (its changes made again, the clock at the newest record), not the fixture's first state.
    if (options.role === 'cli' && side.mode === 'sandbox' && side.sandbox && !attached && embedded) {
      const rebuilt = await rebuildDemoWorld(side.sandbox, store, await side.accountId());
      if (rebuilt.newestMs !== undefined) {
        const refused = rebuilt.refused.length > 0 ? `; ${rebuilt.refused.length} could not be made again (first: ${rebuilt.refused[0] ?? ''})` : '';
        return { ...side, rebuilt, describeApi: `the bundled Thrad sandbox at ${side.sandbox.apiUrl} (the demo's world rebuilt: demo fixture, ${rebuilt.replayed} recorded change${rebuilt.replayed === 1 ? '' : 's'} made again${refused}, clock at the newest record)`, store, describeStore: describe, close };
      }
    }
    if (options.role === 'runner' && side.sandbox && embedded && key !== undefined) {
      const session: Session = { apiUrl: side.sandbox.apiUrl, controlUrl: side.sandbox.url, dynamoEndpoint: embedded.endpoint, key, accountId: await side.accountId(), pid: process.pid, startedAt: new Date().toISOString() };
      mkdirSync(sandboxDir(config), { recursive: true });
      writeFileSync(sessionPath(config), JSON.stringify(session, null, 2));
      closers.push(() => {
        rmSync(sessionPath(config), { force: true });
        return Promise.resolve();
      });
    }
    return { ...side, store, describeStore: describe, close };
  } catch (error) {
    await close();
    throw error;
  }
}
