// The SLA board (complaints.read, for supervisors and admins): open
// complaints soonest to breach first, each with the clock nearest to breach,
// a wall-clock countdown ticking every second and the working time left on
// its business calendar (read again every 60 s, and whenever an SLA alert
// arrives on the live feed); paused clocks apart, under "Waiting on the
// customer". For sla.manage (admins): business calendars and policies, with
// a due-time preview. A 4xx `detail` ("field: message") is shown next to its
// field, in words.

import { api } from './api.js';
import { $, $$, announce, capitalize, formatAgo, formatDateTime, h, parsePeriods, setStatus } from './dom.js';

export const needs = 'complaints.read';
export const roles = ['supervisor', 'admin'];
export const title = 'SLA board';

const REFRESH_MS = 60_000;
/** The most complaints one request returns. */
const PAGE_SIZE = 100;
/** Alerts about SLA clocks: one arriving means the board changed. */
const SLA_ALERTS = new Set(['sla_at_risk', 'sla_breach', 'first_response_at_risk', 'first_response_breach']);
const METRICS = { first_response: 'First response', resolution: 'Resolution' };
const STATUSES = {
  open: 'Open',
  in_progress: 'In progress',
  pending: 'Pending',
  resolved: 'Resolved',
  closed: 'Closed',
};
const PRIORITIES = ['critical', 'high', 'medium', 'low'];
const DAYS = [
  ['mon', 'Monday'],
  ['tue', 'Tuesday'],
  ['wed', 'Wednesday'],
  ['thu', 'Thursday'],
  ['fri', 'Friday'],
  ['sat', 'Saturday'],
  ['sun', 'Sunday'],
];
const ALWAYS_OPEN = 1;
const DEFAULT_POLICY = 1;

let context = null;
/** `''` (every running clock), `at_risk` or `breached`. */
let filter = '';
/** The countdowns on screen: `{row, cell, remaining, at}` (remaining seconds at `performance.now()` `at`). */
let countdowns = [];
let ticker = 0;
let refresher = 0;
let debounce = 0;
let loads = 0;
let calendars = [];

const visible = () => !$('#view-sla').hidden;
const status = (text, isError) => setStatus($('#sla-status'), text, isError);
const settingsStatus = (text, isError) => setStatus($('#sla-settings-status'), text, isError);

export function show(ctx) {
  if (!context) bind(ctx);
  loadBoard();
  if (ctx.can('sla.manage')) loadSettings();
  ticker ||= setInterval(tick, 1000);
  refresher ||= setInterval(() => visible() && loadBoard(), REFRESH_MS);
}

function bind(ctx) {
  context = ctx;
  const filters = $('#sla-filters');
  filters.addEventListener('change', () => {
    filter = filters.elements.sla_state.value;
    loadBoard();
  });
  filters.addEventListener('submit', (event) => event.preventDefault());
  $('#sla-refresh').addEventListener('click', async () => {
    await loadBoard();
    announce('Board updated.');
  });
  $('#sla-to-settings').addEventListener('click', () => {
    const heading = $('#sla-settings-title');
    heading.scrollIntoView({ block: 'start' });
    heading.focus({ preventScroll: true });
  });
  // An SLA alert (about any complaint) means a clock changed state: read the board again.
  ctx.live.addEventListener('alert.created', (event) => {
    if (SLA_ALERTS.has(event.detail.alert?.alert_type)) reloadSoon();
  });
  ctx.live.addEventListener('resync', reloadSoon);
  if (ctx.can('sla.manage')) bindSettings();
}

/** One reload for a burst of alerts (a check raises several at once). */
function reloadSoon() {
  clearTimeout(debounce);
  debounce = setTimeout(() => visible() && loadBoard(), 300);
}

// ---------------------------------------------------------------- the board

const complaints = (sla_state) =>
  api('GET', `/api/v1/complaints?${new URLSearchParams({ sort: 'sla_due', sla_state, page_size: PAGE_SIZE })}`);

async function loadBoard() {
  const load = ++loads;
  const board = $('#sla-board');
  board.setAttribute('aria-busy', 'true');
  try {
    // Every running clock is breached or not (yet); at-risk ones are marked; paused ones are listed apart.
    const states = filter ? [filter] : ['breached', 'running'];
    const [pages, atRisk, paused] = await Promise.all([
      Promise.all(states.map(complaints)),
      filter ? null : complaints('at_risk'),
      filter ? null : complaints('paused'),
    ]);
    if (load !== loads) return;
    const at = performance.now();
    const ids = (page) => page.complaints.map((c) => c.id);
    const risky = new Set(filter === 'at_risk' ? ids(pages[0]) : atRisk ? ids(atRisk) : []);
    const running = pages.flatMap((page) => page.complaints).map((c) => ({ complaint: c, metric: nearest(c) }));
    running.sort((a, b) => left(a.metric) - left(b.metric));
    countdowns = [];
    const rows = running.map(({ complaint, metric }) => boardRow(complaint, metric, risky.has(complaint.id), at));
    $('#sla-board tbody').replaceChildren(...rows);
    tick();
    $('#sla-board-wrap').hidden = running.length === 0;
    const empty = $('#sla-empty');
    empty.hidden = running.length > 0;
    empty.textContent = emptyText();
    $('#sla-waiting-part').hidden = !paused;
    if (paused) renderWaiting(paused.complaints);
    const total = pages.reduce((sum, page) => sum + page.total, 0);
    const overdue = running.filter(({ metric }) => metric.remaining_seconds < 0).length;
    const summary = [`${total} running clock${total === 1 ? '' : 's'}`];
    if (filter !== 'breached' && risky.size) summary.push(`${risky.size} at risk`);
    if (overdue) summary.push(`${overdue} overdue`);
    if (paused?.total) summary.push(`${paused.total} waiting on the customer`);
    let text = `${summary.join(', ')}.`;
    if (total > running.length) text += ` Showing ${running.length} of them.`;
    if ($('#sla-status').textContent !== text || $('#sla-status').classList.contains('is-error')) status(text);
  } catch (err) {
    if (load === loads) status(err.message, true);
  } finally {
    if (load === loads) board.removeAttribute('aria-busy');
  }
}

function emptyText() {
  const all = 'Choose “All running clocks” to see every open one.';
  if (filter === 'at_risk') return `No complaint is at risk of breaching now. ${all}`;
  if (filter === 'breached') return `No complaint is overdue. ${all}`;
  const base = 'No open complaint has an SLA clock running. New complaints appear here as soon as they are opened.';
  if (!context.can('sla.manage')) return base;
  return `${base} If you expected some, check below that a policy matches their priority.`;
}

/** The clock nearest to breach: of those still counting, the least time left. */
function nearest(complaint) {
  const counting = complaint.sla.metrics.filter((m) => Number.isFinite(m.remaining_seconds));
  const best = counting.reduce((found, m) => (found && left(found) <= left(m) ? found : m), null);
  return best ?? complaint.sla.metrics[0] ?? {};
}

const left = (metric) => metric.remaining_seconds ?? Number.POSITIVE_INFINITY;

const assignee = (id) => (id === null || id === undefined ? 'Unassigned' : `Staff #${id}`);

/** The first cell: the complaint's title, number and customer (a row header, so each cell reads with it). */
function complaintCell(complaint, tags = []) {
  return h(
    'th',
    { scope: 'row' },
    h('span', { className: 'c-title' }, complaint.title),
    ' ',
    h('span', { className: 'c-id' }, `#${complaint.id}`),
    ...tags,
    h('span', { className: 'sub' }, h('span', { className: 'visually-hidden' }, 'Customer: '), complaint.customer_name),
  );
}

const priorityTag = (priority) => h('span', { className: `tag prio-${priority}` }, capitalize(priority));

function clockCell(complaint, metric) {
  const calendar = complaint.sla.calendar ? h('span', { className: 'sub' }, complaint.sla.calendar) : null;
  return h('td', {}, METRICS[metric.metric] ?? '—', calendar);
}

const when = (iso) => h('time', { dateTime: iso, title: formatAgo(iso) }, formatDateTime(iso));

function boardRow(complaint, metric, atRisk, at) {
  const tags = atRisk ? [h('span', { className: 'tag at-risk' }, 'At risk')] : [];
  const countdown = h('span', { className: 'countdown' });
  const due = metric.due_at ? h('span', { className: 'sub' }, 'due ', when(metric.due_at)) : null;
  const row = h(
    'tr',
    { id: `sla-complaint-${complaint.id}`, className: atRisk ? 'is-at-risk' : '' },
    complaintCell(complaint, tags),
    h('td', {}, priorityTag(complaint.priority)),
    h('td', {}, STATUSES[complaint.status] ?? complaint.status),
    h('td', {}, assignee(complaint.assigned_to_staff_id)),
    clockCell(complaint, metric),
    h('td', { className: 'num' }, countdown, due),
    h('td', { className: 'num working' }, formatWorking(metric.remaining_business_seconds)),
  );
  row.dataset.id = complaint.id;
  row.dataset.metric = metric.metric ?? '';
  if (metric.remaining_seconds !== null && metric.remaining_seconds !== undefined) {
    countdowns.push({ row, cell: countdown, remaining: metric.remaining_seconds, at });
  } else {
    countdown.textContent = '—';
  }
  return row;
}

/** Every second: each countdown from its server value and the time since it was read. */
function tick() {
  if (!visible()) {
    clearInterval(ticker);
    clearInterval(refresher);
    ticker = refresher = 0;
    return;
  }
  const now = performance.now();
  for (const { row, cell, remaining, at } of countdowns) {
    const seconds = Math.floor(remaining - (now - at) / 1000);
    const text = seconds >= 0 ? formatClock(seconds) : `Overdue by ${formatClock(-seconds)}`;
    if (cell.textContent !== text) cell.textContent = text;
    row.classList.toggle('is-breached', seconds < 0);
  }
}

function renderWaiting(list) {
  const rows = list.map((complaint) => {
    const metrics = complaint.sla.metrics;
    const metric =
      metrics
        .filter((m) => m.state === 'paused')
        .sort((a, b) => (a.remaining_business_seconds ?? Infinity) - (b.remaining_business_seconds ?? Infinity))[0] ??
      metrics.find((m) => m.state === 'breached') ??
      {};
    const row = h(
      'tr',
      { id: `sla-waiting-${complaint.id}` },
      complaintCell(complaint),
      h('td', {}, priorityTag(complaint.priority)),
      h('td', {}, assignee(complaint.assigned_to_staff_id)),
      clockCell(complaint, metric),
      pausedCell(metric),
      h(
        'td',
        { className: 'num working' },
        metric.state === 'breached' ? 'Overdue before the pause' : formatWorking(metric.remaining_business_seconds),
      ),
    );
    row.dataset.id = complaint.id;
    return row;
  });
  $('#sla-waiting tbody').replaceChildren(...rows);
  $('#sla-waiting-wrap').hidden = rows.length === 0;
  $('#sla-waiting-empty').hidden = rows.length > 0;
}

function pausedCell(metric) {
  const since = metric.paused_since;
  if (!since) return h('td', {}, '—');
  const time = h('time', { dateTime: since }, formatDateTime(since));
  return h('td', {}, time, h('span', { className: 'sub' }, formatAgo(since)));
}

const pad = (n) => String(n).padStart(2, '0');

/** Whole seconds as "45 s", "12 min 05 s", "3 h 04 min 05 s", "2 d 3 h 04 min 05 s". */
function formatClock(total) {
  const d = Math.floor(total / 86400);
  const hours = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (d) return `${d} d ${hours} h ${pad(m)} min ${pad(s)} s`;
  if (hours) return `${hours} h ${pad(m)} min ${pad(s)} s`;
  if (m) return `${m} min ${pad(s)} s`;
  return `${s} s`;
}

/** Working time, to the minute: "3 h 05 min", "overdue by 40 min", "—" when the clock has none. */
function formatWorking(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  const minutes = Math.round(Math.abs(seconds) / 60);
  const hours = Math.floor(minutes / 60);
  const text = hours ? `${hours} h ${pad(minutes % 60)} min` : `${minutes} min`;
  return seconds < 0 ? `Overdue by ${text}` : text;
}

// ------------------------------------------------------ calendars and policies

function bindSettings() {
  const days = $('#cal-days');
  for (const [key, label] of DAYS) {
    const id = `cal-day-${key}`;
    days.append(
      h(
        'div',
        { className: 'day-row' },
        h('label', { htmlFor: id }, label),
        h('input', { id, name: `day-${key}`, placeholder: 'Closed', autocomplete: 'off', spellcheck: false }),
        h('p', { className: 'error field-error', id: `${id}-error`, role: 'alert' }),
      ),
    );
    $(`#${id}`).setAttribute('aria-describedby', `cal-hours-hint ${id}-error`);
    if (!['sat', 'sun'].includes(key)) $(`#${id}`).value = '09:00-17:00';
  }
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  $('#cal-zones').replaceChildren(...zones.map((zone) => h('option', { value: zone })));
  $('#cal-zone').value = readerZone();
  $('#preview-start').value = localInputValue(new Date());

  for (const form of [$('#sla-calendar-form'), $('#sla-policy-form'), $('#sla-preview-form')]) {
    form.addEventListener('input', (event) => clearError(event.target));
  }
  $('#sla-calendar-form').addEventListener('submit', createCalendar);
  $('#sla-policy-form').addEventListener('submit', createPolicy);
  $('#sla-preview-form').addEventListener('submit', preview);
  $('#sla-calendar-list').addEventListener('click', (event) => {
    const button = event.target.closest('button.do-delete');
    if (button) remove(button, 'calendar', button.dataset.id, button.dataset.name);
  });
  $('#sla-policies').addEventListener('click', (event) => {
    const button = event.target.closest('button.do-delete');
    if (button) remove(button, 'policy', button.dataset.id, button.dataset.name);
  });
}

const readerZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;

/** A `datetime-local` value (the reader's zone), to the minute. */
const localInputValue = (date) => {
  const day = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
  return `${day}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
};

async function loadSettings() {
  try {
    const [cals, policies] = await Promise.all([
      api('GET', '/api/v1/sla/calendars'),
      api('GET', '/api/v1/sla/policies'),
    ]);
    calendars = cals;
    $('#sla-calendar-list').replaceChildren(...cals.map(calendarCard));
    renderPolicies(policies);
    for (const select of [$('#preview-calendar'), $('#pol-calendar')]) {
      const chosen = select.value;
      select.replaceChildren(...cals.map((c) => h('option', { value: String(c.id) }, c.name)));
      if (cals.some((c) => String(c.id) === chosen)) select.value = chosen;
      else if (cals.length > 1) select.value = String(cals[cals.length - 1].id);
    }
  } catch (err) {
    settingsStatus(err.message, true);
  }
}

function calendarCard(calendar) {
  const heading = h('h4', { id: `calendar-${calendar.id}-name` }, calendar.name);
  // Days in a row with the same hours share a line: "Monday–Friday 09:00–12:00, 13:00–17:00".
  const lines = [];
  for (const [key, label] of DAYS) {
    const periods = calendar.weekly_hours[key] ?? [];
    const text = periods.length ? periods.map(([from, to]) => `${from}–${to}`).join(', ') : 'Closed';
    const last = lines.at(-1);
    if (last?.text === text) last.to = label;
    else lines.push({ from: label, to: null, text });
  }
  const hours = lines.flatMap(({ from, to, text }) => [h('dt', {}, to ? `${from}–${to}` : from), h('dd', {}, text)]);
  const holidays = calendar.holidays.map((day) => {
    const dates = day.end_date ? `${day.date} to ${day.end_date}` : day.date;
    return h('li', {}, `${dates} ${day.name}${day.yearly ? ' (every year)' : ''}`);
  });
  const builtIn = calendar.id === ALWAYS_OPEN;
  const card = h(
    'article',
    { className: 'card calendar', id: `calendar-${calendar.id}` },
    h('div', { className: 'rule-head' }, heading, h('span', { className: 'tag zone' }, calendar.time_zone)),
    builtIn
      ? h('p', { className: 'hint' }, 'Always open. Built in: it cannot be changed or deleted.')
      : h('dl', { className: 'hours' }, ...hours),
    holidays.length ? h('p', { className: 'sub-head' }, 'Holidays') : null,
    holidays.length ? h('ul', { className: 'holidays' }, ...holidays) : null,
    builtIn ? null : h('div', { className: 'actions' }, deleteButton('calendar', calendar)),
  );
  card.setAttribute('aria-labelledby', heading.id);
  card.dataset.name = calendar.name;
  return card;
}

function deleteButton(kind, item) {
  const button = h('button', { type: 'button', className: 'secondary danger do-delete' }, 'Delete');
  button.dataset.id = item.id;
  button.dataset.name = item.name;
  button.setAttribute('aria-label', `Delete the ${kind} ${item.name}`);
  return button;
}

function renderPolicies(policies) {
  const calendarName = (id) => calendars.find((c) => c.id === id)?.name ?? `Calendar #${id}`;
  const statuses = (list) => list.map((s) => STATUSES[s] ?? s).join(', ');
  const rows = policies.map((policy) => {
    const { first_response_minutes: first, resolution_minutes: resolution } = policy.targets;
    let matches = policy.match.priorities.map(capitalize).join(', ');
    if (policy.match.statuses) matches += `; only while ${statuses(policy.match.statuses).toLowerCase()}`;
    const row = h(
      'tr',
      { id: `policy-${policy.id}` },
      h('td', { className: 'num' }, policy.position),
      h('th', { scope: 'row' }, policy.name),
      h('td', {}, matches),
      h('td', {}, calendarName(policy.calendar_id)),
      h('td', {}, first ? `${first} working min` : 'None'),
      h('td', {}, resolution ? `${resolution} working min` : 'Per priority (ALERTS_SLA_HOURS)'),
      h('td', {}, policy.pause_statuses.length ? statuses(policy.pause_statuses) : 'Never'),
      h('td', {}, policy.id === DEFAULT_POLICY ? null : deleteButton('policy', policy)),
    );
    row.dataset.name = policy.name;
    return row;
  });
  $('#sla-policies tbody').replaceChildren(...rows);
}

async function remove(button, kind, id, name) {
  if (!window.confirm(`Delete the ${kind} “${name}”? Open complaints it covers are counted again.`)) return;
  button.disabled = true;
  try {
    await api('DELETE', `/api/v1/sla/${kind === 'calendar' ? 'calendars' : 'policies'}/${id}`);
  } catch (err) {
    button.disabled = false;
    settingsStatus(sentence(err.message), true);
    button.focus();
    return;
  }
  settingsStatus(`Deleted the ${kind} “${name}”.`);
  $('#sla-settings-title').focus();
  await loadSettings();
  loadBoard();
}

// ---- field errors: the API's "field: message", next to the field, in words

/** `"weekly_hours.mon[0]: end 09:00 …"` → `{field: "weekly_hours.mon[0]", message: "end 09:00 …"}`. */
function splitDetail(detail) {
  const match = /^([a-z_]+(?:\.[a-z_]+|\[\d+\])*): (.+)$/s.exec(detail);
  return match ? { field: match[1], message: match[2] } : { field: '', message: detail };
}

const sentence = (text) => capitalize(text.trim()) + (/[.!?]$/.test(text.trim()) ? '' : '.');

/** `("Monday, period 1", "end 09:00 must be …")` → `"Monday, period 1: end 09:00 must be ….` */
const words = (where, message) => `${where}: ${message.trim()}${/[.!?]$/.test(message.trim()) ? '' : '.'}`;

/** The error element a control (or group of checkboxes) names in its `aria-describedby`. */
function errorOf(control) {
  const ids = (control.getAttribute('aria-describedby') ?? '').split(' ').filter(Boolean);
  return ids.map((id) => document.getElementById(id)).find((el) => el?.classList.contains('field-error'));
}

/** Shows `text` as the error of the control `#id`, marks it invalid and focuses it. */
function fieldError(id, text) {
  const control = $(`#${id}`);
  setStatus(errorOf(control), text, true);
  control.setAttribute('aria-invalid', 'true');
  (control.matches('fieldset') ? control.querySelector('input') : control).focus();
}

/** Clears the error of the field (or group of checkboxes) the user just changed. */
function clearError(control) {
  const owner = control.closest('fieldset.choices') ?? control;
  const error = errorOf(owner);
  if (error) error.textContent = '';
  owner.removeAttribute('aria-invalid');
}

function clearErrors(form) {
  for (const el of $$('.field-error', form)) el.textContent = '';
  for (const el of $$('[aria-invalid]', form)) el.removeAttribute('aria-invalid');
}

// ---- a new calendar

/** One holiday per line: `YYYY-MM-DD[..YYYY-MM-DD] Name [yearly]`; returns them and their line numbers. */
function parseHolidays(text) {
  const holidays = [];
  const lines = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (!line) return;
    const [, date, endDate, rest = ''] = /^(\S+?)(?:\.\.(\S+))?(?:\s+(.*))?$/.exec(line);
    const yearly = /(^|\s)yearly$/i.test(rest);
    const holiday = { date, name: rest.replace(/(^|\s)yearly$/i, '').trim(), yearly };
    if (endDate) holiday.end_date = endDate;
    holidays.push(holiday);
    lines.push(index + 1);
  });
  return { holidays, lines };
}

async function createCalendar(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const formStatus = $('#cal-form-status');
  clearErrors(form);
  setStatus(formStatus, '');
  const weekly_hours = {};
  for (const [key, label] of DAYS) {
    try {
      const periods = parsePeriods(form.elements[`day-${key}`].value, label, '09:00-12:00');
      if (periods.length) weekly_hours[key] = periods;
    } catch (err) {
      return fieldError(`cal-day-${key}`, err.message);
    }
  }
  const { holidays, lines } = parseHolidays(form.elements.holidays.value);
  const body = {
    name: form.elements.name.value.trim(),
    time_zone: form.elements.time_zone.value.trim(),
    weekly_hours,
    holidays,
  };
  const button = form.querySelector('button[type=submit]');
  button.disabled = true;
  try {
    const created = await api('POST', '/api/v1/sla/calendars', body);
    form.elements.name.value = '';
    form.elements.holidays.value = '';
    setStatus(formStatus, `Created the calendar “${created.name}”.`);
    await loadSettings();
    $('#preview-calendar').value = String(created.id);
    $('#pol-calendar').value = String(created.id);
  } catch (err) {
    if (err.status === 409) return fieldError('cal-name', sentence(err.message));
    calendarError(err, lines, formStatus);
  } finally {
    button.disabled = false;
  }
}

function calendarError(err, lines, formStatus) {
  const { field, message } = splitDetail(err.message);
  const day = /^weekly_hours\.([a-z]+)(?:\[(\d+)\])?/.exec(field);
  const holiday = /^holidays\[(\d+)\](?:\.(\w+))?/.exec(field);
  if (field === 'name') return fieldError('cal-name', sentence(message));
  if (field === 'time_zone') return fieldError('cal-zone', sentence(message));
  if (day && DAYS.some(([key]) => key === day[1])) {
    const label = DAYS.find(([key]) => key === day[1])[1];
    const where = day[2] === undefined ? label : `${label}, period ${Number(day[2]) + 1}`;
    return fieldError(`cal-day-${day[1]}`, words(where, message));
  }
  if (field.startsWith('weekly_hours')) {
    setStatus($('#cal-hours-error'), sentence(message), true);
    return $('#cal-day-mon').focus();
  }
  if (holiday) {
    const part = { date: 'date', end_date: 'end date', name: 'name' }[holiday[2]];
    const where = `Holidays, line ${lines[Number(holiday[1])] ?? Number(holiday[1]) + 1}${part ? ` (${part})` : ''}`;
    return fieldError('cal-holidays', words(where, message));
  }
  if (field === 'holidays') return fieldError('cal-holidays', sentence(message));
  setStatus(formStatus, sentence(err.message), true);
}

// ---- the preview

/** "Mon, Jan 11, 2027, 9:50 AM" in `timeZone` (with the zone's short name when `named`). */
function formatIn(iso, timeZone, named = false) {
  const options = { weekday: 'short', year: 'numeric', month: 'short', day: 'numeric' };
  Object.assign(options, { hour: 'numeric', minute: '2-digit' });
  if (named) options.timeZoneName = 'short';
  try {
    return new Intl.DateTimeFormat(undefined, { ...options, timeZone }).format(new Date(iso));
  } catch {
    return new Intl.DateTimeFormat(undefined, { ...options, timeZone: 'UTC' }).format(new Date(iso));
  }
}

async function preview(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const result = $('#preview-result');
  clearErrors(form);
  result.replaceChildren();
  const calendar = calendars.find((c) => String(c.id) === form.elements.calendar.value);
  const start = new Date(form.elements.start.value);
  const minutes = form.elements.minutes.value.trim();
  if (!calendar) return fieldError('preview-calendar', 'Choose a calendar.');
  if (!form.elements.start.value || Number.isNaN(start.getTime())) {
    return fieldError('preview-start', 'Choose a start date and time.');
  }
  if (!/^\d+$/.test(minutes)) return fieldError('preview-minutes', 'Working minutes: write a whole number, like 60.');
  try {
    const { due_at } = await api('POST', `/api/v1/sla/calendars/${calendar.id}/preview`, {
      start: start.toISOString(),
      minutes: Number(minutes),
    });
    const yours = h('time', { dateTime: due_at }, h('strong', {}, formatIn(due_at, readerZone(), true)));
    const theirs = `${formatIn(due_at, calendar.time_zone)} in ${calendar.name} (${calendar.time_zone})`;
    result.replaceChildren(h('span', {}, 'Due ', yours, ' your time'), h('span', { className: 'sub' }, theirs));
  } catch (err) {
    const { field, message } = splitDetail(err.message);
    const target = { minutes: ['preview-minutes', 'Working minutes'], start: ['preview-start', 'Start'] }[field];
    if (target) fieldError(target[0], words(target[1], message));
    else fieldError('preview-calendar', sentence(err.message));
  }
}

// ---- a new policy

const POLICY_FIELDS = {
  name: 'pol-name',
  position: 'pol-position',
  calendar_id: 'pol-calendar',
  'targets.first_response_minutes': 'pol-first',
  'targets.resolution_minutes': 'pol-resolution',
  'match.priorities': 'pol-priorities',
  pause_statuses: 'pol-pause',
};

async function createPolicy(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const formStatus = $('#pol-form-status');
  clearErrors(form);
  setStatus(formStatus, '');
  const number = (name) => {
    const value = form.elements[name].value.trim();
    return value === '' ? null : Number(value);
  };
  const checked = (name) => $$(`input[name=${name}]:checked`, form).map((input) => input.value);
  const body = {
    name: form.elements.name.value.trim(),
    match: { priorities: PRIORITIES.filter((p) => checked('priorities').includes(p)) },
    calendar_id: Number(form.elements.calendar_id.value),
    targets: {
      first_response_minutes: number('first_response_minutes'),
      resolution_minutes: number('resolution_minutes'),
    },
    pause_statuses: checked('pause_statuses'),
  };
  if (number('position') !== null) body.position = number('position');
  const button = form.querySelector('button[type=submit]');
  button.disabled = true;
  try {
    const created = await api('POST', '/api/v1/sla/policies', body);
    form.elements.name.value = '';
    setStatus(formStatus, `Created the policy “${created.name}”. Open complaints it matches are counted again.`);
    await loadSettings();
    loadBoard();
  } catch (err) {
    const { field, message } = splitDetail(err.message);
    if (err.status === 409) fieldError('pol-name', sentence(err.message));
    else if (POLICY_FIELDS[field]) fieldError(POLICY_FIELDS[field], sentence(message));
    else setStatus(formStatus, sentence(err.message), true);
  } finally {
    button.disabled = false;
  }
}
