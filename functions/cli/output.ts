// Where CLI commands write: injectable so tests capture output without a child process.
export interface Output {
  out(line: string): void;
  err(line: string): void;
  /** Whether stdout is an interactive terminal (progress lines only then). */
  isTTY: boolean;
  /** A transient progress line (terminals only); null clears it. */
  progress?(line: string | null): void;
}

export const processOutput: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  isTTY: Boolean(process.stdout.isTTY),
  progress: (line) => {
    if (!process.stderr.isTTY) return;
    process.stderr.write(line === null ? '\x1b[2K\r' : `\x1b[2K\r${line.slice(0, (process.stderr.columns || 100) - 1)}`);
  },
};

/** Exit codes, documented in the README. */
export const EXIT = {
  ok: 0,
  /** Invalid rules, a refused undo, a failed run, a record not found. */
  failure: 1,
  /** Wrong flags or arguments. */
  usage: 2,
} as const;
