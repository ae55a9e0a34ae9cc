// The simulator's events file: what people do between runs, as they would through the dashboard
// (the /v1 API), plus review verdicts (Thrad staff) and undo (the same code as `thrad-rules undo`).
// A JSON array; every problem is reported with its path, and a bad file runs nothing.
import * as z from 'zod';
import { LEVELS } from '../thrad/wire';
import { SimulationInputError } from './errors';

const at = z.iso.datetime({ offset: true }).describe('When it happens: ISO 8601 with a zone, e.g. 2026-11-20T06:30:00-05:00.');
const id = z.string().min(1);

export const statusEventSchema = z.strictObject({ at, do: z.enum(['pause', 'activate', 'archive']), level: z.enum(LEVELS), id });
export const reviewEventSchema = z.strictObject({ at, do: z.literal('review'), id, review_status: z.enum(['approved', 'rejected']) });
export const updateEventSchema = z.strictObject({ at, do: z.literal('update'), level: z.enum(LEVELS), id, body: z.record(z.string(), z.unknown()) });
export const undoEventSchema = z.strictObject({ at, do: z.literal('undo'), rule: z.string().min(1), entity: id });

export const simEventSchema = z.union([statusEventSchema, reviewEventSchema, updateEventSchema, undoEventSchema]);
export type SimEvent = z.infer<typeof simEventSchema>;

const KINDS: Record<string, z.ZodType> = { pause: statusEventSchema, activate: statusEventSchema, archive: statusEventSchema, review: reviewEventSchema, update: updateEventSchema, undo: undoEventSchema };

/** Events from the file's JSON, each checked against the schema of its `do`. */
export function parseEvents(raw: unknown, file: string): SimEvent[] {
  if (!Array.isArray(raw)) throw new SimulationInputError(file, ['(root): expected a JSON array of events']);
  const problems: string[] = [];
  const events: SimEvent[] = [];
  raw.forEach((item, i) => {
    const kind = item !== null && typeof item === 'object' ? (item as { do?: unknown }).do : undefined;
    const schema = typeof kind === 'string' ? KINDS[kind] : undefined;
    if (!schema) {
      problems.push(`[${i}].do: expected one of ${Object.keys(KINDS).join(', ')}, found ${JSON.stringify(kind) ?? 'nothing'}`);
      return;
    }
    const parsed = schema.safeParse(item);
    if (parsed.success) events.push(parsed.data as SimEvent);
    else problems.push(...parsed.error.issues.map((issue) => `[${i}]${issue.path.map((p) => `.${String(p)}`).join('')}: ${issue.message}`));
  });
  if (problems.length > 0) throw new SimulationInputError(file, problems);
  return events;
}
