// What the audit, preview, undo and report commands share: configuration, the environment, and
// errors turned into a message that says what to do next.
import { loadConfig, type LocalConfig } from '../local/config';
import { openEnvironment, type LocalEnvironment } from '../local/environment';
import { ConfigError, EnvironmentError } from '../local/errors';
import { ThradApiError } from '../thrad/errors';
import { ApiKeyUnavailableError } from '../thrad/errors';
import { AuditStoreError } from '../audit/errors';
import { EXIT, type Output } from './output';

export interface CommandContext {
  io: Output;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/** Open what a command needs; on a known failure print what to do and return the exit code. */
export async function withEnvironment(ctx: CommandContext, flags: { rules?: string }, needApi: boolean | 'live', body: (env: LocalEnvironment, config: LocalConfig) => Promise<number>): Promise<number> {
  let config: LocalConfig;
  try {
    config = loadConfig(flags, ctx.env, ctx.cwd);
  } catch (error) {
    if (error instanceof ConfigError) {
      ctx.io.err(`Configuration: ${error.message}`);
      return EXIT.usage;
    }
    throw error;
  }
  let environment: LocalEnvironment | undefined;
  try {
    environment = await openEnvironment(config, { role: 'cli', needApi: needApi !== false, requireLiveSandbox: needApi === 'live', env: ctx.env });
    return await body(environment, config);
  } catch (error) {
    if (error instanceof EnvironmentError || error instanceof AuditStoreError) {
      ctx.io.err(error.message);
      return EXIT.failure;
    }
    if (error instanceof ApiKeyUnavailableError) {
      ctx.io.err(`${error.message} Set THRAD_ADS_API_KEY (or THRAD_API_KEY_SECRET_ID), or unset both to use the bundled sandbox.`);
      return EXIT.failure;
    }
    if (error instanceof ThradApiError) {
      const hint = error.code === 'invalid_api_key' || error.code === 'auth_required' ? ' Check THRAD_ADS_API_KEY (keys start with ak_ and are shown once in Settings → API keys).' : error.code === 'connection_failed' ? ` Is ${config.apiBaseUrl} reachable? (THRAD_API_BASE_URL)` : '';
      ctx.io.err(`${error.message}.${hint}`);
      return EXIT.failure;
    }
    throw error;
  } finally {
    await environment?.close();
  }
}
