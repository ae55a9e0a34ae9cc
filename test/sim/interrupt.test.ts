// Ctrl-C during `simulate`: the simulation stops between ticks and says so, instead of running on
// to --until (the CLI's Ctrl-C handler aborts a signal; a command that never reads it ignores the
// first Ctrl-C and SIGTERM). A partial span is never reported as the whole.
import { describe, expect, it } from 'vitest';
import { runSimulation } from '../../functions/sim/simulate';
import { SimulationInterruptedError } from '../../functions/sim/errors';
import { parseFixture } from '../../sandbox/fixture';
import { compiledFrom } from '../helpers/engine';
import { SIM_NOW, simFixture } from '../helpers/sim';

describe('runSimulation with a signal', () => {
  it('stops after the tick during which the signal was aborted and throws SimulationInterruptedError', async () => {
    const controller = new AbortController();
    const ticks: number[] = [];
    const rules = compiledFrom([{ id: 'watch', mode: 'live', schedule: { expression: 'rate(10 minutes)', timezone: 'UTC' }, level: 'campaign', when: { all: [{ field: 'status', op: 'eq', value: 'paused' }] }, then: { action: 'activate' } }]);
    const run = runSimulation({
      fixture: parseFixture(simFixture([{ id: 'e1000000-0000-4000-8000-000000000001', name: 'Quiet' }])),
      rules,
      // 30 days of 10-minute ticks (4,320): far more than the test waits for.
      untilMs: (SIM_NOW + 30 * 86_400) * 1000,
      signal: controller.signal,
      onStep: ({ atMs }) => {
        ticks.push(atMs);
        if (ticks.length === 3) controller.abort();
      },
    });
    await expect(run).rejects.toThrow(SimulationInterruptedError);
    await expect(run).rejects.toMatchObject({ runs: 3, atMs: (SIM_NOW + 30 * 60) * 1000 });
    expect(ticks).toHaveLength(3);
  });
});
