// Worlds and rule sets for simulator tests: campaigns with a delivery history shaped by a price
// per click and a click-through rate, and a traffic model that keeps them delivering as the clock
// moves, so rules see what they would see live.
import type { CompiledRuleSet } from '../../functions/rules/compile';
import type { RuleInput } from '../../functions/rules/schema';
import { runSimulation, type SimulationResult, type SimStep } from '../../functions/sim/simulate';
import type { SimEvent } from '../../functions/sim/events';
import { parseFixture, type FixtureInput } from '../../sandbox/fixture';
import { compiledFrom } from './engine';

/** 2026-11-20T02:50:00Z: 21:50 on Thursday 19 November in New York (EST). */
export const SIM_NOW = 1_795_143_000;
export const SIM_KEY = 'ak_sim_test_5b2e9c7a1d';
export const SIM_ACCOUNT = '5a1f3c2e-9b8d-4e7f-a6b5-c4d3e2f1a0b9';
const DAY = 86_400;

export interface SimCampaign {
  id: string;
  name: string;
  status?: 'active' | 'paused' | 'archived';
  review_status?: 'in_review' | 'approved' | 'rejected';
  budgetUsd?: number;
  /** Spend already delivered, over the `days` before today. */
  spentUsd?: number;
  days?: number;
  cpcUsd?: number;
  ctr?: number;
  /** Delivery from now on (0: none). */
  impressionsPerHour?: number;
  /** Days before now. */
  createdDaysAgo?: number;
  /** Seconds from now; default: 20 days ago. */
  startInSeconds?: number;
  autoReview?: { after_seconds: number; verdict: 'approved' | 'rejected' };
}

const isoDay = (t: number): string => new Date(t * 1000).toISOString().slice(0, 10);

export function simCampaign(c: SimCampaign): NonNullable<FixtureInput['campaigns']>[number] {
  const today = Math.floor(SIM_NOW / DAY) * DAY;
  const days = c.days ?? 10;
  const cpc = c.cpcUsd ?? 1;
  const ctr = c.ctr ?? 0.02;
  const spent = c.spentUsd ?? 0;
  const perDaySpend = spent / days;
  const perDayClicks = Math.round(perDaySpend / cpc);
  const delivery = spent > 0 ? Array.from({ length: days }, (_, i) => ({ date: isoDay(today - (i + 1) * DAY), impressions: Math.round(perDayClicks / ctr), clicks: perDayClicks, spend_usd: Math.round(perDaySpend * 100) / 100 })) : [];
  const created = SIM_NOW - (c.createdDaysAgo ?? 30) * DAY;
  return {
    id: c.id,
    name: c.name,
    status: c.status ?? 'active',
    review_status: c.review_status ?? 'approved',
    created_at: created,
    start_time: c.startInSeconds === undefined ? created + DAY : SIM_NOW + c.startInSeconds,
    budget: { lifetime_spend_limit_micros: Math.round((c.budgetUsd ?? 10_000) * 1_000_000) },
    pricing_model: 'cpc',
    ...(c.autoReview ? { auto_review: c.autoReview } : {}),
    ...(c.impressionsPerHour ? { traffic: { impressions_per_hour: c.impressionsPerHour, ctr, cpc_usd: cpc, noise: 0 } } : {}),
    ad_groups: [{ id: `${c.id}-group`, name: 'Group', ads: [{ id: `${c.id}-ad`, name: `${c.name} ad`, creative: { type: 'chat_card' as const, title: 'T', body: 'B' }, delivery }] }],
  };
}

export function simFixture(campaigns: SimCampaign[]): FixtureInput {
  return { now: SIM_NOW, seed: 11, api_keys: [SIM_KEY], account: { id: SIM_ACCOUNT, name: 'Sim Co', url: 'https://sim.example' }, campaigns: campaigns.map(simCampaign) };
}

/** `at` as ISO, minutes after SIM_NOW. */
export const minutesLater = (minutes: number): string => new Date((SIM_NOW + minutes * 60) * 1000).toISOString();

export function simulate(fixture: FixtureInput, rules: CompiledRuleSet | RuleInput[], untilMinutes: number, events: SimEvent[] = [], onStep?: (step: SimStep) => void | Promise<void>): Promise<SimulationResult> {
  const set = Array.isArray(rules) ? compiledFrom(rules) : rules;
  return runSimulation({ fixture: parseFixture(fixture), rules: set, untilMs: (SIM_NOW + untilMinutes * 60) * 1000, events, onStep });
}

/** The decisions of one rule on one entity, as `outcome` strings in time order. */
export function outcomesOf(result: SimulationResult, ruleId: string, entityId: string): string[] {
  return result.decisions.filter((d) => d.rule_id === ruleId && d.entity_id === entityId).map((d) => d.outcome);
}
