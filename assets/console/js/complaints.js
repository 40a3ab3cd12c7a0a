// The complaints pages (complaints.read, everyone): the list (`#/complaints`)
// with filters and paging, and one complaint (`#/complaints/{id}`, the
// `complaint` view) with its fields, its SLA clocks and the timeline of every
// alert it raised. For complaints.write (supervisors and admins): reassign
// and change the status there, and from an alert card in the inbox (the
// select is made here: `assigneeSelect`, `reassign`).
//
// Names: the assignees list (`GET /complaints/assignees`) needs
// complaints.write; without it the page knows the reader's own name and those
// the alert timeline names, and says "Staff #12" for anyone else.

import { api } from './api.js';
import {
  $,
  announce,
  capitalize,
  formatAgo,
  formatDateTime,
  formatDuration,
  h,
  setStatus,
  splitDetail,
  typeLabel,
  words,
  CHANNEL_NAMES as CHANNELS,
  DELIVERY_STATES,
} from './dom.js';

export const needs = 'complaints.read';
export const title = 'complaints';

export const STATUSES = {
  open: 'Open',
  in_progress: 'In progress',
  pending: 'Pending',
  resolved: 'Resolved',
  closed: 'Closed',
};
const METRICS = { first_response: 'First response', resolution: 'Resolution' };
const CLOCK_STATES = { running: 'Running', paused: 'Paused', met: 'Met', breached: 'Breached' };
const ROLES = { agent: 'Agents', supervisor: 'Supervisors', admin: 'Admins' };
const PAGE_SIZE = 20;

/** `<time>` in the reader's zone (the inbox's format), "3 minutes ago" on hover. */
const when = (iso) => h('time', { dateTime: iso, title: formatAgo(iso) }, formatDateTime(iso));
const muted = (text) => h('span', { className: 'muted' }, text);
/** Words for screen readers only. */
const hidden = (text) => h('span', { className: 'visually-hidden' }, text);
const priorityTag = (priority) => h('span', { className: `tag prio-${priority}` }, capitalize(priority));
const statusTag = (status) => h('span', { className: `tag st-${status}` }, STATUSES[status] ?? status);

// ------------------------------------------------------------------ names

/** Full names by staff id: the assignees (complaints.write), the reader, and people alerts name. */
const names = new Map();
let assignees = [];
let assigneesRead = null;

/**
 * The people a complaint can be assigned to (complaints.write only), read
 * once per page show; their names go into `names`.
 */
export function loadAssignees(ctx, fresh = false) {
  if (ctx.me) names.set(ctx.me.id, ctx.me.full_name);
  if (!ctx.can('complaints.write')) return Promise.resolve([]);
  if (!assigneesRead || fresh) {
    assigneesRead = api('GET', '/api/v1/complaints/assignees').then(
      (list) => {
        assignees = list;
        for (const person of list) names.set(person.id, person.full_name);
        return list;
      },
      (err) => {
        assigneesRead = null;
        throw err;
      },
    );
  }
  return assigneesRead;
}

/** "You", a name, else "Staff #12"; "Unassigned" for none. */
export function personName(id, ctx) {
  if (id === null || id === undefined) return 'Unassigned';
  if (id === ctx.me?.id) return 'You';
  return names.get(id) || `Staff #${id}`;
}

/**
 * Fills `select` with "Unassigned" and the assignees by name, grouped by
 * role; `current` is selected (kept as a choice even when not assignable).
 */
export function assigneeSelect(select, current, ctx) {
  const option = (person) => {
    const label = person.id === ctx.me?.id ? `${person.full_name} (you)` : person.full_name;
    return h('option', { value: String(person.id) }, label);
  };
  const groups = Object.entries(ROLES)
    .map(([role, label]) => {
      const people = assignees.filter((p) => p.role === role).sort((a, b) => a.full_name.localeCompare(b.full_name));
      return people.length ? h('optgroup', { label }, ...people.map(option)) : null;
    })
    .filter(Boolean);
  select.replaceChildren(h('option', { value: '' }, 'Unassigned'), ...groups);
  if (current !== null && current !== undefined && !assignees.some((p) => p.id === current)) {
    select.append(h('option', { value: String(current) }, `${personName(current, ctx)} (cannot be assigned now)`));
  }
  select.value = current === null || current === undefined ? '' : String(current);
}

/** The select's value as the API's `assigned_to_staff_id`. */
export const chosenAssignee = (select) => (select.value === '' ? null : Number(select.value));

/** `PATCH /complaints/{id}` with `changes`; resolves to the complaint. */
export const updateComplaint = (id, changes) => api('PATCH', `/api/v1/complaints/${id}`, changes);

/** "Assigned to Bea Agent." / "Unassigned." */
export function assignedText(id, ctx) {
  if (id === null || id === undefined) return 'Now unassigned.';
  return id === ctx.me?.id ? 'Assigned to you.' : `Assigned to ${personName(id, ctx)}.`;
}

// ------------------------------------------------------------------ icons

const ICONS = {
  // A clock with a cross: the deadline passed.
  sla_breach: ['M8 1.5a6.5 6.5 0 1 0 0 13 6.5 6.5 0 0 0 0-13z', 'M8 4.5V8l2 1.5'],
  // An hourglass: time running out.
  sla_at_risk: ['M4 1.5h8', 'M4 14.5h8', 'M5 1.5c0 3.5 6 3.5 6 6.5s-6 3-6 6.5', 'M11 1.5c0 3.5-6 3.5-6 6.5s6 3 6 6.5'],
  // A speech bubble with an exclamation mark: nobody answered in time.
  first_response_breach: ['M2 3h12v8H7l-3 3v-3H2z', 'M8 5v3', 'M8 9.5v.01'],
  // A speech bubble with dots: an answer is due soon.
  first_response_at_risk: ['M2 3h12v8H7l-3 3v-3H2z', 'M5.5 7h.01', 'M8 7h.01', 'M10.5 7h.01'],
  // A warning triangle.
  critical_complaint: ['M8 1.75 15 14.25H1z', 'M8 6v4', 'M8 12v.01'],
  // A stack of trays: too much work.
  high_workload: ['M2 10.5 8 13.5l6-3', 'M2 7.5 8 10.5l6-3', 'M8 1.5 14 4.5 8 7.5 2 4.5z'],
};
const BELL = ['M4 11V7a4 4 0 0 1 8 0v4l1.5 1.5h-11z', 'M6.5 14.5h3'];
const EXTRA_TYPES = {
  first_response_breach: 'First response overdue',
  first_response_at_risk: 'First response at risk',
};

/** An alert type in words. */
export const alertTypeName = (type) => EXTRA_TYPES[type] ?? typeLabel(type);

/**
 * The alert type's small icon, before its name: the name is its text
 * alternative (the icon is hidden from screen readers; its tooltip names it).
 */
export function typeIcon(type) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('width', '16');
  svg.setAttribute('height', '16');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', `type-icon icon-${ICONS[type] ? type : 'other'}`);
  const tip = document.createElementNS(ns, 'title');
  tip.textContent = alertTypeName(type);
  svg.append(tip);
  for (const d of ICONS[type] ?? BELL) {
    const path = document.createElementNS(ns, 'path');
    path.setAttribute('d', d);
    svg.append(path);
  }
  return svg;
}

/** The icon and the type's name, as the content of a `.alert-type`. */
export const typeBadge = (type) => [typeIcon(type), h('span', { className: 'type-name' }, alertTypeName(type))];

// ------------------------------------------------------------------ SLA in words

/** The clock the list shows: breached first, then the soonest due still counting, else the first. */
function nearestClock(complaint) {
  const metrics = complaint.sla?.metrics ?? [];
  const counting = metrics.filter((m) => m.state === 'running' || m.state === 'paused');
  counting.sort((a, b) => (a.remaining_seconds ?? Infinity) - (b.remaining_seconds ?? Infinity));
  return metrics.find((m) => m.state === 'breached') ?? counting[0] ?? metrics[0] ?? null;
}

const clockTag = (state) => h('span', { className: `tag clock-${state}` }, CLOCK_STATES[state] ?? state);

function slaCell(complaint) {
  const clock = nearestClock(complaint);
  if (!complaint.sla?.policy || !clock) return h('td', {}, muted('No SLA'));
  const name = METRICS[clock.metric] ?? clock.metric;
  let line;
  const since = (word, iso) => (iso ? [`${word} since `, when(iso)] : [word]);
  if (clock.state === 'breached') line = since('overdue', clock.breached_at);
  else if (clock.state === 'paused') line = since('paused', clock.paused_since);
  else if (clock.state === 'met') line = ['met'];
  else line = clock.due_at ? ['due ', when(clock.due_at)] : ['running'];
  return h('td', {}, clockTag(clock.state), ' ', name, h('span', { className: 'sub' }, ...line));
}

// ------------------------------------------------------------------ the list

const list = {
  ctx: null,
  page: 1,
  loads: 0,
  debounce: 0,
};

const listStatus = (text, isError) => setStatus($('#complaints-status'), text, isError);

export async function show(ctx) {
  if (!list.ctx) bindList(ctx);
  $('#complaint-filters').elements.assignee.querySelector('option[value=team]').hidden = ctx.me.role === 'agent';
  // Names for the assignee column first (complaints.write); without them, ids.
  await loadAssignees(ctx, true).catch(() => {});
  await loadList();
}

function bindList(ctx) {
  list.ctx = ctx;
  const filters = $('#complaint-filters');
  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    clearTimeout(list.debounce);
    reloadFrom(1);
  });
  filters.addEventListener('input', (event) => {
    if (event.target.name !== 'q') return;
    clearTimeout(list.debounce);
    list.debounce = setTimeout(() => reloadFrom(1), 250);
  });
  filters.addEventListener('change', (event) => {
    if (event.target.name !== 'q') reloadFrom(1);
  });
  $('#complaints-clear-filters').addEventListener('click', () => {
    filters.reset();
    reloadFrom(1);
    filters.elements.q.focus();
  });
  $('#complaints-prev').addEventListener('click', () => reloadFrom(list.page - 1));
  $('#complaints-next').addEventListener('click', () => reloadFrom(list.page + 1));
}

function reloadFrom(page) {
  list.page = Math.max(1, page);
  return loadList();
}

async function loadList() {
  const load = ++list.loads;
  const filters = $('#complaint-filters').elements;
  const params = new URLSearchParams({ page: list.page, page_size: PAGE_SIZE });
  const q = filters.q.value.trim();
  if (q) params.set('q', q);
  let filtered = Boolean(q);
  for (const name of ['assignee', 'status', 'priority', 'sla_state']) {
    if (filters[name].value) {
      params.set(name, filters[name].value);
      filtered = true;
    }
  }
  if (filters.sort.value) params.set('sort', filters.sort.value);
  const table = $('#complaints-table');
  table.setAttribute('aria-busy', 'true');
  try {
    const page = await api('GET', `/api/v1/complaints?${params}`);
    if (load !== list.loads) return;
    if (page.total_pages > 0 && list.page > page.total_pages) return reloadFrom(page.total_pages);
    renderList(page, filtered);
    if ($('#complaints-status').classList.contains('is-error')) listStatus('');
  } catch (err) {
    if (load === list.loads) listStatus(`Could not load the complaints: ${err.message}`, true);
  } finally {
    if (load === list.loads) table.removeAttribute('aria-busy');
  }
}

function renderList(page, filtered) {
  const ctx = list.ctx;
  const rows = page.complaints.map((complaint) => {
    const link = h('a', { href: `#/complaints/${complaint.id}`, className: 'c-title' }, complaint.title);
    const assignee = complaint.assigned_to_staff_id;
    const row = h(
      'tr',
      { id: `complaint-row-${complaint.id}` },
      h(
        'th',
        { scope: 'row' },
        link,
        ' ',
        h('span', { className: 'c-id' }, `#${complaint.id}`),
        h('span', { className: 'sub' }, hidden('Customer: '), complaint.customer_name),
      ),
      h('td', {}, priorityTag(complaint.priority)),
      h('td', {}, statusTag(complaint.status)),
      h('td', { className: 'assignee' }, assignee === null ? muted('Unassigned') : personName(assignee, ctx)),
      slaCell(complaint),
      h('td', {}, when(complaint.created_at)),
    );
    row.dataset.id = complaint.id;
    return row;
  });
  $('#complaints-table tbody').replaceChildren(...rows);
  $('#complaints-table-wrap').hidden = rows.length === 0;
  $('#complaints-empty').hidden = rows.length > 0;
  $('#complaints-empty-text').textContent = filtered
    ? 'No complaint matches these filters. Try other words or another status, or clear the filters.'
    : 'There are no complaints yet. They appear here as soon as they are opened, by the team or synced from the ' +
      'helpdesk.';
  $('#complaints-clear-filters').hidden = !filtered;
  $('#complaints-pager').hidden = page.total_pages <= 1;
  const count = page.total === 1 ? '1 complaint' : `${page.total} complaints`;
  $('#complaints-page-info').textContent = `Page ${page.page} of ${Math.max(1, page.total_pages)} (${count})`;
  $('#complaints-prev').disabled = page.page <= 1;
  $('#complaints-next').disabled = page.page >= page.total_pages;
}

// ------------------------------------------------------------------ one complaint

const one = {
  ctx: null,
  id: null,
  complaint: null,
  loads: 0,
  refresh: 0,
};

const pageStatus = (text, isError) => setStatus($('#complaint-status'), text, isError);
const formStatus = (text, kind = '') => {
  const el = $('#complaint-form-status');
  setStatus(el, text, kind === 'error');
  el.classList.toggle('is-ok', kind === 'ok');
};
const onScreen = () => !$('#view-complaint').hidden;

/** The `complaint` view: `#/complaints/{id}`. */
export const complaintView = { needs: 'complaints.read', title: 'complaint', nav: 'complaints', show: showComplaint };

async function showComplaint(ctx, id) {
  if (!one.ctx) bindComplaint(ctx);
  if (!/^\d+$/.test(id ?? '')) {
    location.replace('#/complaints');
    return;
  }
  const changed = one.id !== Number(id);
  one.id = Number(id);
  if (changed) {
    one.complaint = null;
    $('#complaint-title').textContent = `Complaint #${id}`;
    $('#complaint-body').hidden = true;
    formStatus('');
  }
  pageStatus('');
  await loadComplaint(true);
}

function bindComplaint(ctx) {
  one.ctx = ctx;
  const form = $('#complaint-form');
  form.addEventListener('submit', saveComplaint);
  for (const control of [form.elements.assigned_to_staff_id, form.elements.status]) {
    control.addEventListener('change', () => {
      const error = $(`#${control.getAttribute('aria-describedby').split(' ').at(-1)}`);
      error.textContent = '';
      control.removeAttribute('aria-invalid');
      formStatus('');
    });
  }
  // The timeline follows the reader's own alerts about this complaint as they arrive or change.
  const follow = (alert) => {
    if (onScreen() && alert?.resource_type === 'complaint' && alert.resource_id === one.id) reloadSoon();
  };
  ctx.live.addEventListener('alert.created', (event) => follow(event.detail.alert));
  ctx.live.addEventListener('alert.updated', (event) => follow(event.detail.alert));
  ctx.live.addEventListener('resync', () => onScreen() && reloadSoon());
}

function reloadSoon() {
  clearTimeout(one.refresh);
  one.refresh = setTimeout(() => loadComplaint(false), 300);
}

/** Reads the complaint, its alerts and (complaints.write) the assignees; `withForm` refills the form. */
async function loadComplaint(withForm) {
  const load = ++one.loads;
  const id = one.id;
  const ctx = one.ctx;
  const body = $('#complaint-body');
  body.setAttribute('aria-busy', 'true');
  if (!one.complaint) pageStatus('Loading the complaint…');
  let complaint;
  let alerts;
  try {
    [complaint, alerts] = await Promise.all([
      api('GET', `/api/v1/complaints/${id}`),
      api('GET', `/api/v1/complaints/${id}/alerts`).catch((err) => ({ error: err })),
      loadAssignees(ctx, withForm).catch(() => null),
    ]);
  } catch (err) {
    if (load !== one.loads) return;
    body.removeAttribute('aria-busy');
    if (err.status === 404) {
      $('#complaint-title').textContent = 'Complaint not found';
      body.hidden = true;
      pageStatus(`There is no complaint #${id}. It may have been removed; go back to the complaints list.`, true);
    } else {
      pageStatus(`Could not load complaint #${id}: ${err.message}`, true);
    }
    return;
  }
  if (load !== one.loads) return;
  body.removeAttribute('aria-busy');
  one.complaint = complaint;
  for (const alert of alerts.alerts ?? []) {
    names.set(alert.recipient.id, alert.recipient.full_name);
    if (alert.acknowledged_by) names.set(alert.acknowledged_by.id, alert.acknowledged_by.full_name);
  }
  pageStatus('');
  $('#complaint-title').textContent = complaint.title;
  document.title = `${complaint.title} (#${complaint.id}) · ConvergeAI Alerts`;
  renderFields(complaint);
  renderClocks(complaint);
  renderTimeline(alerts, complaint);
  const form = $('#complaint-form');
  form.hidden = !ctx.can('complaints.write');
  if (withForm && !form.hidden) fillForm(complaint);
  body.hidden = false;
}

function renderFields(c) {
  const ctx = one.ctx;
  const rows = [
    [
      'Customer',
      c.customer_name,
      c.customer_email ? h('a', { href: `mailto:${c.customer_email}` }, c.customer_email) : null,
    ],
    ['Priority', priorityTag(c.priority)],
    ['Status', statusTag(c.status)],
    ['Assignee', c.assigned_to_staff_id === null ? muted('Unassigned') : personName(c.assigned_to_staff_id, ctx)],
    ['Opened', when(c.created_at)],
    ['Last changed', when(c.updated_at)],
    ['First response', c.first_responded_at ? when(c.first_responded_at) : muted('Not yet')],
    ['Deadline', c.sla_deadline ? when(c.sla_deadline) : muted('None')],
  ];
  if (c.resolved_at) rows.push(['Resolved', when(c.resolved_at)]);
  if (c.external_id) rows.push(['Helpdesk id', h('code', {}, c.external_id)]);
  const dl = $('#complaint-fields');
  dl.replaceChildren(
    ...rows.flatMap(([label, value, extra]) => [
      h('dt', {}, label),
      h('dd', {}, value, extra ? h('span', { className: 'sub' }, extra) : null),
    ]),
  );
  const description = $('#complaint-description');
  if (c.description.trim()) description.replaceChildren(c.description);
  else description.replaceChildren(muted('No description.'));
  $('#complaint-number').textContent = `#${c.id}`;
}

function renderClocks(c) {
  const box = $('#complaint-sla');
  const { policy, calendar, metrics } = c.sla ?? {};
  if (!policy) {
    box.replaceChildren(h('p', { className: 'muted' }, 'No SLA policy covers this complaint, so no clock runs.'));
    return;
  }
  const head = h('p', { className: 'hint small' }, 'Policy ', h('strong', {}, policy));
  if (calendar) head.append(', calendar ', h('strong', {}, calendar));
  const items = (metrics ?? []).map((m) => {
    const lines = [];
    if (m.due_at) lines.push(h('span', { className: 'sub' }, m.state === 'met' ? 'Was due ' : 'Due ', when(m.due_at)));
    if (m.state === 'breached' && m.breached_at) {
      lines.push(h('span', { className: 'sub' }, 'Breached ', when(m.breached_at)));
    }
    if (m.state === 'paused' && m.paused_since) {
      lines.push(h('span', { className: 'sub' }, 'Paused since ', when(m.paused_since), ' (waiting on the customer)'));
    }
    if ((m.state === 'running' || m.state === 'paused') && m.remaining_business_seconds !== null) {
      const left = m.remaining_business_seconds;
      lines.push(
        h(
          'span',
          { className: 'sub' },
          left >= 0
            ? `${formatDuration(left)} of working time left`
            : `Overdue by ${formatDuration(-left)} of working time`,
        ),
      );
    }
    const li = h(
      'li',
      { className: `clock is-${m.state}` },
      h('span', { className: 'clock-name' }, METRICS[m.metric] ?? m.metric),
      ' ',
      clockTag(m.state),
      ...lines,
    );
    li.dataset.metric = m.metric;
    li.dataset.state = m.state;
    return li;
  });
  const ul = h('ul', { className: 'clocks' }, ...items);
  box.replaceChildren(head, items.length ? ul : h('p', { className: 'muted' }, 'This policy sets no targets.'));
}

/** Every alert the complaint raised, newest first: who got it, what became of it, how it was delivered. */
function renderTimeline(data, complaint) {
  const ol = $('#complaint-timeline');
  const hint = $('#complaint-timeline-hint');
  const ctx = one.ctx;
  if (data.error) {
    ol.replaceChildren();
    $('#complaint-timeline-empty').hidden = true;
    setStatus(hint, `Could not load its alerts: ${data.error.message}`, true);
    return;
  }
  const everyone = ctx.me.role === 'supervisor' || ctx.me.role === 'admin';
  setStatus(
    hint,
    [
      everyone
        ? 'Every alert it raised, for everyone it went to, newest first.'
        : 'Your alerts about it, newest first.',
      data.truncated ? ' Only the latest are shown.' : '',
    ].join(''),
  );
  // The server's clock may run ahead of the reader's: an alert ended by the last change (a reassignment)
  // expires at that change's time, so "now" is at least then (with a few seconds' slack for the write itself).
  const now = Math.max(Date.now(), Date.parse(complaint.updated_at) + 5000);
  ol.replaceChildren(...data.alerts.map((alert) => timelineItem(alert, ctx, now)));
  $('#complaint-timeline-empty').hidden = data.alerts.length > 0;
  $('#complaint-timeline-empty').textContent = everyone
    ? 'No alert yet. When a rule fires for this complaint (a breach, a critical priority) the alerts appear here.'
    : 'No alert of yours about it yet. Alerts for you about this complaint appear here and in your inbox.';
}

function timelineItem(alert, ctx, now) {
  const { recipient: to } = alert;
  const recipient = to.id === ctx.me.id ? 'You' : to.full_name || `Staff #${to.id}`;
  const ended = !alert.resolved_at && alert.expires_at && Date.parse(alert.expires_at) <= now;
  const states = [];
  const state = (className, ...content) => states.push(h('li', { className }, ...content));
  state(alert.read_at ? 'is-done' : 'is-open', ...(alert.read_at ? ['Read ', when(alert.read_at)] : ['Not read']));
  if (alert.acknowledged_at) {
    const by = alert.acknowledged_by;
    const who = by ? (by.id === ctx.me.id ? 'you' : by.full_name || `Staff #${by.id}`) : 'someone';
    state('is-done', `Acknowledged by ${who}, `, when(alert.acknowledged_at));
  } else state('is-open', 'Not acknowledged');
  if (alert.dismissed_at) state('is-done', 'Dismissed ', when(alert.dismissed_at));
  if (alert.resolved_at) state('is-done', 'Resolved ', when(alert.resolved_at));
  else if (ended) state('is-ended', 'Ended ', when(alert.expires_at), ' (no longer theirs to act on)');
  const deliveries = [h('span', { className: 'dl dl-sent' }, CHANNELS.in_app)];
  for (const d of alert.deliveries) {
    const text = `${CHANNELS[d.channel] ?? d.channel}: ${DELIVERY_STATES[d.status] ?? d.status}`;
    const span = h('span', { className: `dl dl-${d.status}` }, text);
    if (d.last_error && d.status !== 'sent') span.append(` (${d.last_error})`);
    if (d.attempts > 1) span.append(`, ${d.attempts} attempts`);
    deliveries.push(span);
  }
  const escalated = alert.escalation_step > 0;
  const step = escalated ? h('span', { className: 'tag escalated' }, `Escalation step ${alert.escalation_step}`) : null;
  const li = h(
    'li',
    { className: `c-event sev-${alert.severity}${ended ? ' is-ended' : ''}`, id: `complaint-alert-${alert.id}` },
    h(
      'p',
      { className: 'c-event-head' },
      h('span', { className: 'alert-type' }, ...typeBadge(alert.alert_type)),
      h('span', { className: 'sev' }, capitalize(alert.severity)),
      step,
      when(alert.created_at),
    ),
    h('p', { className: 'c-event-who' }, 'To ', h('strong', { className: 'who' }, recipient)),
    h('ul', { className: 'c-event-states' }, ...states),
    h('p', { className: 'c-event-deliveries' }, hidden('Delivered: '), ...deliveries),
  );
  li.querySelector('.c-event-states').setAttribute('aria-label', 'What became of it');
  li.dataset.staff = alert.recipient.id;
  li.dataset.step = alert.escalation_step;
  return li;
}

function fillForm(c) {
  const form = $('#complaint-form');
  assigneeSelect(form.elements.assigned_to_staff_id, c.assigned_to_staff_id, one.ctx);
  form.elements.status.value = c.status;
  for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
}

const FIELD_LABELS = { assigned_to_staff_id: 'Assignee', status: 'Status' };

async function saveComplaint(event) {
  event.preventDefault();
  const ctx = one.ctx;
  const form = event.currentTarget;
  const current = one.complaint;
  if (!current) return;
  const assignee = chosenAssignee(form.elements.assigned_to_staff_id);
  const status = form.elements.status.value;
  const changes = {};
  if (assignee !== current.assigned_to_staff_id) changes.assigned_to_staff_id = assignee;
  if (status !== current.status) changes.status = status;
  if (!Object.keys(changes).length) {
    formStatus('Nothing to save: choose another assignee or status first.');
    return;
  }
  const button = form.querySelector('button[type=submit]');
  button.disabled = true;
  formStatus('Saving…');
  let updated;
  try {
    updated = await updateComplaint(current.id, changes);
  } catch (err) {
    button.disabled = false;
    const { field, message } = splitDetail(err.message);
    const control = form.elements[field];
    if (err.status === 422 && control) {
      const error = $(`#${control.getAttribute('aria-describedby').split(' ').at(-1)}`);
      setStatus(error, words(FIELD_LABELS[field] ?? field, message), true);
      control.setAttribute('aria-invalid', 'true');
      control.focus();
      formStatus('');
    } else if (err.status === 403) {
      formStatus('You may not change complaints. Ask a supervisor or an administrator.', 'error');
    } else {
      formStatus(`Could not save: ${err.message}`, 'error');
    }
    return;
  }
  button.disabled = false;
  const said = [];
  if ('assigned_to_staff_id' in changes) said.push(assignedText(updated.assigned_to_staff_id, ctx));
  if ('status' in changes) said.push(`Status: ${STATUSES[updated.status] ?? updated.status}.`);
  const text = `Saved. ${said.join(' ')}`;
  formStatus(text, 'ok');
  announce(text);
  one.complaint = updated;
  renderFields(updated);
  renderClocks(updated);
  // The new assignee's alerts are raised with the write: read the timeline again.
  await loadComplaint(false);
  formStatus(text, 'ok');
}
