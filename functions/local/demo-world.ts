// The demo's sandbox world as the autopilot left it, for the commands run after `npm start` has
// stopped. The demo's sandbox lives in memory only, but it is deterministic: the demo fixture
// (seeded delivery, timed reviews) plus the changes the autopilot made. So a command without a key
// and without a running autopilot starts the bundled sandbox with that fixture on a frozen clock,
// steps the clock to each change on the demo's record and makes it again (a pause at the time it
// was made stops delivery from then on, as it did), and stops the clock at the newest record. Its
// entities and insights are then what the engine saw, read over real HTTP like any API: `report`
// charts that history, `console` and `preview` show those current values.
import type { AuditStore } from '../audit/store';
import type { DecisionRecord } from '../audit/records';
import { StaticApiKeyProvider } from '../thrad/keys';
import { ThradClient, type ClientEvent } from '../thrad/client';
import type { WireProfileName } from '../thrad/wire';
import { DEMO_FIXTURE_PATH, loadFixtureFile } from '../../sandbox/fixture';
import { startSandbox, type Sandbox } from '../../sandbox/server';

const YEAR_MS = 366 * 86_400_000;

export interface Rebuilt {
  /** Changes on record made again. */
  replayed: number;
  /** The ones the rebuilt world refused, with why. */
  refused: string[];
  /** Where the clock was stopped (the newest record), if there was any record. */
  newestMs: number | undefined;
}

/** When a change on record was made, on the sandbox clock: the entity's updated_at after it, else when it was called, else decided. */
export function changeTimeMs(d: DecisionRecord): number {
  if (d.entity_updated_at_after !== null) return d.entity_updated_at_after * 1000;
  if (typeof d.called_at_s === 'number') return d.called_at_s * 1000;
  return Date.parse(d.evaluated_at);
}

/** The newest decision or run of an account within a year either side of `nowMs`. */
export async function newestRecordMs(store: AuditStore, accountId: string, nowMs: number): Promise<number | undefined> {
  const range = { sinceMs: nowMs - YEAR_MS, untilMs: nowMs + YEAR_MS, limit: 1 };
  const [decision] = await store.queryDecisions(accountId, range);
  const [run] = await store.listRuns(accountId, range);
  const times = [decision ? Date.parse(decision.evaluated_at) : Number.NaN, run ? Date.parse(run.finished_at) : Number.NaN].filter((t) => Number.isFinite(t));
  return times.length > 0 ? Math.max(...times) : undefined;
}

/** Make one recorded change again in the world; throws what the world refuses. */
function replay(sandbox: Sandbox, d: DecisionRecord): void {
  const world = sandbox.world;
  switch (d.action) {
    case 'pause':
    case 'activate':
    case 'archive':
      if (d.level === 'campaign') world.campaignAction(d.entity_id, d.action);
      else if (d.level === 'ad_group') world.adGroupAction(d.entity_id, d.action);
      else world.adAction(d.entity_id, d.action);
      return;
    case 'change_budget':
      if (d.value_after_micros !== null) world.updateCampaign(d.entity_id, { budget: { lifetime_spend_limit_micros: d.value_after_micros } });
      return;
    case 'change_bid':
      if (d.value_after_micros !== null) world.updateAdGroup(d.entity_id, { bidding_config: { max_bid_micros: d.value_after_micros } });
      return;
    case 'notify':
    case null:
      return;
  }
}

/**
 * Bring a freshly started demo sandbox (frozen, at the fixture's now) to where the demo left it:
 * the acted changes of `accountId` on record since the fixture's now made again at their times,
 * then the clock at the newest record. With no record, the world stays as the fixture has it.
 */
export async function rebuildDemoWorld(sandbox: Sandbox, store: AuditStore, accountId: string): Promise<Rebuilt> {
  const startMs = sandbox.world.clock.nowMs();
  const newestMs = await newestRecordMs(store, accountId, startMs);
  const refused: string[] = [];
  let replayed = 0;
  if (newestMs === undefined || newestMs <= startMs) return { replayed, refused, newestMs };
  const records = await store.queryDecisions(accountId, { actionsOnly: true, outcome: 'acted', sinceMs: startMs, untilMs: newestMs, limit: 10_000 });
  const changes = records.filter((d) => d.action !== null && d.action !== 'notify').sort((a, b) => changeTimeMs(a) - changeTimeMs(b));
  for (const d of changes) {
    const atMs = changeTimeMs(d);
    if (atMs < sandbox.world.clock.nowMs()) continue; // before the demo began: not its change
    sandbox.world.clock.set(atMs);
    try {
      replay(sandbox, d);
      replayed += 1;
    } catch (error) {
      refused.push(`${d.decision_id} (${d.action ?? ''} ${d.entity_name}): ${(error as Error).message}`);
    }
  }
  if (newestMs > sandbox.world.clock.nowMs()) sandbox.world.clock.set(newestMs);
  return { replayed, refused, newestMs };
}

export interface DemoWorld extends Rebuilt {
  sandbox: Sandbox;
  client: ThradClient;
  close(): Promise<void>;
}

/** Start the bundled sandbox with the demo fixture (loopback, a free port), rebuilt from the demo's record. */
export async function startDemoWorld(store: AuditStore, accountId: string, wireProfile: WireProfileName, onEvent?: (event: ClientEvent) => void): Promise<DemoWorld> {
  const fixture = loadFixtureFile(DEMO_FIXTURE_PATH);
  const sandbox = await startSandbox({ fixture, port: 0, clockSpeed: 0, wireProfile });
  try {
    const rebuilt = await rebuildDemoWorld(sandbox, store, accountId);
    const key = fixture.api_keys.map((k) => (typeof k === 'string' ? k : k.key))[0] ?? '';
    const client = new ThradClient({ baseUrl: sandbox.apiUrl, keyProvider: new StaticApiKeyProvider(key), clock: sandbox.world.clock, wireProfile, onEvent });
    return { ...rebuilt, sandbox, client, close: () => sandbox.close() };
  } catch (error) {
    await sandbox.close();
    throw error;
  }
}
