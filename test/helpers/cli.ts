// The CLI run in-process with its output captured: what the command tests share.
import { main } from '../../functions/cli/main';
import type { Output } from '../../functions/cli/output';

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** Run `thrad-rules <args>` with this working folder and environment (read when called). */
export async function runCli(args: readonly string[], context: { cwd: string; env: NodeJS.ProcessEnv }): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Output = { out: (l) => out.push(l), err: (l) => err.push(l), isTTY: false };
  const code = await main([...args], { io, cwd: context.cwd, env: context.env });
  return { code, out: out.join('\n'), err: err.join('\n') };
}
