// What approve/reject print: the engine's reasons keep instants as the record does (ISO, UTC);
// the line a person reads has them in the zone the command shows times in.
import { describe, expect, it } from 'vitest';
import { approvalWords, localTimes, rejectionWords } from '../../functions/cli/approvals';

describe('approval and rejection lines', () => {
  const reason = 'Proposal d_1 expired at 2026-03-10T17:00:00.000Z; it cannot be approved now. The rule proposes again on a later match.';

  it('print a refusal\'s instants in the display zone', () => {
    expect(approvalWords({ status: 'refused', reason }, 'd_1', 'America/New_York').line).toBe('Refused: Proposal d_1 expired at 2026-03-10 13:00 EDT; it cannot be approved now. The rule proposes again on a later match.');
    expect(rejectionWords({ status: 'refused', reason: 'Proposal d_1 already expired at 2026-11-24T16:00:00Z; nothing to reject.' }, 'd_1', 'America/New_York').line).toBe('Refused: Proposal d_1 already expired at 2026-11-24 11:00 EST; nothing to reject.');
  });

  it('leave text without instants alone, and read UTC as UTC', () => {
    expect(localTimes('No decision d_9 in this account\'s audit trail.', 'Asia/Kolkata')).toBe('No decision d_9 in this account\'s audit trail.');
    expect(localTimes('until 2026-11-24T16:00:00.000Z.', 'UTC')).toBe('until 2026-11-24 16:00 UTC.');
  });
});
