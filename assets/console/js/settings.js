// Settings: the caller's subscription per alert type (on/off and channels).
// A type without a saved subscription is delivered in the app only.
//
// For alerts.manage (admins): escalation policies, listed with the rules
// that use them; created, edited and deleted through a form (steps as rows:
// minutes after the alert, whom to tell, working hours only; an optional
// repeat and acknowledgement timeout). A 4xx `detail` ("field: message") is
// shown next to its field, in words.

import { api } from './api.js';
import {
  $,
  $$,
  ALERT_TYPES,
  capitalize,
  formatDateTime,
  fromTemplate,
  h,
  listText,
  minutesText,
  setStatus,
  targetText,
  typeLabel,
} from './dom.js';

export const needs = 'alerts.read';
export const title = 'settings';

const DEFAULT = { is_enabled: true, delivery_channels: ['in_app'] };

let context = null;

export async function show(ctx) {
  if (!context) {
    context = ctx;
    if (ctx.can('alerts.manage')) bindPolicies();
  }
  if (ctx.can('alerts.manage')) loadPolicies();
  const status = $('#settings-status');
  try {
    const { subscriptions } = await api('GET', '/api/v1/alerts/subscriptions');
    const byType = new Map(subscriptions.map((s) => [s.alert_type, s]));
    $('#subscription-list').replaceChildren(...ALERT_TYPES.map((type) => card(type, byType.get(type))));
    setStatus(status, '');
  } catch (err) {
    setStatus(status, err.message, true);
  }
}

function card(type, subscription) {
  const form = fromTemplate('tpl-subscription');
  form.dataset.alertType = type;
  form.setAttribute('aria-label', typeLabel(type));
  form.querySelector('legend').textContent = typeLabel(type);
  const message = form.querySelector('.form-status');
  const say = (text, isError) => setStatus(message, text, isError);
  fill(form, subscription);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = {
      is_enabled: form.elements.is_enabled.checked,
      delivery_channels: [...form.querySelectorAll('input[name=channel]:checked')].map((input) => input.value),
    };
    try {
      fill(form, await api('PUT', `/api/v1/alerts/subscriptions/${type}`, body));
      say('Saved.');
    } catch (err) {
      say(err.message, true);
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
  const { is_enabled, delivery_channels } = subscription ?? DEFAULT;
  form.elements.is_enabled.checked = is_enabled;
  for (const input of form.querySelectorAll('input[name=channel]')) {
    input.checked = delivery_channels.includes(input.value);
  }
  form.querySelector('.sub-state').textContent = subscription
    ? `Saved ${formatDateTime(subscription.updated_at)}`
    : 'Default: in the app only';
  form.querySelector('.reset').disabled = !subscription;
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

const sentence = (text) => capitalize(text.trim()) + (/[.!?]$/.test(text.trim()) ? '' : '.');
const words = (where, message) => `${where}: ${message.trim()}${/[.!?]$/.test(message.trim()) ? '' : '.'}`;

/** `"steps[1].after_minutes: must not be …"` → `{field: "steps[1].after_minutes", message: "must not be …"}`. */
function splitDetail(detail) {
  const match = /^([a-z_]+(?:\.[a-z_]+|\[\d+\])*): (.+)$/s.exec(detail);
  return match ? { field: match[1], message: match[2] } : { field: '', message: detail };
}

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
