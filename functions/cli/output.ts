// Where CLI commands write: injectable so tests capture output without a child process.
export interface Output {
  out(line: string): void;
  err(line: string): void;
  /** Whether stdout is an interactive terminal (progress lines only then). */
  isTTY: boolean;
}

export const processOutput: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  isTTY: Boolean(process.stdout.isTTY),
};

/** Exit codes, documented in the README. */
export const EXIT = {
  ok: 0,
  /** Invalid rules, refused undo, failed run, records not found. */
  failure: 1,
  /** Wrong flags or arguments. */
  usage: 2,
} as const;
