// Rule ids: the one pattern every rule id, reference (only_if_paused_by) and scheduler event
// field is checked against.
import * as z from 'zod';

export const RULE_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export const ruleIdSchema = z.string().regex(RULE_ID, 'a rule id is 1–64 lowercase letters, digits, - or _, starting with a letter or digit');
