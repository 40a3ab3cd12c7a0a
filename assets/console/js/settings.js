// Settings: the caller's subscription per alert type (on/off, channels, and
// whether email and SMS come at once or in an hourly or daily digest).
// A type without a saved subscription is delivered in the app only. A
// channel the server has not set up (GET /channels), or SMS without a phone
// number, cannot be chosen, and the page says why. The Account section shows
// who is signed in and changes their password; Preferences (preferences.js)
// their time zone, quiet hours and do not disturb.
//
// For alerts.manage (admins): escalation policies, listed with the rules
// that use them; created, edited and deleted through a form (steps as rows:
// minutes after the alert, whom to tell, working hours only; an optional
// repeat and acknowledgement timeout).
//
// For staff.manage (admins), the Team page (`teamView`): staff listed with
// filters and pages, added, edited, deactivated and reactivated, their
// password reset.
//
// A 4xx `detail` ("field: message") is shown next to its field, in words.

import { api } from './api.js';
import { showPreferences } from './preferences.js';
import {
  $,
  $$,
  ALERT_TYPES,
  clearErrorsOnInput,
  clearFieldErrors,
  formatDateTime,
  fromTemplate,
  h,
  listText,
  minutesText,
  sentence,
  setStatus,
  showFieldError,
  splitDetail,
  targetText,
  typeLabel,
  words,
} from './dom.js';

export const needs = 'alerts.read';
export const title = 'settings';

const DEFAULT = { is_enabled: true, delivery_channels: ['in_app'], delivery_mode: 'instant', daily_at: null };
const CHANNELS = {
  email: { name: 'Email', setting: 'ALERTS_SMTP_URL' },
  sms: { name: 'SMS', setting: 'ALERTS_SMS_URL' },
  webhook: { name: 'Webhook', setting: 'ALERTS_WEBHOOK_URL' },
};
const ROLE_NAMES = { admin: 'Admin', supervisor: 'Supervisor', agent: 'Agent' };

let bound = false;
/** Why a channel cannot be chosen, by channel (`{short, long}`); a channel not in it can be. */
let unavailable = new Map();

export async function show(ctx) {
  if (!bound) {
    bound = true;
    if (ctx.can('alerts.manage')) bindPolicies();
    bindAccount();
  }
  if (ctx.can('alerts.manage')) loadPolicies();
  showPreferences();
  const status = $('#settings-status');
  try {
    const [{ subscriptions }, channels, me] = await Promise.all([
      api('GET', '/api/v1/alerts/subscriptions'),
      // Without the list every channel stays selectable, as before it existed; the server still says why a send was skipped.
      api('GET', '/api/v1/channels').catch(() => null),
      // Read again: an administrator may have changed the phone or time zone meanwhile.
      api('GET', '/api/v1/auth/me').catch(() => ctx.me),
    ]);
    renderAccount(me, ctx);
    unavailable = channelReasons(channels, me, ctx);
    renderChannelNotes(ctx);
    const byType = new Map(subscriptions.map((s) => [s.alert_type, s]));
    $('#subscription-list').replaceChildren(...ALERT_TYPES.map((type) => card(type, byType.get(type))));
    setStatus(status, '');
  } catch (err) {
    setStatus(status, err.message, true);
  }
}

// ---- delivery channels

/** Why each channel cannot be chosen: not set up on this server, or SMS without a phone number. */
function channelReasons(channels, me, ctx) {
  const reasons = new Map();
  for (const { channel, configured } of channels ?? []) {
    const known = CHANNELS[channel];
    if (!known) continue;
    if (!configured) {
      reasons.set(channel, {
        short: 'not set up',
        long: `${known.name} is not set up on this server — ask your administrator (${known.setting}).`,
      });
    } else if (channel === 'sms' && !me?.phone) {
      const who = ctx.can('staff.manage') ? 'set yours on the Team page' : 'an administrator sets it on the Team page';
      reasons.set(channel, { short: 'no phone number', long: `Add a phone number to receive SMS: ${who}.`, team: true });
    }
  }
  return reasons;
}

function renderChannelNotes(ctx) {
  const notes = [...unavailable].map(([channel, reason]) => {
    const item = h('li', { id: `channel-note-${channel}` }, reason.long);
    if (reason.team && ctx.can('staff.manage')) {
      item.append(' ', h('a', { href: '#/team' }, 'Open the Team page'));
    }
    return item;
  });
  $('#channel-notes').replaceChildren(...notes);
  $('#channel-notes').hidden = notes.length === 0;
}

/**
 * A channel that cannot be chosen is greyed out with its reason; one already
 * chosen stays enabled until it is switched off, so it can be.
 */
function markChannels(form) {
  for (const input of form.querySelectorAll('input[name=channel]')) {
    const reason = unavailable.get(input.value);
    const label = input.closest('label');
    const note = label.querySelector('.channel-off');
    label.classList.toggle('is-off', Boolean(reason));
    input.disabled = Boolean(reason) && !input.checked;
    if (note) {
      note.hidden = !reason;
      note.textContent = reason ? `(${reason.short})` : '';
    }
    if (reason) input.setAttribute('aria-describedby', `channel-note-${input.value}`);
    else input.removeAttribute('aria-describedby');
  }
}

// ---- subscriptions

function card(type, subscription) {
  const form = fromTemplate('tpl-subscription');
  form.dataset.alertType = type;
  form.setAttribute('aria-label', typeLabel(type));
  form.querySelector('legend').textContent = typeLabel(type);
  const message = form.querySelector('.form-status');
  const say = (text, isError) => setStatus(message, text, isError);
  const digestError = form.querySelector('.digest .field-error');
  digestError.id = `digest-error-${type}`;
  for (const input of form.querySelectorAll('.digest input')) {
    input.setAttribute('aria-describedby', digestError.id);
  }
  clearErrorsOnInput(form);
  fill(form, subscription);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    const mode = form.querySelector('input[name=delivery_mode]:checked')?.value ?? 'instant';
    const body = {
      is_enabled: form.elements.is_enabled.checked,
      delivery_channels: [...form.querySelectorAll('input[name=channel]:checked')].map((input) => input.value),
      delivery_mode: mode,
    };
    if (mode === 'daily') body.daily_at = form.elements.daily_at.value;
    try {
      fill(form, await api('PUT', `/api/v1/alerts/subscriptions/${type}`, body));
      say('Saved.');
    } catch (err) {
      const { field, message } = splitDetail(err.message);
      if (field === 'delivery_mode' || field === 'daily_at') {
        const text = message.includes('urgent')
          ? `${typeLabel(type)} alerts are marked urgent by your organisation: they always come at once, never in a digest.`
          : sentence(message);
        showFieldError(field === 'daily_at' ? form.elements.daily_at : form.querySelector('input[name=delivery_mode]:checked'), text);
        say('Not saved: see the digest choice.', true);
      } else {
        say(err.message, true);
      }
    }
  });

  form.querySelector('.reset').addEventListener('click', async () => {
    try {
      await api('DELETE', `/api/v1/alerts/subscriptions/${type}`);
    } catch (err) {
      if (err.status !== 404) return say(err.message, true);
    }
    fill(form, undefined);
    say('Back to the default: in the app only.');
  });
  return form;
}

function fill(form, subscription) {
  const { is_enabled, delivery_channels, delivery_mode, daily_at } = { ...DEFAULT, ...subscription };
  form.elements.is_enabled.checked = is_enabled;
  for (const input of form.querySelectorAll('input[name=channel]')) {
    input.checked = delivery_channels.includes(input.value);
  }
  for (const input of form.querySelectorAll('input[name=delivery_mode]')) {
    input.checked = input.value === delivery_mode;
  }
  if (daily_at) form.elements.daily_at.value = daily_at;
  const digest = { hourly: ' · hourly digest', daily: ` · daily digest at ${daily_at}` }[delivery_mode] ?? '';
  form.querySelector('.sub-state').textContent = subscription
    ? `Saved ${formatDateTime(subscription.updated_at)}${digest}`
    : 'Default: in the app only';
  form.querySelector('.reset').disabled = !subscription;
  markChannels(form);
}

// ---- account: who is signed in, and a new password

function renderAccount(me, ctx) {
  if (!me) return;
  const row = (term, value) => [h('dt', {}, term), h('dd', {}, value)];
  const muted = (text) => h('span', { className: 'muted' }, text);
  $('#account-profile').replaceChildren(
    ...row('Name', me.full_name),
    ...row('Email', me.email),
    ...row('Role', ROLE_NAMES[me.role] ?? me.role),
    ...row('Phone', me.phone ?? muted('None: SMS cannot reach you')),
    ...row('Time zone', me.time_zone ?? muted('The organisation’s')),
  );
  const hint = $('#account-profile-hint');
  if (ctx.can('staff.manage')) {
    hint.replaceChildren('You change your name, phone and time zone on the ', h('a', { href: '#/team' }, 'Team page'), '.');
  }
  $('#password-form').elements.username.value = me.email;
}

function bindAccount() {
  const form = $('#password-form');
  clearErrorsOnInput(form);
  form.addEventListener('submit', changePassword);
}

async function changePassword(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const { current_password: current, new_password: next, confirm_password: confirm } = form.elements;
  const status = $('#password-status');
  clearFieldErrors(form);
  setStatus(status, '');
  status.classList.remove('is-ok');
  if (!current.value) return showFieldError(current, 'Current password: enter the password you signed in with.');
  if (!next.value) return showFieldError(next, 'New password: choose one.');
  if (confirm.value !== next.value) {
    return showFieldError(confirm, 'Confirm the new password: it does not match the new password.');
  }
  const button = $('#password-submit');
  button.disabled = true;
  try {
    await api('PUT', '/api/v1/auth/password', { current_password: current.value, new_password: next.value });
    const username = form.elements.username.value;
    form.reset();
    form.elements.username.value = username;
    setStatus(status, 'Password changed. Your other sessions were signed out; this one stays signed in.');
    status.classList.add('is-ok');
  } catch (err) {
    const { field, message } = splitDetail(err.message);
    if (err.status === 422 && field === 'current_password') {
      return showFieldError(current, words('Current password', message));
    }
    if (err.status === 422 && field === 'new_password') return showFieldError(next, words('New password', message));
    setStatus(status, sentence(err.message), true);
  } finally {
    button.disabled = false;
  }
}

// ------------------------------------------------------ escalation policies

/** The policies on screen, by id. */
let policies = new Map();
/** The policy the form edits; null: the form creates one. */
let editing = null;

const policyStatus = (text, isError) => setStatus($('#esc-status'), text, isError);
const formStatus = (text, isError) => setStatus($('#esc-form-status'), text, isError);
const stepRows = () => $$('#esc-step-list > li.esc-step');

function bindPolicies() {
  const form = $('#esc-form');
  form.addEventListener('input', (event) => clearError(event.target));
  form.addEventListener('change', (event) => clearError(event.target));
  form.addEventListener('submit', savePolicy);
  $('#esc-add-step').addEventListener('click', () => {
    const row = addStep();
    row.querySelector('input[name=after_minutes]').focus();
  });
  $('#esc-step-list').addEventListener('click', (event) => {
    const button = event.target.closest('button.do-remove-step');
    if (button) removeStep(button.closest('li.esc-step'));
  });
  $('#esc-cancel').addEventListener('click', () => {
    const id = editing?.id;
    resetForm();
    formStatus('');
    $(`#esc-policy-${id} .do-edit`)?.focus();
  });
  $('#esc-policies').addEventListener('click', (event) => {
    const button = event.target.closest('button');
    const policy = policies.get(Number(button?.closest('tr')?.dataset.id));
    if (!policy) return;
    if (button.classList.contains('do-edit')) startEditing(policy);
    else if (button.classList.contains('do-delete')) deletePolicy(button, policy);
  });
  resetForm();
}

async function loadPolicies() {
  try {
    const [list, rules] = await Promise.all([
      api('GET', '/api/v1/escalation-policies'),
      api('GET', '/api/v1/alerts/rules').catch(() => null),
    ]);
    policies = new Map(list.map((p) => [p.id, p]));
    renderPolicies(list, rules);
    if ($('#esc-status').classList.contains('is-error')) policyStatus('');
  } catch (err) {
    policyStatus(`Could not load the escalation policies: ${err.message}`, true);
  }
}

function renderPolicies(list, rules) {
  const usedBy = (name) =>
    rules?.filter((r) => r.alert_config?.escalation_policy === name).map((r) => r.rule_name) ?? null;
  const rows = list.map((policy) => {
    const steps = h(
      'ol',
      { className: 'esc-summary' },
      ...policy.steps.map((step) => {
        const at = step.after_minutes ? `After ${minutesText(step.after_minutes)}` : 'At once';
        const hours = step.working_hours_only ? ' (in working hours)' : '';
        return h('li', {}, `${at}: ${listText(step.targets.map(targetText))}${hours}`);
      }),
    );
    const { repeat: again } = policy;
    const times = again && (again.times === 1 ? 'Once' : `${again.times} times`);
    const repeat = again ? `${times}, ${minutesText(again.after_minutes)} after the last step` : 'No';
    const lapse = policy.ack_timeout_minutes ? `After ${minutesText(policy.ack_timeout_minutes)}` : 'Never';
    const users = usedBy(policy.name);
    const edit = h('button', { type: 'button', className: 'secondary do-edit' }, 'Edit');
    edit.setAttribute('aria-label', `Edit the escalation policy ${policy.name}`);
    const remove = h('button', { type: 'button', className: 'secondary danger do-delete' }, 'Delete');
    remove.setAttribute('aria-label', `Delete the escalation policy ${policy.name}`);
    const row = h(
      'tr',
      { id: `esc-policy-${policy.id}` },
      h('th', { scope: 'row' }, policy.name),
      h('td', {}, steps),
      h('td', {}, repeat),
      h('td', {}, lapse),
      h('td', {}, users === null ? '—' : users.length ? users.join(', ') : 'No rule'),
      h('td', {}, h('div', { className: 'row-actions' }, edit, remove)),
    );
    row.dataset.id = policy.id;
    row.dataset.name = policy.name;
    return row;
  });
  $('#esc-policies tbody').replaceChildren(...rows);
  $('#esc-policies-wrap').hidden = rows.length === 0;
  $('#esc-empty').hidden = rows.length > 0;
}

// ---- the form

/** Appends a step row (filled from `step` when given) and numbers the rows again. */
function addStep(step) {
  const row = fromTemplate('tpl-esc-step');
  $('#esc-step-list').append(row);
  if (step) {
    row.querySelector('input[name=after_minutes]').value = String(step.after_minutes);
    for (const box of $$('input[name=target]', row)) box.checked = step.targets.includes(box.value);
    const emails = step.targets.filter((t) => t.startsWith('staff:')).map((t) => t.slice(6));
    row.querySelector('input[name=emails]').value = emails.join(', ');
    row.querySelector('input[name=working_hours_only]').checked = Boolean(step.working_hours_only);
  } else {
    // A new step: after the last one, by default 30 minutes later.
    const last = stepRows().at(-2)?.querySelector('input[name=after_minutes]').value;
    const after = /^\d+$/.test(last ?? '') ? Number(last) + 30 : 30;
    row.querySelector('input[name=after_minutes]').value = String(after);
  }
  numberSteps();
  return row;
}

function removeStep(row) {
  const rows = stepRows();
  const index = rows.indexOf(row);
  row.remove();
  numberSteps();
  clearStepsError();
  const left = stepRows();
  (left[Math.min(index, left.length - 1)]?.querySelector('.do-remove-step') ?? $('#esc-add-step')).focus();
}

/** Ids, labels and names follow each row's position: "Step 2", `esc-step-2-minutes`. */
function numberSteps() {
  const rows = stepRows();
  rows.forEach((row, i) => {
    const n = i + 1;
    const id = `esc-step-${n}`;
    row.id = id;
    row.dataset.index = i;
    row.querySelector('.esc-step-title').textContent = `Step ${n}`;
    const minutes = row.querySelector('input[name=after_minutes]');
    minutes.id = `${id}-minutes`;
    row.querySelector('.minutes-label').htmlFor = minutes.id;
    const minutesError = row.querySelector('.minutes-error');
    minutesError.id = `${id}-minutes-error`;
    minutes.setAttribute('aria-describedby', minutesError.id);
    const targets = row.querySelector('fieldset.targets');
    targets.id = `${id}-targets`;
    const targetsError = row.querySelector('.targets-error');
    targetsError.id = `${id}-targets-error`;
    targets.setAttribute('aria-describedby', targetsError.id);
    const emails = row.querySelector('input[name=emails]');
    emails.id = `${id}-emails`;
    row.querySelector('.emails-label').htmlFor = emails.id;
    row.querySelector('.emails-hint').id = `${id}-emails-hint`;
    emails.setAttribute('aria-describedby', `${id}-emails-hint ${targetsError.id}`);
    const remove = row.querySelector('.do-remove-step');
    remove.setAttribute('aria-label', `Remove step ${n}`);
    remove.hidden = rows.length === 1;
  });
  $('#esc-add-step').disabled = rows.length >= 10;
}

function resetForm() {
  editing = null;
  const form = $('#esc-form');
  form.reset();
  clearErrors(form);
  $('#esc-step-list').replaceChildren();
  addStep();
  $('#esc-form-title').textContent = 'New escalation policy';
  $('#esc-submit').textContent = 'Create policy';
  $('#esc-cancel').hidden = true;
}

function startEditing(policy) {
  resetForm();
  editing = policy;
  const form = $('#esc-form');
  form.elements.name.value = policy.name;
  $('#esc-step-list').replaceChildren();
  for (const step of policy.steps) addStep(step);
  form.elements.repeat_times.value = policy.repeat ? String(policy.repeat.times) : '';
  form.elements.repeat_after.value = policy.repeat ? String(policy.repeat.after_minutes) : '';
  form.elements.ack_timeout_minutes.value = policy.ack_timeout_minutes ? String(policy.ack_timeout_minutes) : '';
  $('#esc-form-title').textContent = `Edit “${policy.name}”`;
  $('#esc-submit').textContent = 'Save changes';
  $('#esc-cancel').hidden = false;
  formStatus('');
  const heading = $('#esc-form-title');
  heading.scrollIntoView({ block: 'start' });
  heading.focus({ preventScroll: true });
}

/** Thrown for a field the form can check itself (no request is sent). */
class FieldError extends Error {
  constructor(control, message) {
    super(message);
    this.control = control;
  }
}

/** An optional whole number: null when empty. */
function wholeNumber(input, where) {
  const value = input.value.trim();
  if (value === '') return null;
  if (!/^\d+$/.test(value)) throw new FieldError(input, `${where}: write a whole number, like 30.`);
  return Number(value);
}

/** The request body from the form. */
function policyBody(form) {
  const steps = stepRows().map((row, i) => {
    const minutesInput = row.querySelector('input[name=after_minutes]');
    const where = `Step ${i + 1}, minutes after the alert`;
    const after = wholeNumber(minutesInput, where);
    if (after === null) throw new FieldError(minutesInput, `${where}: write a whole number, like 30.`);
    const targets = $$('input[name=target]:checked', row).map((box) => box.value);
    const emails = row.querySelector('input[name=emails]').value.split(/[\s,;]+/).filter(Boolean);
    targets.push(...emails.map((email) => `staff:${email}`));
    return {
      after_minutes: after,
      targets,
      working_hours_only: row.querySelector('input[name=working_hours_only]').checked,
    };
  });
  const times = wholeNumber(form.elements.repeat_times, 'Repeat, times');
  const repeatAfter = wholeNumber(form.elements.repeat_after, 'Repeat, minutes after the last step');
  if ((times === null) !== (repeatAfter === null)) {
    const missing = times === null ? form.elements.repeat_times : form.elements.repeat_after;
    const text = 'Repeat: give both how many times and how many minutes after the last step, or neither.';
    throw new FieldError(missing, text);
  }
  return {
    name: form.elements.name.value.trim(),
    steps,
    repeat: times === null ? null : { times, after_minutes: repeatAfter },
    ack_timeout_minutes: wholeNumber(form.elements.ack_timeout_minutes, 'Acknowledgement lapses after'),
  };
}

async function savePolicy(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  formStatus('');
  let body;
  try {
    body = policyBody(form);
  } catch (err) {
    if (err instanceof FieldError) return showError(err.control, err.message);
    throw err;
  }
  const button = $('#esc-submit');
  button.disabled = true;
  const was = editing;
  try {
    const saved = was
      ? await api('PATCH', `/api/v1/escalation-policies/${was.id}`, body)
      : await api('POST', '/api/v1/escalation-policies', body);
    resetForm();
    await loadPolicies();
    formStatus(was ? `Saved the policy “${saved.name}”.` : `Created the policy “${saved.name}”.`);
    $(`#esc-policy-${saved.id}`)?.classList.add('is-new');
  } catch (err) {
    apiError(err);
  } finally {
    button.disabled = false;
  }
}

async function deletePolicy(button, policy) {
  if (!window.confirm(`Delete the escalation policy “${policy.name}”? Alerts already escalating keep it.`)) return;
  button.disabled = true;
  try {
    await api('DELETE', `/api/v1/escalation-policies/${policy.id}`);
  } catch (err) {
    button.disabled = false;
    policyStatus(sentence(err.message), true);
    button.focus();
    return;
  }
  if (editing?.id === policy.id) resetForm();
  policyStatus(`Deleted the policy “${policy.name}”.`);
  $('#esc-title').focus();
  await loadPolicies();
}

// ---- field errors: the API's "field: message", next to the field, in words

/** Shows a 409 or 422 next to the field it names; anything else under the form. */
function apiError(err) {
  const { field, message } = splitDetail(err.message);
  const step = /^steps\[(\d+)\](?:\.(\w+))?/.exec(field);
  const rows = stepRows();
  if (err.status === 409) return showError($('#esc-name'), sentence(err.message));
  if (field === 'name') return showError($('#esc-name'), words('Name', message));
  if (step && rows[Number(step[1])]) {
    const row = rows[Number(step[1])];
    const where = `Step ${Number(step[1]) + 1}`;
    if (step[2] === 'after_minutes') {
      const minutes = row.querySelector('input[name=after_minutes]');
      return showError(minutes, words(`${where}, minutes after the alert`, message));
    }
    const label = step[2] === 'targets' ? `${where}, whom to tell` : where;
    return showError(row.querySelector('fieldset.targets'), words(label, message));
  }
  if (field === 'steps' || field.startsWith('steps')) {
    setStatus($('#esc-steps-error'), words('Steps', message), true);
    return $('#esc-add-step').focus();
  }
  if (field.startsWith('repeat')) return showError($('#esc-repeat'), words('Repeat', message));
  if (field === 'ack_timeout_minutes') return showError($('#esc-ack'), words('Acknowledgement lapses after', message));
  formStatus(sentence(err.message), true);
}

/** The error element a control (or group) names in its `aria-describedby`. */
function errorOf(control) {
  const ids = (control.getAttribute('aria-describedby') ?? '').split(' ').filter(Boolean);
  return ids.map((id) => document.getElementById(id)).find((el) => el?.classList.contains('field-error'));
}

/** Shows `text` as the error of `control`, marks it invalid and focuses it (a group: its first field). */
function showError(control, text) {
  setStatus(errorOf(control), text, true);
  control.setAttribute('aria-invalid', 'true');
  (control.matches('fieldset') ? control.querySelector('input') : control).focus();
}

/** Clears the error of the field (or group) the user just changed. */
function clearError(control) {
  const owner = control.closest('fieldset.targets, fieldset.esc-repeat') ?? control;
  const error = errorOf(owner);
  if (error) error.textContent = '';
  owner.removeAttribute('aria-invalid');
  control.removeAttribute('aria-invalid');
}

function clearStepsError() {
  setStatus($('#esc-steps-error'), '');
}

function clearErrors(form) {
  for (const el of $$('.field-error', form)) el.textContent = '';
  for (const el of $$('[aria-invalid]', form)) el.removeAttribute('aria-invalid');
}

// ---------------------------------------------------------------- the Team page (staff.manage)

export const teamView = { needs: 'staff.manage', title: 'team', show: showTeam };

const TEAM_PAGE_SIZE = 20;
/** The most staff one request returns (the supervisor choices). */
const MAX_PAGE_SIZE = 100;

const team = {
  ctx: null,
  page: 1,
  loads: 0,
  debounce: 0,
  /** Supervisors and admins: the people who can be chosen as someone's supervisor. */
  leads: [],
  /** Full names by id, for the supervisor column. */
  names: new Map(),
  /** Staff on screen, by id. */
  people: new Map(),
  /** The person the form edits; null: the form adds one. */
  editing: null,
};

const teamStatus = (text, isError) => setStatus($('#team-status'), text, isError);
const staffFormStatus = (text, isError) => setStatus($('#team-form-status'), text, isError);
const accessStatus = (text, isError) => setStatus($('#team-access-status'), text, isError);

async function showTeam(ctx) {
  if (!team.ctx) bindTeam(ctx);
  await Promise.all([loadLeads(), loadTeam()]);
}

function bindTeam(ctx) {
  team.ctx = ctx;
  const filters = $('#team-filters');
  filters.addEventListener('submit', (event) => event.preventDefault());
  filters.addEventListener('input', (event) => {
    if (event.target.name !== 'q') return;
    clearTimeout(team.debounce);
    team.debounce = setTimeout(() => reloadFrom(1), 250);
  });
  filters.addEventListener('change', (event) => {
    if (event.target.name !== 'q') reloadFrom(1);
  });
  $('#team-clear-filters').addEventListener('click', () => {
    filters.reset();
    reloadFrom(1);
    filters.elements.q.focus();
  });
  $('#team-prev').addEventListener('click', () => reloadFrom(team.page - 1));
  $('#team-next').addEventListener('click', () => reloadFrom(team.page + 1));
  $('#team-add').addEventListener('click', startAdding);
  $('#team-table').addEventListener('click', (event) => {
    const button = event.target.closest('button.do-edit');
    const person = team.people.get(Number(button?.closest('tr')?.dataset.id));
    if (person) startEditingStaff(person);
  });
  const form = $('#team-form');
  clearErrorsOnInput(form);
  form.addEventListener('submit', saveStaff);
  $('#team-cancel').addEventListener('click', closePanel);
  $('#team-deactivate').addEventListener('click', () => setActive(false));
  $('#team-reactivate').addEventListener('click', () => setActive(true));
  clearErrorsOnInput($('#team-reset-form'));
  $('#team-reset-form').addEventListener('submit', resetPassword);
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  $('#team-zones').replaceChildren(...zones.map((zone) => h('option', { value: zone })));
}

function reloadFrom(page) {
  team.page = Math.max(1, page);
  return loadTeam();
}

/** Supervisors and admins, active or not (names for the list; the active ones are the choices). */
async function loadLeads() {
  try {
    const pages = await Promise.all(
      ['supervisor', 'admin'].map((role) =>
        api('GET', `/api/v1/staff?${new URLSearchParams({ role, page_size: MAX_PAGE_SIZE })}`),
      ),
    );
    team.leads = pages.flatMap((page) => page.staff).sort((a, b) => a.full_name.localeCompare(b.full_name));
    for (const person of team.leads) team.names.set(person.id, person.full_name);
  } catch (err) {
    teamStatus(`Could not load the supervisors: ${err.message}`, true);
  }
}

async function loadTeam() {
  const load = ++team.loads;
  const filters = $('#team-filters').elements;
  const q = filters.q.value.trim();
  const params = new URLSearchParams({ page: team.page, page_size: TEAM_PAGE_SIZE });
  if (q) params.set('q', q);
  if (filters.role.value) params.set('role', filters.role.value);
  if (filters.active.value) params.set('active', filters.active.value);
  const table = $('#team-table');
  table.setAttribute('aria-busy', 'true');
  try {
    const page = await api('GET', `/api/v1/staff?${params}`);
    if (load !== team.loads) return;
    if (page.total_pages > 0 && team.page > page.total_pages) return reloadFrom(page.total_pages);
    for (const person of page.staff) team.names.set(person.id, person.full_name);
    // A supervisor who is neither a supervisor nor an admin (any active colleague can be one): ask for their name.
    const unknown = new Set(page.staff.map((p) => p.supervisor_id).filter((id) => id !== null && !team.names.has(id)));
    await Promise.all(
      [...unknown].map((id) => api('GET', `/api/v1/staff/${id}`).then((p) => team.names.set(id, p.full_name), () => {})),
    );
    if (load !== team.loads) return;
    team.people = new Map(page.staff.map((person) => [person.id, person]));
    renderTeam(page, Boolean(q || filters.role.value || filters.active.value));
    if ($('#team-status').classList.contains('is-error')) teamStatus('');
  } catch (err) {
    if (load === team.loads) teamStatus(`Could not load the team: ${err.message}`, true);
  } finally {
    if (load === team.loads) table.removeAttribute('aria-busy');
  }
}

function renderTeam(page, filtered) {
  const me = team.ctx.me.id;
  const muted = (text) => h('span', { className: 'muted' }, text);
  const rows = page.staff.map((person) => {
    const edit = h('button', { type: 'button', className: 'secondary do-edit' }, 'Edit');
    edit.setAttribute('aria-label', `Edit ${person.full_name}`);
    const lead = person.supervisor_id;
    const supervisor = lead === null ? muted('None') : (team.names.get(lead) ?? `Staff #${lead}`);
    const state = person.is_active ? 'Active' : 'Inactive';
    const row = h(
      'tr',
      { id: `staff-${person.id}`, className: person.is_active ? '' : 'is-inactive' },
      h('th', { scope: 'row' }, person.full_name, person.id === me ? h('span', { className: 'tag you' }, 'You') : null),
      h('td', {}, person.email),
      h('td', {}, ROLE_NAMES[person.role] ?? person.role),
      h('td', {}, supervisor),
      h('td', {}, h('span', { className: `tag ${state.toLowerCase()}` }, state)),
      h('td', {}, person.time_zone ?? muted('The organisation’s')),
      h('td', {}, edit),
    );
    row.dataset.id = person.id;
    row.dataset.email = person.email;
    return row;
  });
  $('#team-table tbody').replaceChildren(...rows);
  $('#team-table-wrap').hidden = rows.length === 0;
  $('#team-empty').hidden = rows.length > 0;
  $('#team-empty-text').textContent = filtered
    ? 'No one matches these filters. Try another name, or clear the filters.'
    : 'There is no one on the team yet. Add the first person with “Add staff member”.';
  $('#team-clear-filters').hidden = !filtered;
  $('#team-pager').hidden = page.total_pages <= 1;
  const people = page.total === 1 ? '1 person' : `${page.total} people`;
  $('#team-page-info').textContent = `Page ${page.page} of ${Math.max(1, page.total_pages)} (${people})`;
  $('#team-prev').disabled = page.page <= 1;
  $('#team-next').disabled = page.page >= page.total_pages;
}

// ---- the form: add or edit one person

/** The supervisor choices: active supervisors and admins but `exclude`; `selected` stays even if not one of them. */
function supervisorChoices(selected, exclude) {
  const select = $('#team-supervisor');
  const choices = team.leads.filter((p) => p.is_active && p.id !== exclude);
  const option = (p) => h('option', { value: String(p.id) }, `${p.full_name} (${ROLE_NAMES[p.role] ?? p.role})`);
  select.replaceChildren(h('option', { value: '' }, 'No supervisor'), ...choices.map(option));
  if (selected !== null && !choices.some((p) => p.id === selected)) {
    const name = team.names.get(selected) ?? `Staff #${selected}`;
    select.append(h('option', { value: String(selected) }, name));
  }
  select.value = selected === null ? '' : String(selected);
}

function openPanel(heading) {
  const panel = $('#team-panel');
  panel.hidden = false;
  const title = $('#team-form-title');
  title.textContent = heading;
  title.scrollIntoView({ block: 'start' });
  title.focus({ preventScroll: true });
}

function startAdding() {
  team.editing = null;
  if (!$('#team-status').classList.contains('is-error')) teamStatus('');
  const form = $('#team-form');
  form.reset();
  clearFieldErrors(form);
  staffFormStatus('');
  setStatus($('#team-form-notice'), '');
  supervisorChoices(null, null);
  $('#team-password-part').hidden = false;
  $('#team-access').hidden = true;
  $('#team-submit').textContent = 'Add staff member';
  openPanel('Add staff member');
}

function startEditingStaff(person, notice = '') {
  team.editing = person;
  const form = $('#team-form');
  const fields = form.elements;
  if (!$('#team-status').classList.contains('is-error')) teamStatus('');
  form.reset();
  clearFieldErrors(form);
  clearFieldErrors($('#team-reset-form'));
  staffFormStatus('');
  accessStatus('');
  setStatus($('#team-form-notice'), notice);
  fields.email.value = person.email;
  fields.full_name.value = person.full_name;
  fields.role.value = person.role;
  supervisorChoices(person.supervisor_id, person.id);
  fields.phone.value = person.phone ?? '';
  fields.time_zone.value = person.time_zone ?? '';
  $('#team-password-part').hidden = true;
  $('#team-submit').textContent = 'Save changes';
  showAccess(person);
  openPanel(`Edit “${person.full_name}”`);
}

function showAccess(person) {
  const self = person.id === team.ctx.me.id;
  $('#team-access').hidden = false;
  $('#team-access-state').textContent = person.is_active
    ? `${person.full_name} is active and can sign in.`
    : `${person.full_name} is deactivated: they cannot sign in. Reactivating lets them sign in again with their password.`;
  $('#team-deactivate').hidden = !person.is_active;
  $('#team-deactivate').disabled = self;
  $('#team-reactivate').hidden = person.is_active;
  $('#team-self-hint').hidden = !self;
  $('#team-reset-form').hidden = self;
  $('#team-reset-form').reset();
}

function closePanel() {
  const id = team.editing?.id;
  team.editing = null;
  $('#team-panel').hidden = true;
  ($(`#staff-${id} .do-edit`) ?? $('#team-add')).focus();
}

/** The form's values as the API takes them (empty optional fields are null). */
function staffValues(fields) {
  const supervisor = fields.supervisor_id.value;
  return {
    email: fields.email.value.trim(),
    full_name: fields.full_name.value.trim() || null,
    role: fields.role.value,
    supervisor_id: supervisor ? Number(supervisor) : null,
    phone: fields.phone.value.trim() || null,
    time_zone: fields.time_zone.value.trim() || null,
  };
}

async function saveStaff(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const fields = form.elements;
  const was = team.editing;
  clearFieldErrors(form);
  staffFormStatus('');
  setStatus($('#team-form-notice'), '');
  const values = staffValues(fields);
  if (!values.email) return showFieldError(fields.email, 'Email: enter their work email address.');
  let body;
  if (was) {
    if (!values.full_name) return showFieldError(fields.full_name, 'Full name: enter their name.');
    // Only what changed: a field left alone is not checked again.
    body = Object.fromEntries(Object.entries(values).filter(([key, value]) => value !== (was[key] ?? null)));
    if (Object.keys(body).length === 0) return staffFormStatus('Nothing to save: no field was changed.');
  } else {
    if (!fields.password.value) {
      return showFieldError(fields.password, 'First password: choose one for them to sign in with.');
    }
    body = Object.fromEntries(Object.entries(values).filter(([, value]) => value !== null));
    body.password = fields.password.value;
  }
  const button = $('#team-submit');
  button.disabled = true;
  try {
    const saved = was
      ? await api('PATCH', `/api/v1/staff/${was.id}`, body)
      : await api('POST', '/api/v1/staff', body);
    team.names.set(saved.id, saved.full_name);
    if (!was || 'role' in body || 'full_name' in body) await loadLeads();
    await loadTeam();
    if (was) {
      startEditingStaff(saved, `Saved the changes to ${saved.full_name}.`);
    } else {
      team.editing = null;
      $('#team-panel').hidden = true;
      teamStatus(`Added ${saved.full_name} (${saved.email}). They can sign in with the first password you chose.`);
      $(`#staff-${saved.id}`)?.classList.add('is-new');
      ($(`#staff-${saved.id} .do-edit`) ?? $('#team-add')).focus();
    }
  } catch (err) {
    staffError(err, fields);
  } finally {
    button.disabled = false;
  }
}

/** A 409 or 422 next to the field it names; anything else under the form. */
function staffError(err, fields) {
  if (err.status === 409) return showFieldError(fields.email, 'Email: a staff member with this email already exists.');
  const { field, message } = splitDetail(err.message);
  const labels = {
    email: 'Email',
    full_name: 'Full name',
    role: 'Role',
    supervisor_id: 'Supervisor',
    phone: 'Phone',
    time_zone: 'Time zone',
    password: 'First password',
  };
  if (err.status === 422 && labels[field] && fields[field]) {
    return showFieldError(fields[field], words(labels[field], message));
  }
  staffFormStatus(sentence(err.message), true);
}

async function setActive(active) {
  const person = team.editing;
  if (!person) return;
  const question = active
    ? `Reactivate ${person.full_name}? They can sign in again with their password.`
    : `Deactivate ${person.full_name}? They are signed out on every device at once and cannot sign in until ` +
      'reactivated. Alerts about their complaints go to whoever gets unassigned ones.';
  if (!window.confirm(question)) return;
  const button = $(active ? '#team-reactivate' : '#team-deactivate');
  button.disabled = true;
  setStatus($('#team-form-notice'), '');
  accessStatus('');
  try {
    const saved = await api('PATCH', `/api/v1/staff/${person.id}`, { is_active: active });
    team.editing = saved;
    showAccess(saved);
    await Promise.all([loadLeads(), loadTeam()]);
    accessStatus(
      active
        ? `${saved.full_name} is active again and can sign in.`
        : `${saved.full_name} is deactivated and was signed out on every device.`,
    );
    $(active ? '#team-deactivate' : '#team-reactivate').focus();
  } catch (err) {
    accessStatus(sentence(err.message), true);
  } finally {
    button.disabled = team.editing?.id === team.ctx.me.id;
  }
}

async function resetPassword(event) {
  event.preventDefault();
  const person = team.editing;
  const input = $('#team-reset-password');
  clearFieldErrors(event.currentTarget);
  accessStatus('');
  if (!person) return;
  if (!input.value) return showFieldError(input, 'New password: choose one.');
  const question =
    `Set a new password for ${person.full_name}? ` +
    'They are signed out on every device and sign in with the new one.';
  if (!window.confirm(question)) return;
  setStatus($('#team-form-notice'), '');
  try {
    await api('PATCH', `/api/v1/staff/${person.id}`, { password: input.value });
    input.value = '';
    accessStatus(`Password reset. ${person.full_name} was signed out on every device; give them the new password safely.`);
  } catch (err) {
    const { field, message } = splitDetail(err.message);
    if (err.status === 422 && field === 'password') return showFieldError(input, words('New password', message));
    accessStatus(sentence(err.message), true);
  }
}
