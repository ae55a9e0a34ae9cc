// The demo's sandbox world, rebuilt for the report after `npm start` has stopped. The demo's
// sandbox lives in memory only, but it is deterministic: the demo fixture (seeded delivery, timed
// reviews) plus the changes the autopilot made. So the report starts the bundled sandbox with that
// fixture, on a frozen clock, steps the clock to each change on record and makes it again (a pause
// at the time it was made stops delivery from then on, as it did), and stops the clock at the
// newest record. Its insights are then the data the engine saw, read over real HTTP like any API.
import type { DecisionRecord } from '../audit/records';
import { StaticApiKeyProvider } from '../thrad/keys';
import { ThradClient, type ClientEvent } from '../thrad/client';
import type { WireProfileName } from '../thrad/wire';
import { DEMO_FIXTURE_PATH, loadFixtureFile } from '../../sandbox/fixture';
import { startSandbox, type Sandbox } from '../../sandbox/server';

export interface DemoWorld {
  sandbox: Sandbox;
  client: ThradClient;
  /** Changes on record made again, and the ones the rebuilt world refused (with why). */
  replayed: number;
  refused: string[];
  close(): Promise<void>;
}

/** When a change on record was made, on the sandbox clock: the entity's updated_at after it, else when it was called, else decided. */
export function changeTimeMs(d: DecisionRecord): number {
  if (d.entity_updated_at_after !== null) return d.entity_updated_at_after * 1000;
  if (typeof d.called_at_s === 'number') return d.called_at_s * 1000;
  return Date.parse(d.evaluated_at);
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
 * Start the demo world at `untilMs` with the changes on record since the demo's start (what
 * `changesSince` returns; the acted ones count) made at their times. Loopback only, a free port.
 */
export async function startDemoWorld(changesSince: (sinceMs: number, untilMs: number) => Promise<readonly DecisionRecord[]>, untilMs: number, wireProfile: WireProfileName, onEvent?: (event: ClientEvent) => void): Promise<DemoWorld> {
  const fixture = loadFixtureFile(DEMO_FIXTURE_PATH);
  const sandbox = await startSandbox({ fixture, port: 0, clockSpeed: 0, wireProfile });
  const refused: string[] = [];
  let replayed = 0;
  try {
    const records = await changesSince(sandbox.world.clock.nowMs(), untilMs);
    const changes = records.filter((d) => d.outcome === 'acted' && d.action !== null && d.action !== 'notify').sort((a, b) => changeTimeMs(a) - changeTimeMs(b));
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
    if (untilMs > sandbox.world.clock.nowMs()) sandbox.world.clock.set(untilMs);
  } catch (error) {
    await sandbox.close();
    throw error;
  }
  const key = fixture.api_keys.map((k) => (typeof k === 'string' ? k : k.key))[0] ?? '';
  const client = new ThradClient({ baseUrl: sandbox.apiUrl, keyProvider: new StaticApiKeyProvider(key), clock: sandbox.world.clock, wireProfile, onEvent });
  return { sandbox, client, replayed, refused, close: () => sandbox.close() };
}
