// A real engine process for the crash tests: runs one cycle of the engine test rules for the
// occurrence it is given, against the parent's sandbox and dynalite. It dies by SIGKILL: at a
// chosen crash point (CRASH_POINT=afterIntent:2 kills itself when the second intent is written,
// before its call; afterCall:1 after the first call, before its outcome), or wherever the parent
// kills it. Configured through the environment. Its deadline is generous (60 s): on a busy machine
// a short one would end the cycle before the chosen crash point, and the test would depend on speed.
import { AuditStore } from '../../functions/audit/store';
import { Engine } from '../../functions/engine/cycle';
import { MemoryNotifier } from '../../functions/engine/notifier';
import { localDynamoClient } from '../../functions/local/dynalite';
import { ManualClock } from '../../functions/shared/clock';
import { ThradClient } from '../../functions/thrad/client';
import { StaticApiKeyProvider } from '../../functions/thrad/keys';
import { rulesWithoutCooldowns } from './engine';

async function main(): Promise<void> {
  const env = process.env;
  const clock = new ManualClock(Number(env.CRASH_NOW_MS));
  const client = new ThradClient({ baseUrl: env.CRASH_API_URL, keyProvider: new StaticApiKeyProvider(env.CRASH_KEY ?? ''), clock });
  const store = new AuditStore({ tableName: env.CRASH_TABLE ?? '', client: localDynamoClient(env.CRASH_DYNAMO ?? ''), clock });
  const [point, nth] = (env.CRASH_POINT ?? '').split(':');
  let seen = 0;
  const die = (at: string) => (): void => {
    if (point !== at) return;
    seen += 1;
    if (seen === Number(nth)) process.kill(process.pid, 'SIGKILL');
  };
  const crashPoints = { afterIntent: die('afterIntent'), afterCall: die('afterCall') };
  const engine = new Engine({ client, store, rules: rulesWithoutCooldowns(), notifier: new MemoryNotifier(), clock, accountId: env.CRASH_ACCOUNT, actionConcurrency: 1, crashPoints });
  process.stdout.write('ready\n');
  await engine.runCycle({ scheduledTime: Number(env.CRASH_OCCURRENCE_MS), scheduleId: 'crash-schedule', deadlineMs: Date.now() + 60_000, trigger: 'schedule' });
  process.stdout.write('done\n');
}

void main();
