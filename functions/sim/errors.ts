// Typed errors of the simulator: its inputs (fixture, rules, events) are bad, named by file and path.
export class SimulationInputError extends Error {
  readonly file: string;
  readonly problems: readonly string[];
  constructor(file: string, problems: readonly string[]) {
    super(`${file}: ${problems.join('; ')}`);
    this.name = 'SimulationInputError';
    this.file = file;
    this.problems = problems;
  }
}

/** The simulation was stopped (Ctrl-C, SIGTERM) before --until: what ran is not the whole span asked for. */
export class SimulationInterruptedError extends Error {
  /** Where the simulated clock was when it stopped (ms). */
  readonly atMs: number;
  readonly runs: number;
  constructor(atMs: number, runs: number) {
    super(`The simulation was stopped at ${new Date(atMs).toISOString()} (simulated time) after ${runs} run${runs === 1 ? '' : 's'}, before --until: nothing is reported for a partial span.`);
    this.name = 'SimulationInterruptedError';
    this.atMs = atMs;
    this.runs = runs;
  }
}
