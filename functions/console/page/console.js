// The console page: plain DOM, no framework, no build step. Every text from the server is put
// in with textContent (never as HTML). Views are chosen by the URL's hash: #rules, #feed,
// #entity/<id>, #approvals, #simulate. The feed polls /api/decisions, so new decisions appear
// without a reload.
'use strict';

(function consolePage() {
  const POLL_MS = 1000;
  const OP = { gt: '>', gte: '≥', lt: '<', lte: '≤', eq: '=', neq: '≠', in: 'in', not_in: 'not in', between: 'between', contains: 'contains' };
  const state = { timeZone: 'UTC', feedTimer: null, feedSeen: new Set(), feedQuery: '', feedRequest: 0, view: '' };

  const $ = (selector) => document.querySelector(selector);
  const USD = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
  const usd = (value) => USD.format(value);

  /** An element with text and attributes; children are elements or strings (as text nodes). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === 'class') node.className = value;
      else if (name === 'text') node.textContent = String(value);
      else node.setAttribute(name, String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === 'string' ? document.createTextNode(child) : child);
    }
    return node;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    return node;
  }

  async function api(path, options) {
    const response = await fetch(path, options);
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = { error: { message: `HTTP ${response.status}` } };
    }
    return { ok: response.ok, status: response.status, body };
  }

  const post = (path, body) => api(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

  function errorText(result) {
    const e = result.body && result.body.error;
    return e ? e.message : `HTTP ${result.status}`;
  }

  function showError(node, text) {
    node.textContent = text || '';
    node.hidden = !text;
  }

  /** `2026-03-10 11:15 EDT` in the rules' time zone. */
  function stamp(iso) {
    if (!iso) return '';
    const date = new Date(iso);
    const parts = Object.fromEntries(new Intl.DateTimeFormat('en-CA', { timeZone: state.timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short' }).formatToParts(date).map((p) => [p.type, p.value]));
    return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${parts.timeZoneName || ''}`.trim();
  }

  function outcomeBadge(outcome, mode) {
    return el('span', { class: `outcome ${outcome}`, text: outcome.replace(/_/g, ' ') + (mode === 'dry_run' ? ' (dry)' : '') });
  }

  function entityLink(id, name) {
    if (!id || id === '*') return document.createTextNode(name || '*');
    return el('a', { class: 'entity', href: `#entity/${encodeURIComponent(id)}`, title: id, text: name || id });
  }

  // ---- the timeline: decisions (and a simulation's events) on one time axis, a row per rule ----

  /**
   * items: {atMs, row, cls, title}. Rows in first-seen order, people's events last. The same
   * drawing serves the feed, an entity's history and the simulator.
   */
  function drawTimeline(container, items, range) {
    container.replaceChildren();
    if (items.length === 0) {
      container.append(el('p', { class: 'muted', text: 'Nothing to draw yet.' }));
      return;
    }
    const rows = [...new Set(items.map((i) => i.row))];
    const left = 210;
    const width = 1000;
    const rowHeight = 22;
    const top = 8;
    const height = top + rows.length * rowHeight + 24;
    const times = items.map((i) => i.atMs);
    const from = range && range.from !== undefined ? range.from : Math.min(...times);
    const until = range && range.until !== undefined ? range.until : Math.max(...times);
    const span = Math.max(until - from, 60000);
    const x = (ms) => left + ((ms - from) / span) * (width - left - 16);
    const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'timeline' });
    rows.forEach((row, i) => {
      const y = top + i * rowHeight + rowHeight / 2;
      chart.append(svg('line', { class: 'axis', x1: left, x2: width - 8, y1: y, y2: y }));
      const label = svg('text', { class: 'row', x: 4, y: y + 4 });
      label.textContent = row.length > 32 ? `${row.slice(0, 31)}…` : row;
      chart.append(label);
    });
    const axisY = top + rows.length * rowHeight + 14;
    for (const [ms, anchor] of [[from, 'start'], [from + span / 2, 'middle'], [from + span, 'end']]) {
      const tick = svg('text', { x: x(ms), y: axisY, 'text-anchor': anchor });
      tick.textContent = stamp(new Date(ms).toISOString());
      chart.append(tick);
    }
    for (const item of items) {
      const dot = svg('circle', { class: `dot ${item.cls}`, cx: x(item.atMs), cy: top + rows.indexOf(item.row) * rowHeight + rowHeight / 2, r: 5 });
      const title = svg('title', {});
      title.textContent = item.title;
      dot.append(title);
      chart.append(dot);
    }
    container.append(chart);
  }

  const decisionItem = (d, rowPrefix) => ({ atMs: Date.parse(d.evaluated_at), row: `${rowPrefix || ''}${d.rule_id}`, cls: d.outcome, title: `${stamp(d.evaluated_at)} ${d.rule_id} ${d.entity_name}: ${d.outcome} — ${d.why}` });

  function decisionRow(d, withEntity) {
    const cells = [el('td', { class: 'mono', text: stamp(d.evaluated_at) }), el('td', { text: d.rule_id })];
    if (withEntity) cells.push(el('td', {}, entityLink(d.entity_id, d.entity_name)));
    cells.push(el('td', { text: d.action || '-' }), el('td', {}, outcomeBadge(d.outcome, d.mode)), el('td', { text: d.why }));
    return el('tr', { 'data-decision-id': d.decision_id, 'data-outcome': d.outcome, 'data-rule': d.rule_id, 'data-entity': d.entity_id }, ...cells);
  }

  // ---- rules ----

  async function showRules() {
    const result = await api('/api/rules');
    const body = $('#rules-table tbody');
    const issues = $('#rule-issues');
    if (!result.ok) {
      issues.replaceChildren(el('li', { text: errorText(result) }));
      return;
    }
    issues.replaceChildren(...result.body.issues.map((text) => el('li', { text })));
    body.replaceChildren(
      ...result.body.rules.map((r) =>
        el(
          'tr',
          { 'data-rule-id': r.id },
          el('td', {}, el('strong', { text: r.id }), r.description ? el('div', { class: 'muted', text: r.description }) : null),
          el('td', { text: r.level.replace('_', ' ') }),
          el('td', { text: r.action }),
          el('td', { text: r.enabled ? r.mode : 'disabled' }),
          el('td', { class: 'mono schedule', text: r.schedule.expression }),
          el('td', { class: 'timezone', text: r.schedule.timezone }),
          el('td', { class: 'mono next-runs' }, ...(r.next_runs.length ? r.next_runs.map((n) => el('div', { 'data-at': n, text: stamp(n) })) : [el('span', { class: 'muted', text: r.enabled ? 'none' : '—' })])),
        ),
      ),
    );
  }

  // ---- the live feed ----

  function feedQuery() {
    const form = $('#feed-filters');
    const params = new URLSearchParams();
    for (const name of ['rule', 'outcome', 'entity', 'since']) {
      const value = form.elements[name].value.trim();
      if (value) params.set(name, value);
    }
    params.set('limit', '200');
    return params.toString();
  }

  async function pollFeed() {
    clearTimeout(state.feedTimer);
    const query = feedQuery();
    const request = ++state.feedRequest;
    const result = await api(`/api/decisions?${query}`);
    if (request !== state.feedRequest || state.view !== 'feed') return;
    if (!result.ok) {
      showError($('#feed-error'), errorText(result));
    } else {
      showError($('#feed-error'), '');
      const fresh = query !== state.feedQuery;
      state.feedQuery = query;
      const decisions = result.body.decisions;
      const rows = decisions.map((d) => {
        const row = decisionRow(d, true);
        if (!fresh && !state.feedSeen.has(d.decision_id)) row.classList.add('fresh');
        return row;
      });
      state.feedSeen = new Set(decisions.map((d) => d.decision_id));
      $('#feed-table tbody').replaceChildren(...rows);
      $('#feed-summary').textContent = `${decisions.length} decision${decisions.length === 1 ? '' : 's'}, newest first; updated ${stamp(result.body.now)}.`;
      drawTimeline($('#feed-timeline'), decisions.map((d) => decisionItem(d)));
    }
    if (state.view === 'feed') state.feedTimer = setTimeout(pollFeed, POLL_MS);
  }

  async function fillRuleFilter() {
    const select = $('#feed-filters').elements.rule;
    if (select.options.length > 1) return;
    const result = await api('/api/rules');
    if (!result.ok) return;
    for (const r of result.body.rules) select.append(el('option', { value: r.id, text: r.id }));
  }

  // ---- one entity ----

  function treeNode(node) {
    if (!node || typeof node !== 'object') return null;
    if (Array.isArray(node.children)) return el('li', { class: `branch ${node.result}` }, el('span', { text: `${node.kind} (${node.result.replace(/_/g, ' ')})` }), el('ul', { class: 'tree' }, ...node.children.map(treeNode)));
    if (node.child) return el('li', { class: `branch ${node.result}` }, el('span', { text: `not (${node.result.replace(/_/g, ' ')})` }), el('ul', { class: 'tree' }, treeNode(node.child)));
    const op = OP[node.op] || node.op;
    let text;
    if (node.kind === 'metric') text = `${node.metric} over ${node.window}: ${node.observed === null ? `unknown${node.reason ? ` (${node.reason})` : ''}` : formatValue(node.observed, node.metric)} ${op} ${formatValue(node.threshold, node.metric)}`;
    else if (node.kind === 'compare') text = `${node.metric} over ${node.window}: ${formatValue(node.observed, node.metric)} ${op} ${node.compare_to.multiplier}× ${node.compare_to.metric} over ${node.compare_to.window} (${formatValue(node.compare_to.observed, node.compare_to.metric)})`;
    else text = `${node.field}: ${JSON.stringify(node.observed)} ${op} ${JSON.stringify(node.threshold)}`;
    return el('li', { class: `leaf ${node.result}`, text });
  }

  function formatValue(value, metric) {
    if (Array.isArray(value)) return `[${value.map((v) => formatValue(v, metric)).join(', ')}]`;
    if (typeof value !== 'number') return value === null || value === undefined ? 'n/a' : JSON.stringify(value);
    if (metric === 'ctr' || metric === 'budget_spent_fraction') return `${(value * 100).toFixed(2)}%`;
    if (metric === 'spend' || metric === 'cpc' || metric === 'cpm') return `$${value.toFixed(2)}`;
    return Number.isInteger(value) ? String(value) : value.toFixed(4).replace(/0+$/, '').replace(/\.$/, '');
  }

  const VERDICT_WORDS = { match: 'picks it', insufficient_data: 'not enough data', no_match: 'does not match', out_of_scope: 'out of scope', other_level: 'another level', data_unavailable: 'no data' };

  async function showEntity(id) {
    const form = $('#entity-form');
    form.elements.id.value = id || '';
    $('#entity-body').hidden = true;
    showError($('#entity-error'), '');
    if (!id) return;
    $('#entity-evaluated').textContent = 'Previewing…';
    const result = await api(`/api/entities/${encodeURIComponent(id)}`);
    if (state.view !== 'entity') return;
    if (!result.ok) {
      showError($('#entity-error'), errorText(result));
      return;
    }
    const b = result.body;
    $('#entity-title').textContent = `${b.level ? b.level.replace('_', ' ') : 'entity'} “${b.name}”`;
    $('#entity-evaluated').textContent = `Values and verdicts as the rules would see them at ${stamp(b.evaluated_at)} (a preview: nothing is acted on or recorded).`;
    const current = b.current;
    const rows = current
      ? [
          ['id', current.id],
          ['status', current.status],
          ['review status', current.review_status],
          ['lifetime budget', current.budget_usd === null ? null : usd(current.budget_usd)],
          ['max bid', current.max_bid_usd === null ? null : usd(current.max_bid_usd)],
          ['updated at', stamp(current.updated_at)],
          ['created at', stamp(current.created_at)],
          ['campaign', current.level === 'campaign' ? null : current.campaign_id],
          ['campaign status', current.level === 'campaign' ? null : current.campaign_status],
          ['ad group', current.ad_group_id],
        ].filter(([, v]) => v !== null && v !== undefined && v !== '')
      : [['', 'not in the lists the enabled rules read now']];
    $('#entity-current tbody').replaceChildren(...rows.map(([k, v]) => el('tr', { 'data-field': k }, el('th', { text: k }), el('td', { text: v }))));
    $('#entity-rules').replaceChildren(
      ...b.rules.map((r) =>
        el(
          'li',
          { 'data-rule-id': r.rule_id, 'data-verdict': r.verdict },
          el('div', {}, el('strong', { text: r.rule_id }), ` (${r.action}) `, el('span', { class: `verdict ${r.verdict}`, text: VERDICT_WORDS[r.verdict] || r.verdict }), r.outcome && r.outcome !== 'data_unavailable' ? el('span', { class: 'muted', text: ` → ${r.outcome.replace(/_/g, ' ')}` }) : null),
          el('div', { class: 'reason', text: r.reason }),
          r.explanation ? el('ul', { class: 'tree' }, treeNode(r.explanation)) : null,
        ),
      ),
    );
    $('#entity-history tbody').replaceChildren(...b.history.map((d) => decisionRow(d, false)));
    drawTimeline($('#entity-timeline'), b.history.map((d) => decisionItem(d)));
    $('#entity-body').hidden = false;
  }

  // ---- approvals ----

  async function showApprovals(message) {
    const result = await api('/api/approvals');
    const list = $('#approvals-list');
    const note = $('#approvals-message');
    if (message) {
      note.textContent = message.text;
      note.className = `message${message.ok ? '' : ' refused'}`;
      note.hidden = false;
    }
    if (!result.ok) {
      list.replaceChildren(el('li', { class: 'error', text: errorText(result) }));
      return;
    }
    const pending = result.body.pending;
    $('#approvals-empty').hidden = pending.length > 0;
    list.replaceChildren(
      ...pending.map((p) => {
        const reason = el('input', { class: 'reason', placeholder: 'reason for rejecting (optional)', size: 36 });
        const approve = el('button', { type: 'button', class: 'approve', text: 'Approve' });
        const reject = el('button', { type: 'button', class: 'reject', text: 'Reject' });
        const act = async (verb) => {
          approve.disabled = true;
          reject.disabled = true;
          const by = $('#approver').value.trim();
          const body = verb === 'reject' ? { ...(by ? { by } : {}), ...(reason.value.trim() ? { reason: reason.value.trim() } : {}) } : by ? { by } : {};
          const answer = await post(`/api/approvals/${encodeURIComponent(p.decision_id)}/${verb}`, body);
          await showApprovals({ ok: answer.ok, text: answer.body && answer.body.message ? answer.body.message : errorText(answer) });
        };
        approve.addEventListener('click', () => void act('approve'));
        reject.addEventListener('click', () => void act('reject'));
        return el(
          'li',
          { 'data-decision-id': p.decision_id },
          el('div', {}, el('strong', { text: p.rule_id }), ': ', `${p.level.replace('_', ' ')} `, entityLink(p.entity_id, p.entity_name), ' ', el('span', { class: 'change', text: p.change })),
          el('div', { class: 'muted', text: `proposed ${stamp(p.evaluated_at)}; expires ${stamp(p.approval ? p.approval.expires_at : '')}` }),
          el('div', { class: 'why', text: `why: ${p.why}` }),
          el('div', { class: 'actions' }, approve, reject, reason),
        );
      }),
    );
  }

  // ---- the simulator ----

  function readUpload(input) {
    const file = input.files && input.files[0];
    if (!file) return Promise.resolve(null);
    return file.text().then((text) => {
      try {
        return { json: JSON.parse(text), name: file.name };
      } catch (error) {
        throw new Error(`${file.name}: not valid JSON (${error.message})`);
      }
    });
  }

  async function runSimulation(event) {
    event.preventDefault();
    const form = $('#sim-form');
    const error = $('#sim-error');
    showError(error, '');
    let fixture;
    let events;
    try {
      fixture = (await readUpload(form.elements.fixtureFile)) || (form.elements.fixturePath.value.trim() ? { path: form.elements.fixturePath.value.trim() } : null);
      events = (await readUpload(form.elements.eventsFile)) || (form.elements.eventsPath.value.trim() ? { path: form.elements.eventsPath.value.trim() } : undefined);
    } catch (problem) {
      showError(error, problem.message);
      return;
    }
    if (!fixture) {
      showError(error, 'fixture: give a path or upload a fixture file.');
      return;
    }
    const button = form.querySelector('button');
    button.disabled = true;
    $('#sim-summary').textContent = 'Simulating…';
    const account = form.elements.account.value.trim();
    const result = await post('/api/simulate', { fixture, ...(events ? { events } : {}), until: form.elements.until.value.trim(), ...(account ? { account } : {}) });
    button.disabled = false;
    if (!result.ok) {
      $('#sim-result').hidden = true;
      showError(error, errorText(result));
      return;
    }
    const b = result.body;
    const acted = b.decisions.filter((d) => d.outcome === 'acted').length;
    $('#sim-summary').textContent = `Simulated ${stamp(b.from)} → ${stamp(b.until)}: ${b.runs} runs, ${b.decisions.length} decisions (${acted} acted), ${b.events.length} events (${b.events.filter((e) => !e.ok).length} refused), ${b.requests} engine API requests.`;
    // The store's own decisions over the same span, on the same axis: what happened beside what would.
    const recorded = await api(`/api/decisions?${new URLSearchParams({ since: b.from, until: b.until, limit: '1000' }).toString()}`);
    const items = [
      ...b.decisions.map((d) => decisionItem(d, 'simulated · ')),
      ...b.events.map((e) => ({ atMs: Date.parse(e.at), row: 'people (simulated)', cls: `event${e.ok ? '' : ' refused'}`, title: `${stamp(e.at)} ${eventWords(e)}: ${e.detail}` })),
      ...(recorded.ok ? recorded.body.decisions.map((d) => ({ ...decisionItem(d, 'recorded · '), cls: `${d.outcome} recorded` })) : []),
    ];
    drawTimeline($('#sim-timeline'), items, { from: Date.parse(b.from), until: Date.parse(b.until) });
    $('#sim-events tbody').replaceChildren(...b.events.map((e) => el('tr', { 'data-ok': String(e.ok) }, el('td', { class: 'mono', text: stamp(e.at) }), el('td', { text: eventWords(e) }), el('td', { text: `${e.ok ? '✓' : '✗'} ${e.detail}` }))));
    $('#sim-decisions tbody').replaceChildren(...b.decisions.map((d) => decisionRow(d, true)));
    $('#sim-result').hidden = false;
  }

  function eventWords(e) {
    if (e.do === 'undo') return `undo ${e.rule} on ${e.entity}`;
    if (e.do === 'review') return `review campaign ${e.id}: ${e.review_status}`;
    return `${e.do} ${e.level.replace('_', ' ')} ${e.id}${e.do === 'update' ? ` ${JSON.stringify(e.body)}` : ''}`;
  }

  // ---- views ----

  function route() {
    const hash = decodeURIComponent(location.hash.replace(/^#/, ''));
    const [view, ...rest] = hash.split('/');
    const name = ['rules', 'feed', 'entity', 'approvals', 'simulate'].includes(view) ? view : 'feed';
    state.view = name;
    clearTimeout(state.feedTimer);
    for (const section of document.querySelectorAll('.view')) section.hidden = section.id !== `view-${name}`;
    for (const link of document.querySelectorAll('nav a')) link.classList.toggle('active', link.dataset.view === name);
    if (name === 'rules') void showRules();
    if (name === 'feed') {
      state.feedQuery = '';
      void fillRuleFilter();
      void pollFeed();
    }
    if (name === 'entity') void showEntity(rest.join('/'));
    if (name === 'approvals') void showApprovals(null);
  }

  async function start() {
    const status = await api('/api/status');
    if (status.ok) {
      state.timeZone = status.body.time_zone;
      $('#status').textContent = `${status.body.org_id ? `org ${status.body.org_id}, ` : ''}account ${status.body.account_id}; API: ${status.body.api}; store: ${status.body.store}; times in ${status.body.time_zone}.`;
      const outcome = $('#feed-filters').elements.outcome;
      for (const o of status.body.outcomes) outcome.append(el('option', { value: o, text: o.replace(/_/g, ' ') }));
    } else {
      $('#status').textContent = errorText(status);
    }
    $('#feed-filters').addEventListener('submit', (event) => {
      event.preventDefault();
      void pollFeed();
    });
    $('#feed-filters').addEventListener('reset', () => setTimeout(() => void pollFeed(), 0));
    $('#entity-form').addEventListener('submit', (event) => {
      event.preventDefault();
      location.hash = `#entity/${encodeURIComponent($('#entity-form').elements.id.value.trim())}`;
    });
    $('#sim-form').addEventListener('submit', (event) => void runSimulation(event));
    window.addEventListener('hashchange', route);
    route();
  }

  void start();
})();
