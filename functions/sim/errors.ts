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
