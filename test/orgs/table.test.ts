// The registry of organizations on AWS, on dynalite: one entry per org under its ad account, listed
// through the sparse ORGS partition of the byTime index (paged, no Scan), org_id and ad account
// each unique (the name guard, without transactions), enable/disable, and entries AWS cannot serve.
import { randomBytes } from 'node:crypto';
import { PutCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AuditStore } from '../../functions/audit/store';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../../functions/local/dynalite';
import { DuplicateOrgError, OrgRegistryError, UnknownOrgError } from '../../functions/orgs/errors';
import { GUARD_LEASE_MS, orgKeys, TableOrgRegistry } from '../../functions/orgs/table';
import type { OrgEntry } from '../../functions/orgs/schema';
import { ManualClock } from '../../functions/shared/clock';

const org = (id: string, account: string, extra: Partial<OrgEntry> = {}): OrgEntry => ({ org_id: id, api_key_secret_id: `thrad-rules/orgs/${id}`, ad_account_id: account, enabled: true, ...extra });

describe('TableOrgRegistry', () => {
  let dynamo: EmbeddedDynamo;
  let tableName: string;
  let registry: TableOrgRegistry;
  const clock = new ManualClock(Date.parse('2026-11-24T03:00:00Z'));

  beforeAll(async () => {
    dynamo = await startEmbeddedDynamo();
  });
  afterAll(async () => {
    await dynamo.close();
  });
  beforeEach(async () => {
    tableName = `orgs-${randomBytes(4).toString('hex')}`;
    await new AuditStore({ tableName, client: dynamo.client }).ensureTable();
    registry = new TableOrgRegistry({ tableName, client: dynamo.client, clock });
  });

  it('adds orgs under their ad account and lists them all, sorted, through the index (paged)', async () => {
    const ids = Array.from({ length: 23 }, (_, i) => `org-${String(i).padStart(2, '0')}`).reverse();
    for (const id of ids) await registry.add(org(id, `acct-${id}`, id === 'org-05' ? { rule_ids: ['cpc-guard'] } : {}));
    const paged = new TableOrgRegistry({ tableName, client: dynamo.client, pageSize: 5 });
    const queries: unknown[] = [];
    dynamo.client.middlewareStack.add((next) => (args) => {
      queries.push(args.input);
      return next(args);
    }, { step: 'initialize', name: 'countQueries' });
    const listed = await paged.list();
    dynamo.client.middlewareStack.remove('countQueries');
    expect(queries).toHaveLength(5);
    expect(queries.every((q) => (q as { IndexName?: string }).IndexName === 'byTime')).toBe(true);
    expect(listed.map((o) => o.org_id)).toEqual([...ids].sort());
    expect(listed.find((o) => o.org_id === 'org-05')).toEqual(org('org-05', 'acct-org-05', { rule_ids: ['cpc-guard'] }));
    expect(await registry.byAccount('acct-org-07')).toEqual(org('org-07', 'acct-org-07'));
    expect(await registry.byId('org-07')).toEqual(org('org-07', 'acct-org-07'));
    expect(await registry.byId('nobody')).toBeNull();
  });

  it('refuses a second org_id, and a second org for one ad account, keeping the first', async () => {
    await registry.add(org('acme', 'acct-1'));
    await expect(registry.add(org('acme', 'acct-2'))).rejects.toThrow(DuplicateOrgError);
    await expect(registry.add(org('acme', 'acct-2'))).rejects.toThrow('Organization "acme" is already registered (ad account acct-1)');
    await expect(registry.add(org('other', 'acct-1'))).rejects.toThrow('Ad account acct-1 is already served by organization "acme"');
    expect(await registry.list()).toEqual([org('acme', 'acct-1')]);
    // The refused org's name guard was taken back: it can be added for its own account.
    await registry.add(org('other', 'acct-3'));
    expect((await registry.list()).map((o) => `${o.org_id}@${o.ad_account_id ?? ''}`)).toEqual(['acme@acct-1', 'other@acct-3']);
  });

  it('refuses concurrent adds of one org_id: exactly one wins', async () => {
    const results = await Promise.allSettled([registry.add(org('race', 'acct-a')), registry.add(org('race', 'acct-b')), registry.add(org('race', 'acct-c'))]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(DuplicateOrgError);
    expect((await registry.list()).map((o) => o.org_id)).toEqual(['race']);
  });

  it('takes over a name guard an add left when it died before its entry, only once the guard is old', async () => {
    const doc = DynamoDBDocumentClient.from(dynamo.client);
    await doc.send(new PutCommand({ TableName: tableName, Item: { ...orgKeys.guard('ghost'), type: 'org_name', org_id: 'ghost', ad_account_id: 'acct-dead', token: 'dead', written_at_ms: clock.nowMs() } }));
    await expect(registry.add(org('ghost', 'acct-new'))).rejects.toThrow('being added by another process');
    clock.advance(GUARD_LEASE_MS);
    await registry.add(org('ghost', 'acct-new'));
    expect(await registry.byId('ghost')).toEqual(org('ghost', 'acct-new'));
  });

  it('disables and enables an org by id', async () => {
    await registry.add(org('acme', 'acct-1'));
    expect(await registry.setEnabled('acme', false)).toEqual(org('acme', 'acct-1', { enabled: false }));
    expect((await registry.list())[0]?.enabled).toBe(false);
    expect((await registry.setEnabled('acme', true)).enabled).toBe(true);
    const error = await registry.setEnabled('nobody', false).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownOrgError);
    expect((error as UnknownOrgError).known).toEqual(['acme']);
  });

  it('keeps an org on its ad account: the same again is a no-op, another is refused with why', async () => {
    await registry.add(org('acme', 'acct-1'));
    await registry.setAccount('acme', 'acct-1');
    await expect(registry.setAccount('acme', 'acct-9')).rejects.toThrow(/registered for ad account acct-1, but its key answers for acct-9: the secret thrad-rules\/orgs\/acme holds another organization's key/);
  });

  it.each([
    ['no ad account', { ad_account_id: undefined }, 'ad_account_id: required on AWS'],
    ['a key variable instead of a secret', { api_key_secret_id: undefined, api_key_env: 'THRAD_KEY_ACME' }, 'api_key_secret_id: required on AWS'],
    ['a rules folder', { rules_dir: 'rules/acme' }, 'rules_dir: not available on AWS'],
  ])('refuses an entry AWS cannot serve (%s)', async (_name, patch, message) => {
    const entry = { ...org('acme', 'acct-1'), ...patch } as OrgEntry;
    await expect(registry.add(entry)).rejects.toThrow(OrgRegistryError);
    await expect(registry.add(entry)).rejects.toThrow(message);
    expect(await registry.list()).toEqual([]);
  });

  it('reports an item it cannot serve by its key; list() refuses, read() keeps the others', async () => {
    await registry.add(org('good', 'acct-1'));
    const doc = DynamoDBDocumentClient.from(dynamo.client);
    await doc.send(new PutCommand({ TableName: tableName, Item: { ...orgKeys.entry('acct-2'), gsi4pk: 'ORGS', gsi4sk: 'bad', org_id: 'bad', api_key_env: 'X', ad_account_id: 'acct-2', enabled: true } }));
    const { orgs, invalid } = await registry.read();
    expect(orgs.map((o) => o.org_id)).toEqual(['good']);
    expect(invalid).toEqual([{ key: 'A#acct-2#ORG/REGISTRY', org_id: 'bad', problems: [expect.stringContaining('api_key_secret_id: required on AWS') as string] }]);
    await expect(registry.list()).rejects.toThrow('A#acct-2#ORG/REGISTRY');
  });
});
