// The logging surface the engine needs. Powertools Logger satisfies it on Lambda; locally a
// plain JSON-lines logger (or a silent one in tests) does. Nothing logged ever carries the key.
import { redactKeys } from '../shared/secrets';

export interface EngineLogger {
  debug(message: string, attributes?: Record<string, unknown>): void;
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
  error(message: string, attributes?: Record<string, unknown>): void;
}

export const silentLogger: EngineLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
type Level = (typeof LEVELS)[number];

/** JSON lines on stderr, key-shaped tokens scrubbed. */
export function jsonLogger(minimum: Level = 'info', write: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): EngineLogger {
  const at = LEVELS.indexOf(minimum);
  const log = (level: Level) => (message: string, attributes: Record<string, unknown> = {}) => {
    if (LEVELS.indexOf(level) < at) return;
    write(redactKeys(JSON.stringify({ level: level.toUpperCase(), timestamp: new Date().toISOString(), message, ...attributes })));
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

/** An error as loggable attributes (typed errors carry their own key-free JSON). */
export function errorAttributes(error: unknown): Record<string, unknown> {
  if (error !== null && typeof error === 'object' && 'toJSON' in error && typeof (error).toJSON === 'function') {
    return { error: (error as { toJSON: () => unknown }).toJSON() };
  }
  if (error instanceof Error) return { error: { name: error.name, message: redactKeys(error.message) } };
  return { error: { message: redactKeys(String(error)) } };
}
