// Small DOM and formatting helpers shared by the views. Text always goes in
// through textContent, never as HTML.

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

/** A fresh copy of the first element of `<template id=…>`. */
export function fromTemplate(id) {
  return document.getElementById(id).content.firstElementChild.cloneNode(true);
}

/** `h('td', {className: 'num'}, 'text', childNode)`: an element with properties and children. */
export function h(tag, props = {}, ...children) {
  const el = Object.assign(document.createElement(tag), props);
  el.append(...children.filter((c) => c !== null && c !== undefined).map((c) => (c instanceof Node ? c : String(c))));
  return el;
}

/** A table with a header row; `rows` are arrays of cells (numbers are right-aligned). */
export function table(caption, headers, rows) {
  const cell = (tag, value) => h(tag, typeof value === 'number' ? { className: 'num' } : {}, value);
  return h(
    'table',
    { className: 'data' },
    h('caption', { className: 'visually-hidden' }, caption),
    h('thead', {}, h('tr', {}, ...headers.map((text) => Object.assign(cell('th', text), { scope: 'col' })))),
    h('tbody', {}, ...rows.map((row) => h('tr', {}, ...row.map((value) => cell('td', value))))),
  );
}

/** Shows `text` in a status element; `isError` styles it as an error. */
export function setStatus(el, text, isError = false) {
  el.textContent = text;
  el.classList.toggle('is-error', isError);
}

/** Reads `text` to screen-reader users without moving focus. */
export function announce(text) {
  const el = document.getElementById('announcer');
  el.textContent = '';
  // A separate task, so an identical message is announced again.
  setTimeout(() => {
    el.textContent = text;
  }, 50);
}

export const ALERT_TYPES = ['sla_breach', 'sla_at_risk', 'critical_complaint', 'high_workload'];
export const SEVERITIES = ['critical', 'warning', 'info'];

export const typeLabel = (type) =>
  ({
    sla_breach: 'SLA breached',
    sla_at_risk: 'SLA at risk',
    critical_complaint: 'Critical complaint',
    high_workload: 'High workload',
  })[type] ?? type;

export const capitalize = (text) => text.charAt(0).toUpperCase() + text.slice(1);

const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

export const formatDateTime = (iso) => absolute.format(new Date(iso));

/** "3 minutes ago", "yesterday", … */
export function formatAgo(iso) {
  const seconds = (Date.parse(iso) - Date.now()) / 1000;
  const units = [
    ['day', 86400],
    ['hour', 3600],
    ['minute', 60],
  ];
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
  }
  return 'just now';
}

/** A duration in seconds as "45 s", "12 min", "3.5 h", "2.1 d"; "—" when unknown. */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86400) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

export const formatPercent = (share) => `${Math.round(share * 1000) / 10} %`;

/** 0 → "at once", 30 → "30 min", 90 → "1 h 30 min", 2880 → "2 d". */
export function minutesText(minutes) {
  if (minutes === 0) return 'at once';
  const d = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const m = minutes % 60;
  return [d && `${d} d`, hours && `${hours} h`, m && `${m} min`].filter(Boolean).join(' ');
}

const ROLE_TARGETS = { admin: 'every admin', supervisor: 'every supervisor', agent: 'every agent' };

/** A step target in words: "the assignee’s supervisor", "every admin", "ada@example.com". */
export function targetText(target) {
  if (target === 'assignee') return 'the assignee';
  if (target === 'assignee_supervisor') return 'the assignee’s supervisor';
  if (target.startsWith('role:')) return ROLE_TARGETS[target.slice(5)] ?? `every ${target.slice(5)}`;
  if (target.startsWith('staff:')) return target.slice(6);
  return target;
}

/** "a, b and c". */
export function listText(items) {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

// ---- form errors in words, next to the field they are about
//
// The API answers a 4xx with `{"detail": "field: message"}`; a field's error
// element is the `.field-error` its control names in `aria-describedby`.

/** "must be …" → "Must be …." */
export const sentence = (text) => capitalize(text.trim()) + (/[.!?]$/.test(text.trim()) ? '' : '.');

/** ("Phone", "must be …") → "Phone: must be …." */
export const words = (where, message) => `${where}: ${message.trim()}${/[.!?]$/.test(message.trim()) ? '' : '.'}`;

/** `"phone: must be …"` → `{field: "phone", message: "must be …"}`; no field: `field` is `''`. */
export function splitDetail(detail) {
  const match = /^([a-z_]+(?:\.[a-z_]+|\[\d+\])*): (.+)$/s.exec(detail);
  return match ? { field: match[1], message: match[2] } : { field: '', message: detail };
}

/** The error element a control names in its `aria-describedby`. */
export function fieldErrorOf(control) {
  const ids = (control.getAttribute('aria-describedby') ?? '').split(' ').filter(Boolean);
  return ids.map((id) => document.getElementById(id)).find((el) => el?.classList.contains('field-error'));
}

/** Shows `text` as the error of `control`, marks it invalid and focuses it. */
export function showFieldError(control, text) {
  const error = fieldErrorOf(control);
  if (error) setStatus(error, text, true);
  control.setAttribute('aria-invalid', 'true');
  control.focus();
}

/** Clears every field error of `form`. */
export function clearFieldErrors(form) {
  for (const el of $$('.field-error', form)) el.textContent = '';
  for (const el of $$('[aria-invalid]', form)) el.removeAttribute('aria-invalid');
}

/** Clears a field's error as soon as the user edits it. */
export function clearErrorsOnInput(form) {
  const clear = (event) => {
    const error = fieldErrorOf(event.target);
    if (error) error.textContent = '';
    event.target.removeAttribute('aria-invalid');
  };
  form.addEventListener('input', clear);
  form.addEventListener('change', clear);
}

/** Delivery channels and a delivery's states, as the alert timelines say them. */
export const CHANNEL_NAMES = {
  in_app: 'In the app',
  email: 'Email',
  sms: 'SMS',
  webhook: 'Webhook',
  slack: 'Slack (team channel)',
  teams: 'Teams (team channel)',
};
export const DELIVERY_STATES = {
  pending: 'queued',
  sending: 'sending',
  sent: 'sent',
  failed: 'failed, will retry',
  dead: 'failed, gave up',
  skipped: 'skipped',
  deferred: 'waiting for quiet hours to end',
};

/**
 * Weekly periods as typed, `"09:00-12:00, 13:00-17:30"` →
 * `[["09:00","12:00"],["13:00","17:30"]]` (SLA calendars, quiet hours); the
 * server checks the times. `example` is the period the error message shows.
 */
export function parsePeriods(text, label, example) {
  const periods = [];
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const match = /^([^\s–-]+)\s*[-–]\s*([^\s–-]+)$/.exec(part);
    if (!match) throw new Error(`${label}: write each period as start-end, like ${example} (not “${part}”).`);
    periods.push([match[1], match[2]]);
  }
  return periods;
}
