// The inbox: the caller's alerts with filters and paging; acknowledge, read,
// dismiss, read-all; live updates from the feed while it is on screen.
//
// An alert is one recipient's copy of an alert event: acknowledging any copy
// acknowledges the event for all its recipients, whose open inboxes follow
// from the feed's alert.updated messages.

import { api } from './api.js';
import { $, announce, formatAgo, formatDateTime, fromTemplate, setStatus, typeLabel, capitalize } from './dom.js';

export const needs = 'alerts.read';
export const title = 'inbox';

const state = { page: 1, page_size: 20, is_read: '', severity: '', alert_type: '', total: 0, total_pages: 1 };
let context = null;
/** The alert each item on screen shows, so a partial change can be merged in. */
const shown = new WeakMap();

const list = () => $('#alert-list');
const visible = () => !$('#view-inbox').hidden;
const status = (text, isError) => setStatus($('#inbox-status'), text, isError);

export function show(ctx) {
  if (!context) bind(ctx);
  load();
}

function bind(ctx) {
  context = ctx;
  const filters = $('#inbox-filters');
  filters.addEventListener('change', () => {
    for (const name of ['is_read', 'severity', 'alert_type']) state[name] = filters.elements[name].value;
    state.page_size = Number(filters.elements.page_size.value);
    state.page = 1;
    load();
  });
  filters.addEventListener('submit', (event) => event.preventDefault());
  $('#page-prev').addEventListener('click', () => goTo(state.page - 1));
  $('#page-next').addEventListener('click', () => goTo(state.page + 1));
  $('#read-all').addEventListener('click', readAll);
  list().addEventListener('click', onAction);

  ctx.live.addEventListener('alert.created', (event) => visible() && onCreated(event.detail.alert));
  ctx.live.addEventListener('alert.updated', (event) => {
    if (!visible()) return;
    if (event.detail.read_all) load();
    else onUpdated(event.detail.alert);
  });
  ctx.live.addEventListener('resync', () => visible() && load());
}

function goTo(page) {
  state.page = Math.min(Math.max(1, page), state.total_pages);
  return load();
}

async function load() {
  const query = new URLSearchParams({ page: state.page, page_size: state.page_size });
  for (const name of ['is_read', 'severity', 'alert_type']) if (state[name]) query.set(name, state[name]);
  list().setAttribute('aria-busy', 'true');
  try {
    const data = await api('GET', `/api/v1/alerts?${query}`);
    state.total = data.total;
    state.total_pages = Math.max(1, data.total_pages);
    if (state.page > state.total_pages) return goTo(state.total_pages);
    list().replaceChildren(...data.alerts.map(render));
    context.setBadge(data.unread_count);
    status('');
  } catch (err) {
    status(err.message, true);
  } finally {
    list().removeAttribute('aria-busy');
    renderPager();
  }
}

function renderPager() {
  const count = list().children.length;
  $('#inbox-empty').hidden = count > 0;
  $('#page-info').textContent = `Page ${state.page} of ${state.total_pages} · ${state.total} alert${state.total === 1 ? '' : 's'}`;
  $('#page-prev').disabled = state.page <= 1;
  $('#page-next').disabled = state.page >= state.total_pages;
}

/** Whether `alert` belongs on screen under the current filters. */
function matches(alert) {
  return (
    !alert.is_dismissed &&
    (state.is_read === '' || String(alert.is_read) === state.is_read) &&
    (state.severity === '' || alert.severity === state.severity) &&
    (state.alert_type === '' || alert.alert_type === state.alert_type)
  );
}

function render(alert) {
  const item = fromTemplate('tpl-alert');
  item.id = `alert-${alert.id}`;
  item.dataset.id = alert.id;
  item.classList.add(`sev-${alert.severity}`);
  const heading = item.querySelector('.alert-title');
  heading.id = `alert-${alert.id}-title`;
  heading.textContent = alert.title;
  item.querySelector('article').setAttribute('aria-labelledby', heading.id);
  item.querySelector('.sev').textContent = capitalize(alert.severity);
  item.querySelector('.alert-type').textContent = typeLabel(alert.alert_type);
  item.querySelector('.alert-message').textContent = alert.message;
  const time = item.querySelector('time.created');
  time.dateTime = alert.created_at;
  time.title = formatDateTime(alert.created_at);
  time.textContent = formatAgo(alert.created_at);
  for (const button of item.querySelectorAll('button')) button.setAttribute('aria-describedby', heading.id);
  // Its name says which alert (so no description); acknowledging is for everyone the alert went to.
  const ack = item.querySelector('.do-ack');
  ack.removeAttribute('aria-describedby');
  ack.setAttribute('aria-label', `Acknowledge “${alert.title}”`);
  ack.title = 'Acknowledge for everyone this alert was sent to';
  fill(item, alert);
  return item;
}

/**
 * The parts of an item that change after it is shown: read, acknowledged,
 * resolved, escalation step. `changes` may be partial: it is merged into
 * what the item shows.
 */
function fill(item, changes) {
  const alert = { ...shown.get(item), ...changes };
  shown.set(item, alert);
  item.classList.toggle('unread', !alert.is_read);
  item.querySelector('.read-state').textContent = alert.is_read ? 'Read' : 'Unread';
  item.querySelector('.do-read').hidden = alert.is_read;

  const resolved = Boolean(alert.resolved_at);
  item.classList.toggle('is-resolved', resolved);
  const badge = item.querySelector('.resolved');
  badge.hidden = !resolved;
  badge.title = resolved ? `Resolved ${formatDateTime(alert.resolved_at)}` : '';

  const step = alert.escalation_step ?? 0;
  const escalated = item.querySelector('.escalated');
  escalated.hidden = step <= 0;
  escalated.textContent = `Escalation step ${step}`;

  const acknowledged = Boolean(alert.acknowledged_at);
  item.classList.toggle('is-acknowledged', acknowledged);
  item.querySelector('.ack-state').hidden = !acknowledged;
  if (acknowledged) {
    item.querySelector('.ack-by').textContent = alert.acknowledged_by?.full_name || 'someone';
    const time = item.querySelector('time.ack-time');
    time.dateTime = alert.acknowledged_at;
    time.textContent = formatDateTime(alert.acknowledged_at);
  }
  item.querySelector('.do-ack').hidden = acknowledged || resolved;
}

/**
 * Moves focus from a button about to hide to the item's next visible button,
 * else its title; only when it had focus and nothing else took it since.
 */
function keepFocus(item, button, hadFocus = document.activeElement === button) {
  const now = document.activeElement;
  if (!hadFocus || (now !== button && now !== document.body && now !== null)) return;
  const next = [...item.querySelectorAll('button')].find((b) => b !== button && !b.hidden);
  if (next) next.focus();
  else {
    const heading = item.querySelector('.alert-title');
    heading.tabIndex = -1;
    heading.focus();
  }
}

async function onAction(event) {
  const button = event.target.closest('button');
  const item = button?.closest('li.alert');
  if (!item) return;
  if (button.classList.contains('do-ack')) return acknowledge(item, button);
  const id = item.dataset.id;
  const dismissing = button.classList.contains('do-dismiss');
  button.disabled = true;
  try {
    await api('PUT', `/api/v1/alerts/${id}/${dismissing ? 'dismiss' : 'read'}`);
  } catch (err) {
    status(err.message, true);
    button.disabled = false;
    return;
  }
  button.disabled = false;
  if (dismissing) {
    removeItem(item);
    announce('Alert dismissed.');
  } else if (state.is_read === 'false') {
    removeItem(item);
  } else {
    fill(item, { is_read: true });
    item.querySelector('.do-dismiss').focus();
  }
  // The badge follows from the feed's unread_count message.
}

/**
 * Acknowledges the item's alert event for all its recipients, then shows who
 * acknowledged it and when (the first acknowledgement stays, so this may be a
 * colleague who was quicker). The other recipients' inboxes follow live.
 */
async function acknowledge(item, button) {
  const id = item.dataset.id;
  const title = item.querySelector('.alert-title').textContent;
  const hadFocus = document.activeElement === button;
  button.disabled = true;
  try {
    await api('PUT', `/api/v1/alerts/${id}/acknowledge`);
  } catch (err) {
    status(`Could not acknowledge “${title}”: ${err.message}`, true);
    button.disabled = false;
    return;
  }
  let alert;
  try {
    alert = await api('GET', `/api/v1/alerts/${id}`);
  } catch {
    // Acknowledged all the same; the feed's alert.updated brings the details.
    alert = { acknowledged_at: new Date().toISOString(), acknowledged_by: { full_name: 'you' } };
  }
  button.disabled = false;
  status('');
  if (!item.isConnected) return;
  keepFocus(item, button, hadFocus);
  const merged = { ...shown.get(item), ...alert };
  if (matches(merged)) fill(item, merged);
  else removeItem(item);
  announce(`Acknowledged “${title}”.`);
}

/** Removes an item, keeping keyboard focus in the list (next item, else the heading). */
function removeItem(item) {
  if (!item.isConnected) return;
  const hadFocus = item.contains(document.activeElement);
  const neighbour = item.nextElementSibling ?? item.previousElementSibling;
  item.remove();
  state.total = Math.max(0, state.total - 1);
  renderPager();
  if (hadFocus) (neighbour?.querySelector('button:not([hidden])') ?? $('#inbox-title')).focus();
}

function onCreated(alert) {
  if (!matches(alert) || $(`#alert-${alert.id}`)) return;
  state.total += 1;
  state.total_pages = Math.max(1, Math.ceil(state.total / state.page_size));
  if (state.page === 1) {
    const item = render(alert);
    item.classList.add('is-new');
    list().prepend(item);
    while (list().children.length > state.page_size) list().lastElementChild.remove();
  }
  renderPager();
}

function onUpdated(alert) {
  const item = $(`#alert-${alert.id}`);
  if (!item) return;
  if (!matches(alert)) {
    removeItem(item);
    return;
  }
  const before = shown.get(item) ?? {};
  const ack = item.querySelector('.do-ack');
  if ((alert.acknowledged_at || alert.resolved_at) && !ack.hidden) keepFocus(item, ack);
  fill(item, alert);
  // Tell screen-reader users what a colleague (or the complaint's progress) changed.
  if (alert.acknowledged_at && !before.acknowledged_at && alert.acknowledged_by?.id !== context.me?.id) {
    announce(`${alert.acknowledged_by?.full_name || 'Someone'} acknowledged “${alert.title}”.`);
  } else if (alert.resolved_at && !before.resolved_at) {
    announce(`Resolved: “${alert.title}”.`);
  }
}

async function readAll() {
  try {
    const { updated } = await api('PUT', '/api/v1/alerts/read-all');
    await load();
    status(`Marked ${updated} alert${updated === 1 ? '' : 's'} read.`);
  } catch (err) {
    status(err.message, true);
  }
}
