// The inbox: the caller's alerts with filters and paging; acknowledge, read,
// dismiss, read-all; snooze (a preset per card: PUT /alerts/{id}/snooze),
// the snoozed ones under "Show: Snoozed" with their wake time in the reader's
// zone and "Wake now" (DELETE /alerts/{id}/snooze); a woken alert comes back
// live as the feed's alert.created with "woken": true; live updates from the feed while it is on screen; each
// card's escalation timeline (GET /alerts/{id}/escalation), in a disclosure
// read when it opens and again when the alert changes while it is open.
//
// An alert is one recipient's copy of an alert event: acknowledging any copy
// acknowledges the event for all its recipients, whose open inboxes follow
// from the feed's alert.updated messages.
//
// A card about a complaint links to the complaint's page; for
// complaints.write it also offers "Reassign": the assignee select of the
// complaint page, inline in the card.

import { api } from './api.js';
import {
  $,
  announce,
  capitalize,
  formatAgo,
  formatDateTime,
  fromTemplate,
  h,
  listText,
  minutesText,
  setStatus,
  targetText,
  CHANNEL_NAMES as CHANNELS,
  DELIVERY_STATES,
} from './dom.js';
import {
  assignedText,
  assigneeSelect,
  chosenAssignee,
  loadAssignees,
  typeBadge,
  updateComplaint,
} from './complaints.js';

export const needs = 'alerts.read';
export const title = 'inbox';

const state = { page: 1, page_size: 20, status: '', is_read: '', severity: '', alert_type: '', total: 0, total_pages: 1 };
const FILTERS = ['status', 'is_read', 'severity', 'alert_type'];
const SNOOZE_NAMES = { '1h': '1 hour', '3h': '3 hours', tomorrow: 'tomorrow 09:00', next_working_day: 'the next working day' };
const SNOOZE_SPANS = {
  '1h': 'for 1 hour',
  '3h': 'for 3 hours',
  tomorrow: 'until tomorrow 09:00',
  next_working_day: 'until the next working day',
};
const EMPTY_INBOX = 'No alerts here. New ones appear as they arrive.';
const EMPTY_SNOOZED = 'No snoozed alerts. Snooze one from its card in the inbox.';
let context = null;
/** The alert each item on screen shows, so a partial change can be merged in. */
const shown = new WeakMap();
/**
 * Items that had focus when one of their controls was disabled for a request
 * (which takes focus away): should the feed remove one first, focus still
 * moves to its neighbour.
 */
const hadFocusBefore = new WeakSet();

const list = () => $('#alert-list');
const visible = () => !$('#view-inbox').hidden;
function status(text, isError) {
  const el = $('#inbox-status');
  delete el.dataset.hint;
  setStatus(el, text, isError);
}
/** A hint about a snooze menu's pending choice, gone with the choice. */
function snoozeHint(text) {
  status(text);
  $('#inbox-status').dataset.hint = 'snooze';
}
const clearSnoozeHint = () => $('#inbox-status').dataset.hint === 'snooze' && status('');

export function show(ctx) {
  if (!context) bind(ctx);
  load();
}

function bind(ctx) {
  context = ctx;
  const filters = $('#inbox-filters');
  filters.addEventListener('change', () => {
    for (const name of FILTERS) state[name] = filters.elements[name].value;
    state.page_size = Number(filters.elements.page_size.value);
    state.page = 1;
    load();
  });
  filters.addEventListener('submit', (event) => event.preventDefault());
  $('#page-prev').addEventListener('click', () => goTo(state.page - 1));
  $('#page-next').addEventListener('click', () => goTo(state.page + 1));
  $('#read-all').addEventListener('click', readAll);
  list().addEventListener('click', onAction);
  list().addEventListener('submit', onReassign);
  list().addEventListener('change', onSnooze);
  list().addEventListener('keydown', onSnoozeKey);
  list().addEventListener('pointerdown', onSnoozePointer);
  list().addEventListener('focusout', onSnoozeLeave);

  ctx.live.addEventListener('alert.created', (event) => {
    if (!visible()) return;
    if (event.detail.woken && $(`#alert-${event.detail.alert.id}`)) onUpdated(event.detail.alert);
    else onCreated(event.detail.alert);
  });
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
  for (const name of FILTERS) if (state[name]) query.set(name, state[name]);
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
  const empty = $('#inbox-empty');
  empty.hidden = count > 0;
  empty.textContent = state.status === 'snoozed' ? EMPTY_SNOOZED : EMPTY_INBOX;
  $('#page-info').textContent = `Page ${state.page} of ${state.total_pages} · ${state.total} alert${state.total === 1 ? '' : 's'}`;
  $('#page-prev').disabled = state.page <= 1;
  $('#page-next').disabled = state.page >= state.total_pages;
}

/** Whether `alert` is snoozed now. */
const snoozed = (alert) => Boolean(alert.snoozed_until) && Date.parse(alert.snoozed_until) > Date.now();

/** Whether `alert` belongs on screen under the current filters. */
function matches(alert) {
  return (
    !alert.is_dismissed &&
    snoozed(alert) === (state.status === 'snoozed') &&
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
  const complaintId = alert.resource_type === 'complaint' ? alert.resource_id : null;
  if (complaintId !== null) {
    heading.replaceChildren(h('a', { href: `#/complaints/${complaintId}`, className: 'complaint-link' }, alert.title));
    item.dataset.complaint = complaintId;
  } else heading.textContent = alert.title;
  item.querySelector('article').setAttribute('aria-labelledby', heading.id);
  item.querySelector('.sev').textContent = capitalize(alert.severity);
  item.querySelector('.alert-type').replaceChildren(...typeBadge(alert.alert_type));
  item.querySelector('.alert-message').textContent = alert.message;
  const time = item.querySelector('time.created');
  time.dateTime = alert.created_at;
  time.title = formatDateTime(alert.created_at);
  time.textContent = formatAgo(alert.created_at);
  for (const button of item.querySelectorAll('button')) button.setAttribute('aria-describedby', heading.id);
  item.querySelector('.do-snooze').setAttribute('aria-label', `Snooze “${alert.title}”`);
  // Its name says which alert, as the Snooze menu's does.
  const wakeButton = item.querySelector('.do-wake');
  wakeButton.removeAttribute('aria-describedby');
  wakeButton.setAttribute('aria-label', `Wake “${alert.title}” now`);
  // Its name says which alert (so no description); acknowledging is for everyone the alert went to.
  const ack = item.querySelector('.do-ack');
  ack.removeAttribute('aria-describedby');
  ack.setAttribute('aria-label', `Acknowledge “${alert.title}”`);
  ack.title = 'Acknowledge for everyone this alert was sent to';
  const timeline = item.querySelector('details.timeline');
  timeline.querySelector('summary').setAttribute('aria-describedby', heading.id);
  timeline.addEventListener('toggle', () => timeline.open && loadTimeline(item));
  if (complaintId !== null && context.can('complaints.write')) addReassign(item, alert, heading.id);
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

  const isSnoozed = snoozed(alert);
  item.classList.toggle('is-snoozed', isSnoozed);
  item.querySelector('.snooze-state').hidden = !isSnoozed;
  item.querySelector('.do-wake').hidden = !isSnoozed;
  if (isSnoozed) {
    const time = item.querySelector('time.snooze-time');
    time.dateTime = alert.snoozed_until;
    time.textContent = formatDateTime(alert.snoozed_until);
  }
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
  if (button.classList.contains('do-retry')) return retryTimeline(item, button);
  if (button.classList.contains('do-reassign')) return openReassign(item);
  if (button.classList.contains('do-reassign-cancel')) return closeReassign(item, true);
  if (button.classList.contains('do-wake')) return wake(item, button);
  if (!button.matches('.do-read, .do-dismiss, .do-ack')) return;
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
  if (matches(merged)) {
    fill(item, merged);
    if (item.querySelector('details.timeline').open) loadTimeline(item);
  } else removeItem(item);
  announce(`Acknowledged “${title}”.`);
}

/**
 * Snooze menus whose value the keyboard changed while closed (arrow keys,
 * Home/End, typing a preset's first letter): Chromium and others fire
 * `change` at each such key, so acting on it would snooze on the first
 * arrow press. Those wait for Enter (Escape or leaving the menu cancels);
 * a choice made in the open menu (mouse, touch, or Space/Alt+Down then
 * Enter) snoozes at once.
 */
const browsing = new WeakSet();
const BROWSE_KEYS = new Set(['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'Home', 'End', 'PageUp', 'PageDown']);

function onSnoozeKey(event) {
  const select = event.target.closest?.('select.do-snooze');
  if (!select) return;
  const key = event.key ?? '';
  const typed = key.length === 1 && key !== ' ';
  if (key === 'Enter') {
    if (!browsing.has(select) || !select.value) return;
    event.preventDefault();
    browsing.delete(select);
    snooze(select);
  } else if (key === 'Escape') {
    if (browsing.has(select)) cancelBrowsing(select);
  } else if ((BROWSE_KEYS.has(key) || typed) && !event.altKey && !event.ctrlKey && !event.metaKey) {
    browsing.add(select);
  } else {
    // Space, F4, Alt+Down…: the menu opens, and what is chosen in it counts.
    browsing.delete(select);
  }
}

function onSnoozePointer(event) {
  const select = event.target.closest?.('select.do-snooze');
  if (select) browsing.delete(select);
}

/** Leaving a menu whose choice Enter never confirmed puts it back on "Snooze…". */
function onSnoozeLeave(event) {
  const select = event.target.closest?.('select.do-snooze');
  if (select && browsing.has(select)) cancelBrowsing(select);
}

function cancelBrowsing(select) {
  browsing.delete(select);
  select.value = '';
  clearSnoozeHint();
}

/** The menu's choice: snoozes, or (changed by the keyboard while closed) says how to confirm it. */
function onSnooze(event) {
  const select = event.target.closest('select.do-snooze');
  if (!select?.closest('li.alert')) return;
  if (!browsing.has(select)) {
    snooze(select);
    return;
  }
  if (!select.value) {
    clearSnoozeHint();
    return;
  }
  const title = select.closest('li.alert').querySelector('.alert-title').textContent;
  const span = SNOOZE_SPANS[select.value] ?? select.value;
  snoozeHint(`Press Enter to snooze “${title}” ${span}, or Escape to cancel.`);
}

/** Snoozes the menu's alert until its chosen preset; it leaves the inbox (or shows its new time). */
async function snooze(select) {
  const item = select.closest('li.alert');
  if (!item || !select.value || select.disabled) return;
  const preset = select.value;
  const title = item.querySelector('.alert-title').textContent;
  // Disabling the menu takes focus from it: where it was decides where it goes after.
  const hadFocus = item.contains(document.activeElement);
  if (hadFocus) hadFocusBefore.add(item);
  select.disabled = true;
  let alert;
  try {
    alert = await api('PUT', `/api/v1/alerts/${item.dataset.id}/snooze`, { preset });
  } catch (err) {
    hadFocusBefore.delete(item);
    status(`Could not snooze “${title}”: ${err.message}`, true);
    select.disabled = false;
    select.value = '';
    if (hadFocus && item.isConnected) select.focus();
    return;
  }
  hadFocusBefore.delete(item);
  select.disabled = false;
  select.value = '';
  const text = `Snoozed “${title}” until ${formatDateTime(alert.snoozed_until)} (${SNOOZE_NAMES[preset] ?? preset}).`;
  status(text);
  announce(text);
  if (matches(alert)) {
    fill(item, alert);
    if (hadFocus && item.isConnected) select.focus();
  } else removeItem(item, hadFocus);
}

/** Wakes the item's snoozed alert now: back in the inbox, unread. */
async function wake(item, button) {
  const title = item.querySelector('.alert-title').textContent;
  const hadFocus = item.contains(document.activeElement);
  if (hadFocus) hadFocusBefore.add(item);
  button.disabled = true;
  let alert;
  try {
    alert = await api('DELETE', `/api/v1/alerts/${item.dataset.id}/snooze`);
  } catch (err) {
    hadFocusBefore.delete(item);
    status(`Could not wake “${title}”: ${err.message}`, true);
    button.disabled = false;
    if (hadFocus && item.isConnected) button.focus();
    return;
  }
  hadFocusBefore.delete(item);
  button.disabled = false;
  status('');
  announce(`“${title}” is back in your inbox.`);
  if (matches(alert)) {
    fill(item, alert);
    if (hadFocus && item.isConnected) keepFocus(item, button, true);
  } else removeItem(item, hadFocus);
}

/**
 * Removes an item, keeping keyboard focus in the list (next item, else the
 * heading). `hadFocus`: whether focus was in it (before a disabled control lost it).
 */
function removeItem(item, hadFocus = item.contains(document.activeElement) || hadFocusBefore.has(item)) {
  if (!item.isConnected) return;
  const now = document.activeElement;
  // Not if the reader moved on meanwhile.
  hadFocus &&= now === null || now === document.body || item.contains(now);
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
  if (item.querySelector('details.timeline').open) loadTimeline(item);
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

// ------------------------------------------------------ reassigning the complaint

/**
 * A "Reassign" button after the card's actions, and its inline form (hidden
 * until the button opens it): the complaint page's assignee select.
 */
function addReassign(item, alert, headingId) {
  const id = `reassign-${alert.id}`;
  const open = h('button', { type: 'button', className: 'secondary do-reassign' }, 'Reassign');
  open.setAttribute('aria-describedby', headingId);
  open.setAttribute('aria-expanded', 'false');
  open.setAttribute('aria-controls', id);
  item.querySelector('.actions').append(open);
  const select = h('select', { id: `${id}-select`, name: 'assigned_to_staff_id' });
  select.setAttribute('aria-describedby', `${id}-error`);
  const error = h('p', { className: 'error field-error', id: `${id}-error` });
  error.setAttribute('role', 'alert');
  const form = h(
    'form',
    { className: 'reassign', id, hidden: true, noValidate: true },
    h('label', { htmlFor: select.id }, `Assign complaint #${alert.resource_id} to`),
    h(
      'div',
      { className: 'reassign-row' },
      select,
      h('button', { type: 'submit', className: 'do-reassign-save' }, 'Reassign'),
      h('button', { type: 'button', className: 'secondary do-reassign-cancel' }, 'Cancel'),
    ),
    error,
  );
  form.setAttribute('aria-label', `Reassign the complaint of “${alert.title}”`);
  item.querySelector('.actions').after(form);
}

/** Opens the card's reassign form: the assignees, the complaint's current one chosen. */
async function openReassign(item) {
  const form = item.querySelector('form.reassign');
  const select = form.elements.assigned_to_staff_id;
  const error = form.querySelector('.field-error');
  item.querySelector('.do-reassign').setAttribute('aria-expanded', 'true');
  form.hidden = false;
  setStatus(error, '');
  select.removeAttribute('aria-invalid');
  select.replaceChildren(h('option', { value: '' }, 'Loading…'));
  select.disabled = true;
  let complaint;
  try {
    [complaint] = await Promise.all([
      api('GET', `/api/v1/complaints/${item.dataset.complaint}`),
      loadAssignees(context, true),
    ]);
  } catch (err) {
    select.replaceChildren();
    const text = err.status === 404 ? 'This complaint no longer exists.' : err.message;
    setStatus(error, `Could not load the assignees: ${text}`, true);
    return;
  }
  select.disabled = false;
  assigneeSelect(select, complaint.assigned_to_staff_id, context);
  form.dataset.current = complaint.assigned_to_staff_id ?? '';
  select.focus();
}

function closeReassign(item, refocus) {
  const form = item.querySelector('form.reassign');
  if (!form || form.hidden) return;
  form.hidden = true;
  const button = item.querySelector('.do-reassign');
  button.setAttribute('aria-expanded', 'false');
  if (refocus) button.focus();
}

async function onReassign(event) {
  const form = event.target.closest('form.reassign');
  const item = form?.closest('li.alert');
  if (!item) return;
  event.preventDefault();
  const select = form.elements.assigned_to_staff_id;
  const error = form.querySelector('.field-error');
  const save = form.querySelector('.do-reassign-save');
  if (select.disabled) return;
  const chosen = chosenAssignee(select);
  if (String(chosen ?? '') === form.dataset.current) {
    const already = chosen === null ? 'It is unassigned already' : 'It is theirs already';
    setStatus(error, `${already}: choose someone else.`, true);
    select.setAttribute('aria-invalid', 'true');
    select.focus();
    return;
  }
  const number = item.dataset.complaint;
  save.disabled = true;
  let updated;
  try {
    updated = await updateComplaint(number, { assigned_to_staff_id: chosen });
  } catch (err) {
    save.disabled = false;
    const reason =
      err.status === 404
        ? 'this complaint no longer exists.'
        : err.status === 403
          ? 'you may not reassign complaints.'
          : err.message.replace(/^assigned_to_staff_id: /, '');
    setStatus(error, `Could not reassign it: ${reason}`, true);
    select.setAttribute('aria-invalid', 'true');
    select.focus();
    return;
  }
  save.disabled = false;
  const text = `Complaint #${number} reassigned. ${assignedText(updated.assigned_to_staff_id, context)}`;
  status(text);
  announce(text);
  form.dataset.current = updated.assigned_to_staff_id ?? '';
  closeReassign(item, item.contains(document.activeElement));
}

// ------------------------------------------------------ the escalation timeline

/** Timeline reads in flight, by item: only the latest one's answer is shown. */
const timelineReads = new WeakMap();

/** Reads the item's escalation and shows it in its disclosure; errors in words, with a way to try again. */
async function loadTimeline(item) {
  const panel = item.querySelector('.timeline-panel');
  const content = panel.querySelector('.timeline-content');
  const say = (text, isError) => setStatus(panel.querySelector('.timeline-status'), text, isError);
  const read = (timelineReads.get(item) ?? 0) + 1;
  timelineReads.set(item, read);
  panel.setAttribute('aria-busy', 'true');
  if (!content.childElementCount) say('Loading the timeline…');
  let view;
  try {
    view = await api('GET', `/api/v1/alerts/${item.dataset.id}/escalation`);
  } catch (err) {
    if (timelineReads.get(item) !== read) return;
    panel.removeAttribute('aria-busy');
    const retry = h('button', { type: 'button', className: 'secondary do-retry' }, 'Try again');
    content.replaceChildren(h('div', { className: 'actions' }, retry));
    say(`Could not load the timeline: ${err.message}`, true);
    return;
  }
  if (timelineReads.get(item) !== read) return;
  panel.removeAttribute('aria-busy');
  say('');
  content.replaceChildren(...timeline(view));
}

/** "Try again": the button goes with the error, so focus moves back to the disclosure's summary. */
async function retryTimeline(item, button) {
  await loadTimeline(item);
  const now = document.activeElement;
  if (!button.isConnected && (now === null || now === document.body || now === button)) {
    item.querySelector('details.timeline > summary').focus();
  }
}

/** `<time>` in the reader's zone, "3 minutes ago" on hover. */
const when = (iso) => h('time', { dateTime: iso, title: formatAgo(iso) }, formatDateTime(iso));

/** The timeline's parts: the policy, the steps (an ordered list), then acknowledgement and resolution. */
function timeline(view) {
  const parts = [];
  const { policy } = view;
  const start = view.steps.find((s) => s.step === 0);
  if (!policy) {
    parts.push(h('p', { className: 'tl-policy' }, 'This alert does not escalate.'));
    const recipients = start?.alerts ?? [];
    const sent = start?.fired_at ? ['Sent ', when(start.fired_at), ' to:'] : ['Sent to:'];
    parts.push(h('p', { className: 'tl-sub' }, ...sent));
    const nobody = h('p', { className: 'empty' }, 'Nobody was told.');
    parts.push(recipients.length ? recipientList(recipients, view) : nobody);
  } else {
    const extras = [];
    if (policy.repeat) {
      const { times, after_minutes } = policy.repeat;
      const count = times === 1 ? 'once' : `${times} times`;
      extras.push(`repeats ${count}, ${minutesText(after_minutes)} after the last step, while not acknowledged`);
    }
    if (policy.ack_timeout_minutes) {
      extras.push(`an acknowledgement lapses after ${minutesText(policy.ack_timeout_minutes)} without resolution`);
    }
    parts.push(
      h(
        'p',
        { className: 'tl-policy' },
        'Escalation policy ',
        h('strong', {}, policy.name),
        extras.length ? `: ${extras.join('; ')}.` : '.',
      ),
    );
    parts.push(steps(view));
  }
  parts.push(outcome(view));
  return parts;
}

/**
 * What each step shows: when it fired; the next one, when it is due; one
 * passed over without firing told nobody new (all it names had the alert),
 * or was not reached (acknowledged or resolved first).
 */
function steps(view) {
  const list = [...view.steps].sort((a, b) => a.step - b.step);
  const lastFired = Math.max(0, ...list.filter((s) => s.fired_at).map((s) => s.step));
  const acknowledged = Boolean(view.acknowledged_at);
  // Acknowledged, `next_step_at` is when the acknowledgement lapses: no step is due then.
  const nextAt = acknowledged ? null : view.next_step_at;
  const next = nextAt ? nextStep(list, lastFired, nextAt) : null;
  const items = list.map((step) => {
    const head = [h('span', { className: 'tl-name' }, step.step === 0 ? 'Alert raised' : `Step ${step.step}`)];
    let state;
    let detail;
    if (step.step === 0) {
      detail = 'To the rule’s own recipients';
    } else {
      const who = listText(step.targets.map(targetText));
      detail = `${capitalize(minutesText(step.after_minutes))}${step.after_minutes ? ' after the alert' : ''}: ${who}`;
    }
    const li = h('li', { className: 'tl-step' });
    li.dataset.step = step.step;
    if (step.fired_at) {
      state = 'fired';
      head.push(h('span', { className: 'tl-when' }, step.step === 0 ? 'Sent ' : 'Fired ', when(step.fired_at)));
    } else if (next && step === next) {
      state = 'due';
      head.push(h('span', { className: 'tl-when' }, 'Due ', when(nextAt)));
    } else if (next && step.step > next.step) {
      state = 'later';
      const due = new Date(Date.parse(nextAt) + (step.after_minutes - next.after_minutes) * 60_000).toISOString();
      head.push(h('span', { className: 'tl-when' }, 'Due around ', when(due), ', if still not acknowledged'));
    } else if (step.step < Math.max(lastFired, next?.step ?? 0)) {
      state = 'skipped';
      head.push(h('span', { className: 'tl-when' }, 'Told nobody new: everyone it names had the alert'));
    } else if (view.resolved_at) {
      state = 'not-reached';
      head.push(h('span', { className: 'tl-when' }, 'Not reached: resolved first'));
    } else if (acknowledged) {
      state = 'not-reached';
      head.push(h('span', { className: 'tl-when' }, 'Not reached: acknowledged first'));
    } else {
      state = 'skipped';
      head.push(h('span', { className: 'tl-when' }, 'Told nobody new'));
    }
    li.classList.add(`is-${state}`);
    li.dataset.state = state;
    li.append(h('p', { className: 'tl-head' }, ...head), h('p', { className: 'tl-sub' }, detail));
    if (step.alerts.length) li.append(recipientList(step.alerts, view));
    return li;
  });
  const ol = h('ol', { className: 'tl-steps' }, ...items);
  ol.setAttribute('aria-label', 'Escalation steps');
  const parts = [ol];
  if (nextAt && !next) {
    parts.push(h('p', { className: 'tl-sub' }, 'The steps run again ', when(nextAt), ', if still not acknowledged.'));
  }
  return h('div', {}, ...parts);
}

/**
 * The step `next_step_at` belongs to: of the unfired steps after the last
 * fired one, the last whose offset from the alert's start is not after it
 * (steps between told nobody new); the first when the start is unknown.
 */
function nextStep(list, lastFired, nextAt) {
  const open = list.filter((s) => s.step > lastFired && !s.fired_at);
  const start = Date.parse(list.find((s) => s.step === 0)?.fired_at ?? '');
  if (!open.length || Number.isNaN(start)) return open[0] ?? null;
  const due = Date.parse(nextAt) + 60_000;
  return open.filter((s) => start + s.after_minutes * 60_000 <= due).at(-1) ?? open[0];
}

/** Who a step told, each with the channels it went out on and how that went. */
function recipientList(alerts, view) {
  // The reader first, then by id.
  const rank = (alert) => (alert.staff_id === context.me?.id ? -Infinity : alert.staff_id);
  const sorted = [...alerts].sort((a, b) => rank(a) - rank(b));
  return h(
    'ul',
    { className: 'tl-recipients' },
    ...sorted.map((alert) => {
      const channels = [h('span', { className: 'dl dl-sent' }, CHANNELS.in_app)];
      for (const d of alert.deliveries) channels.push(delivery(d));
      const li = h('li', {}, h('span', { className: 'who' }, person(alert.staff_id, view)), ' ', ...channels);
      li.dataset.staff = alert.staff_id;
      return li;
    }),
  );
}

function delivery(d) {
  const state = DELIVERY_STATES[d.status] ?? d.status;
  const span = h('span', { className: `dl dl-${d.status}` }, `${CHANNELS[d.channel] ?? d.channel}: ${state}`);
  if (d.status === 'sent' && d.sent_at) span.append(' ', when(d.sent_at));
  if (d.last_error && d.status !== 'sent') span.append(` (${d.last_error})`);
  if (d.attempts > 1) span.title = `${d.attempts} attempts`;
  return span;
}

/** "You", the acknowledger's name, else "Staff #12" (the console knows no other names). */
function person(id, view) {
  if (id === context.me?.id) return 'You';
  if (id === view.acknowledged_by?.id && view.acknowledged_by.full_name) return view.acknowledged_by.full_name;
  return `Staff #${id}`;
}

function outcome(view) {
  const lines = [];
  if (view.acknowledged_at) {
    const by = view.acknowledged_by;
    const name = by?.id === context.me?.id ? 'you' : by?.full_name || 'someone';
    lines.push(h('p', { className: 'tl-ack is-done' }, `Acknowledged by ${name}, `, when(view.acknowledged_at)));
    if (view.next_step_at && !view.resolved_at) {
      lines.push(
        h('p', { className: 'tl-sub' }, 'If not resolved by ', when(view.next_step_at), ', it escalates again.'),
      );
    }
  } else {
    lines.push(h('p', { className: 'tl-ack' }, 'Not acknowledged yet.'));
  }
  lines.push(
    view.resolved_at
      ? h('p', { className: 'tl-resolved is-done' }, 'Resolved ', when(view.resolved_at))
      : h('p', { className: 'tl-resolved' }, 'Not resolved yet.'),
  );
  return h('div', { className: 'tl-outcome' }, ...lines);
}
