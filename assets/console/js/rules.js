// Rules (alerts.manage): each rule as a card that says in words what it
// watches and whom it tells, with an on/off switch; a form per rule type
// (labels, units, bounds) to create and edit one, errors in words next to the
// field they are about (checked here first, then the server's 409/422 mapped
// to the field it names); delete after a confirmation. The raw JSON of
// `conditions` and `alert_config` stays behind the "Advanced" toggle.

import { api } from './api.js';
import {
  $,
  $$,
  capitalize,
  fieldErrorOf,
  fromTemplate,
  h,
  listText,
  sentence,
  setStatus,
  splitDetail,
  targetText,
  words,
} from './dom.js';

export const needs = 'alerts.manage';
export const title = 'rules';

// ---- the vocabulary (src/domain/rules.rs and vocab.rs), in words

const RULE_TYPES = {
  sla: { label: 'Resolution SLA', clock: 'resolution', alertTypes: ['sla_at_risk', 'sla_breach'] },
  first_response: {
    label: 'First-response SLA',
    clock: 'first-response',
    alertTypes: ['first_response_at_risk', 'first_response_breach'],
  },
  event: { label: 'Priority event', alertTypes: ['critical_complaint'] },
  threshold: { label: 'Workload threshold', alertTypes: ['high_workload'] },
};
const ALERT_TYPES = {
  sla_at_risk: 'SLA at risk',
  sla_breach: 'SLA breached',
  first_response_at_risk: 'First response at risk',
  first_response_breach: 'First response overdue',
  critical_complaint: 'Critical complaint',
  high_workload: 'High workload',
};
const STATUSES = { open: 'Open', in_progress: 'In progress', pending: 'Pending (waiting on the customer)' };
const PRIORITIES = ['low', 'medium', 'high', 'critical'];
const SEVERITIES = ['info', 'warning', 'critical'];
const RECIPIENTS = {
  assignee: 'The assignee',
  assignee_supervisor: 'The assignee’s supervisor',
  'role:supervisor': 'Every supervisor',
  'role:admin': 'Every admin',
  'role:agent': 'Every agent',
};
const WORKLOAD_METRIC = 'open_assigned_complaints';
/** Whole-number bounds the server enforces. */
const BOUNDS = { threshold: [0, 1_000_000], dedup_window_hours: [1, 8760], expires_after_hours: [1, 8760] };
const NAME_MAX = 100;

/** What the form calls each field; the server's field paths end in these keys. */
const LABELS = {
  rule_name: 'Name',
  rule_type: 'Rule type',
  sla_state: 'Alert when',
  threshold_percent: 'At risk at',
  statuses: 'Complaint statuses',
  priority: 'Priority',
  metric: 'Workload threshold',
  threshold: 'Workload threshold',
  alert_type: 'Alert type',
  severity: 'Severity',
  recipients: 'Tell',
  unassigned_recipients: 'When nobody is assigned, tell',
  dedup_window_hours: 'Deduplication window',
  expires_after_hours: 'Expires after',
  mandatory: 'Mandatory',
  escalation_policy: 'Escalation policy',
};

/** A new rule of each type starts from these settings (the seeded rules'). */
function defaults(type) {
  const conditions = {
    sla: { sla_state: 'at_risk', threshold_percent: 80, statuses: ['open', 'in_progress'] },
    first_response: { sla_state: 'at_risk', threshold_percent: 80, statuses: ['open', 'in_progress'] },
    event: { priority: 'critical' },
    threshold: { metric: WORKLOAD_METRIC, threshold: 10 },
  }[type];
  return {
    rule_name: '',
    rule_type: type,
    is_enabled: true,
    conditions,
    alert_config: {
      alert_type: RULE_TYPES[type].alertTypes[0],
      severity: type === 'event' ? 'critical' : 'warning',
      recipients: ['assignee'],
      unassigned_recipients: ['role:supervisor', 'role:admin'],
      dedup_window_hours: 24,
      expires_after_hours: 168,
      mandatory: false,
    },
  };
}

/** 8760 → "8 760" (no-break spaces, so a number never wraps). */
const grouped = (n) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, '\u00a0');

/** 24 → "24 h", 168 → "7 days". */
function hoursText(hours) {
  if (hours % 24 !== 0 || hours < 48) return `${grouped(hours)}\u00a0h`;
  return `${grouped(hours / 24)}\u00a0days`;
}

// ---- the page

const page = { policies: [], bound: false };

const pageStatus = (text, isError) => setStatus($('#rules-status'), text, isError);

export async function show() {
  if (!page.bound) {
    page.bound = true;
    $('#rule-new').addEventListener('click', openNew);
  }
  closeNew();
  await load();
}

async function load() {
  try {
    const [rules, policies] = await Promise.all([
      api('GET', '/api/v1/alerts/rules'),
      api('GET', '/api/v1/escalation-policies').catch(() => []),
    ]);
    page.policies = policies.map((p) => p.name);
    $('#rule-list').replaceChildren(...rules.map((rule) => card(rule)));
    $('#rules-empty').hidden = rules.length > 0;
    pageStatus('');
  } catch (err) {
    pageStatus(sentence(err.message), true);
  }
}

// ---- a rule's card

function card(rule, { status = '', open = '' } = {}) {
  const article = fromTemplate('tpl-rule');
  const id = `rule-${rule.id}`;
  article.id = id;
  article.dataset.rule = rule.rule_name;
  const heading = article.querySelector('.rule-name');
  heading.id = `${id}-name`;
  heading.textContent = rule.rule_name;
  article.setAttribute('aria-labelledby', heading.id);
  const typeTag = article.querySelector('.rule-type');
  typeTag.textContent = RULE_TYPES[rule.rule_type]?.label ?? capitalize(rule.rule_type);
  const offTag = h('span', { className: 'tag off', hidden: rule.is_enabled }, 'Off');
  typeTag.after(offTag);
  article.classList.toggle('is-off', !rule.is_enabled);
  summarize(article.querySelector('.rule-summary'), rule);

  const message = article.querySelector('.rule-status');
  setStatus(message, status);
  const toggle = article.querySelector('.rule-enabled');
  toggle.checked = rule.is_enabled;
  toggle.setAttribute('aria-describedby', heading.id);
  toggle.addEventListener('change', async () => {
    const action = toggle.checked ? 'enable' : 'disable';
    toggle.disabled = true;
    try {
      const updated = await api('PUT', `/api/v1/alerts/rules/${rule.id}/${action}`);
      rule.is_enabled = updated.is_enabled;
      toggle.checked = updated.is_enabled;
      article.classList.toggle('is-off', !updated.is_enabled);
      offTag.hidden = updated.is_enabled;
      setStatus(message, updated.is_enabled ? 'Enabled.' : 'Disabled.');
    } catch (err) {
      toggle.checked = !toggle.checked;
      setStatus(message, sentence(err.message), true);
    } finally {
      toggle.disabled = false;
    }
  });

  // Edit: the form, in the card.
  const slot = article.querySelector('.rule-form-slot');
  slot.id = `${id}-form-slot`;
  const edit = article.querySelector('.do-edit');
  edit.setAttribute('aria-controls', slot.id);
  edit.setAttribute('aria-describedby', heading.id);
  const closeForm = () => {
    slot.hidden = true;
    slot.replaceChildren();
    edit.setAttribute('aria-expanded', 'false');
    edit.textContent = 'Edit';
  };
  const openForm = () => {
    const form = ruleForm(rule, {
      idPrefix: id,
      onSaved: (saved) => {
        const fresh = card(saved, { status: `Saved the rule “${saved.rule_name}”.` });
        article.replaceWith(fresh);
        fresh.querySelector('.do-edit').focus();
      },
      onCancel: () => {
        closeForm();
        edit.focus();
      },
    });
    slot.replaceChildren(form);
    slot.hidden = false;
    edit.setAttribute('aria-expanded', 'true');
    edit.textContent = 'Close the form';
    form.elements.rule_name.focus();
  };
  edit.addEventListener('click', () => (slot.hidden ? openForm() : closeForm()));
  if (open === 'form') openForm();

  const remove = article.querySelector('.do-delete');
  remove.setAttribute('aria-describedby', heading.id);
  remove.addEventListener('click', () => deleteRule(article, rule, remove));

  for (const field of ['conditions', 'alert_config']) jsonEditor(article, rule, field);
  if (open === 'json') article.querySelector('.rule-edit').open = true;
  return article;
}

/** What the rule does, in words: the condition, then the alert and whom it tells. */
function summarize(el, rule) {
  const c = rule.conditions ?? {};
  const a = rule.alert_config ?? {};
  let when;
  if (rule.rule_type === 'sla' || rule.rule_type === 'first_response') {
    const clock = RULE_TYPES[rule.rule_type].clock;
    const statuses = listText((c.statuses ?? ['open', 'in_progress']).map((s) => (STATUSES[s] ?? s).split(' (')[0].toLowerCase()));
    when =
      c.sla_state === 'breached'
        ? `When a complaint’s ${clock} due time has passed (${statuses}).`
        : `When ${c.threshold_percent}\u00a0% of a complaint’s ${clock} time is used (${statuses}).`;
  } else if (rule.rule_type === 'event') {
    when = `When a complaint is created with, or raised to, ${c.priority} priority.`;
  } else if (rule.rule_type === 'threshold') {
    when = `When a person has more than ${grouped(c.threshold)} open complaints assigned.`;
  } else {
    when = `A ${rule.rule_type} rule.`;
  }
  const who = listText((a.recipients ?? []).map(targetText));
  const unassigned = a.unassigned_recipients ?? ['role:supervisor', 'role:admin'];
  const then = [
    `${capitalize(a.severity ?? '')} “${ALERT_TYPES[a.alert_type] ?? a.alert_type}” alert to ${who || 'nobody'}`,
    unassigned.length ? `; unassigned: ${listText(unassigned.map(targetText))}.` : '.',
  ].join('');
  const details = [
    `At most one per complaint and person every ${hoursText(a.dedup_window_hours ?? 24)}`,
    `expires after ${hoursText(a.expires_after_hours ?? 168)}`,
    a.mandatory ? 'mandatory in the app' : null,
    a.escalation_policy ? `escalates by “${a.escalation_policy}”` : null,
  ].filter(Boolean);
  el.replaceChildren(
    h('span', { className: 'rule-when' }, when),
    h('span', { className: 'rule-then' }, then),
    h('span', { className: 'rule-more' }, `${details.join('; ')}.`),
  );
}

async function deleteRule(article, rule, button) {
  const question = `Delete the rule “${rule.rule_name}”? It stops raising alerts; the alerts it raised stay in the inboxes.`;
  if (!window.confirm(question)) return;
  button.disabled = true;
  try {
    await api('DELETE', `/api/v1/alerts/rules/${rule.id}`);
  } catch (err) {
    button.disabled = false;
    setStatus(article.querySelector('.rule-status'), sentence(err.message), true);
    return;
  }
  article.remove();
  $('#rules-empty').hidden = $$('#rule-list > .rule').length > 0;
  pageStatus(`Deleted the rule “${rule.rule_name}”.`);
  $('#rules-title').focus();
}

// ---- new rule

function openNew() {
  const panel = $('#rule-new-panel');
  const form = ruleForm(defaults('sla'), {
    idPrefix: 'rule-new',
    onSaved: async (saved) => {
      closeNew();
      await load();
      pageStatus(`Created the rule “${saved.rule_name}”.`);
      const created = $(`#rule-${saved.id}`);
      created?.classList.add('is-new');
      (created?.querySelector('.do-edit') ?? $('#rules-title')).focus();
    },
    onCancel: () => {
      closeNew();
      $('#rule-new').focus();
    },
  });
  panel.replaceChildren(form);
  panel.hidden = false;
  $('#rule-new').hidden = true;
  form.elements.rule_name.focus();
}

function closeNew() {
  $('#rule-new-panel').hidden = true;
  $('#rule-new-panel').replaceChildren();
  $('#rule-new').hidden = false;
}

// ---- the form

/**
 * The form for `rule` (a stored one, or `defaults(type)` for a new one):
 * fields per rule type, each with its label, unit, bounds, and an error
 * element next to it.
 */
function ruleForm(rule, { idPrefix, onSaved, onCancel }) {
  const creating = rule.id === undefined;
  const form = h('form', { className: `sla-form rule-form${creating ? ' card' : ''}`, noValidate: true });
  form.dataset.ruleForm = creating ? 'new' : rule.rule_name;
  const ids = (name) => `${idPrefix}-${name}`;
  const headingId = ids('form-title');
  form.setAttribute('aria-labelledby', headingId);
  form.append(h('h3', { id: headingId, tabIndex: -1 }, creating ? 'New rule' : `Edit “${rule.rule_name}”`));

  const top = h('div', { className: 'form-grid' });
  top.append(
    field(ids, 'rule_name', textInput({ value: rule.rule_name, maxLength: NAME_MAX, autocomplete: 'off', spellcheck: false }), {
      hint: `Up to ${NAME_MAX} characters; unique. Shown on each rule card.`,
    }),
  );
  if (creating) {
    const type = select(Object.entries(RULE_TYPES).map(([value, t]) => [value, t.label]), rule.rule_type);
    top.append(
      field(ids, 'rule_type', type, {
        hint: 'What the rule watches: a complaint’s SLA clocks, its priority, or a person’s workload. It cannot change later.',
      }),
    );
  }
  form.append(top);

  const conditions = h('fieldset', { className: 'rule-part rule-conditions' });
  const alert = h('fieldset', { className: 'rule-part rule-alert' });
  form.append(conditions, alert);

  /** Fills both parts for `type` from `values`. */
  const render = (type, values) => {
    conditions.replaceChildren(h('legend', {}, 'When'), conditionFields(ids, type, values.conditions));
    alert.replaceChildren(h('legend', {}, 'Then'), alertFields(ids, type, values.alert_config));
    bindSlaState(form, type);
  };
  render(rule.rule_type, rule);
  if (creating) {
    form.elements.rule_type.addEventListener('change', () => {
      const type = form.elements.rule_type.value;
      const name = form.elements.rule_name.value;
      render(type, defaults(type));
      form.elements.rule_name.value = name;
    });
    form.append(
      h('label', { className: 'check' }, h('input', { type: 'checkbox', name: 'is_enabled', checked: rule.is_enabled }), 'Enabled at once'),
    );
  }

  const status = h('p', { className: 'form-status', role: 'status' });
  const submit = h('button', { type: 'submit' }, creating ? 'Create rule' : 'Save rule');
  const cancel = h('button', { type: 'button', className: 'secondary' }, 'Cancel');
  cancel.addEventListener('click', onCancel);
  form.append(status, h('div', { className: 'actions' }, submit, cancel));

  form.addEventListener('input', (event) => clearError(event.target));
  form.addEventListener('change', (event) => clearError(event.target));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    setStatus(status, '');
    const type = creating ? form.elements.rule_type.value : rule.rule_type;
    let body;
    try {
      body = readForm(form, type, rule);
    } catch (err) {
      if (err instanceof FieldError) return showError(err.control, err.message);
      throw err;
    }
    if (creating) {
      body.rule_type = type;
      body.is_enabled = form.elements.is_enabled.checked;
    } else if (body.rule_name === rule.rule_name) {
      delete body.rule_name;
    }
    submit.disabled = true;
    try {
      const saved = creating
        ? await api('POST', '/api/v1/alerts/rules', body)
        : await api('PATCH', `/api/v1/alerts/rules/${rule.id}`, body);
      await onSaved(saved);
    } catch (err) {
      apiError(form, status, err);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

/** The fields of `conditions` for `type`. */
function conditionFields(ids, type, c) {
  const part = document.createDocumentFragment();
  if (type === 'sla' || type === 'first_response') {
    const clock = RULE_TYPES[type].clock;
    const state = select(
      [
        ['at_risk', `At risk: a share of the ${clock} time is used`],
        ['breached', `Breached: the ${clock} due time has passed`],
      ],
      c.sla_state,
    );
    const percent = numberInput(c.threshold_percent ?? 80, { min: 1, max: 99, step: 'any' });
    const grid = h('div', { className: 'form-grid' });
    grid.append(
      field(ids, 'sla_state', state),
      field(ids, 'threshold_percent', percent, {
        unit: '% of the time used',
        hint: `Above 0 and below 100. 80 alerts when four fifths of the working time to ${clock === 'resolution' ? 'resolve' : 'first respond'} are gone.`,
        wrapClass: 'threshold-part',
      }),
    );
    part.append(
      grid,
      choices(ids, 'statuses', Object.entries(STATUSES), c.statuses ?? ['open', 'in_progress'], {
        hint: 'The complaints it watches; choose at least one. A pending complaint’s clock is usually paused.',
      }),
    );
  } else if (type === 'event') {
    const priority = select(PRIORITIES.map((p) => [p, capitalize(p)]), c.priority);
    part.append(
      h('div', { className: 'form-grid' },
        field(ids, 'priority', priority, { hint: 'Alerts when a complaint is created with this priority or raised to it.' })),
    );
  } else if (type === 'threshold') {
    const [min, max] = BOUNDS.threshold;
    const threshold = numberInput(c.threshold, { min, max, step: 1 });
    part.append(
      h('div', { className: 'form-grid' },
        field(ids, 'threshold', threshold, {
          unit: 'open complaints',
          hint: `Alerts when one person has more open complaints assigned than this. A whole number from ${grouped(min)} to ${grouped(max)}.`,
        })),
    );
  }
  return part;
}

/** The fields of `alert_config` (the same for every type; the alert types differ). */
function alertFields(ids, type, a) {
  const part = document.createDocumentFragment();
  const alertType = select(RULE_TYPES[type].alertTypes.map((t) => [t, ALERT_TYPES[t]]), a.alert_type);
  const severity = select(SEVERITIES.map((s) => [s, capitalize(s)]), a.severity);
  const policies = [...new Set([...page.policies, ...(a.escalation_policy ? [a.escalation_policy] : [])])];
  const policy = select([['', 'None (no escalation)'], ...policies.map((p) => [p, p])], a.escalation_policy ?? '');
  const hours = (name, value, hint) => {
    const [min, max] = BOUNDS[name];
    return field(ids, name, numberInput(value, { min, max, step: 1 }), {
      unit: 'hours',
      hint: `${hint} A whole number from ${grouped(min)} to ${grouped(max)} (a year).`,
    });
  };
  part.append(
    h('div', { className: 'form-grid' },
      field(ids, 'alert_type', alertType, { hint: 'How the alert is labelled in inboxes and subscriptions.' }),
      field(ids, 'severity', severity),
    ),
    choices(ids, 'recipients', Object.entries(RECIPIENTS), a.recipients ?? ['assignee'], {
      hint: 'Choose at least one.',
    }),
    choices(ids, 'unassigned_recipients', Object.entries(RECIPIENTS).filter(([r]) => !r.startsWith('assignee')),
      a.unassigned_recipients ?? ['role:supervisor', 'role:admin'], {
        hint: 'For complaints nobody is assigned to. None ticked: nobody is told.',
      }),
    h('div', { className: 'form-grid' },
      hours('dedup_window_hours', a.dedup_window_hours ?? 24, 'At most one alert per complaint and person in this window.'),
      hours('expires_after_hours', a.expires_after_hours ?? 168, 'The alert leaves the inbox after this long.'),
      field(ids, 'escalation_policy', policy, {
        hint: 'Tells more people, step by step, while nobody acknowledges. Policies are edited under Settings.',
      }),
    ),
    checkField(ids, 'mandatory', a.mandatory ?? false,
      'Mandatory: nobody can switch off in-app delivery of this alert type'),
  );
  return part;
}

/** An at-risk threshold only applies to `at_risk`; the alert type follows the state. */
function bindSlaState(form, type) {
  const state = form.elements.sla_state;
  if (!state) return;
  const sync = (changed) => {
    const atRisk = state.value === 'at_risk';
    form.querySelector('.threshold-part').hidden = !atRisk;
    if (changed) form.elements.alert_type.value = RULE_TYPES[type].alertTypes[atRisk ? 0 : 1];
  };
  state.addEventListener('change', () => sync(true));
  sync(false);
}

// ---- building fields: a label, the control (with its unit), a hint, the error

function field(ids, name, control, { hint = '', unit = '', wrapClass = '' } = {}) {
  const id = ids(name);
  control.id = id;
  control.name = name;
  control.dataset.key = name;
  const hintEl = hint ? h('p', { className: 'hint small', id: `${id}-hint` }, hint) : null;
  const error = h('p', { className: 'error field-error', id: `${id}-error`, role: 'alert' });
  control.setAttribute('aria-describedby', [hintEl?.id, error.id].filter(Boolean).join(' '));
  const body = unit ? h('span', { className: 'with-unit' }, control, h('span', { className: 'unit' }, unit)) : control;
  return h('div', { className: `rule-field ${wrapClass}`.trim() }, h('label', { htmlFor: id }, LABELS[name]), body, hintEl, error);
}

function choices(ids, name, options, checked, { hint = '' } = {}) {
  const id = ids(name);
  const set = h('fieldset', { className: 'choices', id });
  set.dataset.key = name;
  const hintEl = hint ? h('p', { className: 'hint small', id: `${id}-hint` }, hint) : null;
  const error = h('p', { className: 'error field-error', id: `${id}-error`, role: 'alert' });
  set.setAttribute('aria-describedby', [hintEl?.id, error.id].filter(Boolean).join(' '));
  set.append(
    h('legend', {}, LABELS[name]),
    ...options.map(([value, label]) =>
      h('label', { className: 'check' }, h('input', { type: 'checkbox', name, value, checked: checked.includes(value) }), label),
    ),
    hintEl,
    error,
  );
  return set;
}

function checkField(ids, name, checked, label) {
  const id = ids(name);
  const error = h('p', { className: 'error field-error', id: `${id}-error`, role: 'alert' });
  const box = h('input', { type: 'checkbox', name, id, checked });
  box.dataset.key = name;
  box.setAttribute('aria-describedby', error.id);
  return h('div', { className: 'rule-field' }, h('label', { className: 'check', htmlFor: id }, box, label), error);
}

const textInput = (props) => Object.assign(h('input', { type: 'text' }), props);

function numberInput(value, { min, max, step }) {
  const input = h('input', { type: 'number', inputMode: step === 1 ? 'numeric' : 'decimal' });
  Object.assign(input, { min: String(min), max: String(max), step: String(step) });
  input.value = value === undefined || value === null ? '' : String(value);
  return input;
}

function select(options, selected) {
  const el = h('select', {}, ...options.map(([value, label]) => h('option', { value }, label)));
  el.value = selected ?? options[0][0];
  return el;
}

// ---- reading the form, checked here in words

class FieldError extends Error {
  constructor(control, message) {
    super(message);
    this.control = control;
  }
}

/** The body of a create or update: the form's values, checked; a FieldError names the first bad field. */
function readForm(form, type, rule) {
  const el = form.elements;
  const name = el.rule_name.value.trim();
  if (!name) throw new FieldError(el.rule_name, 'Name: enter a name for the rule.');
  if ([...name].length > NAME_MAX) throw new FieldError(el.rule_name, `Name: must be at most ${NAME_MAX} characters.`);

  const checked = (key) => $$(`input[name="${key}"]:checked`, form).map((box) => box.value);
  const group = (key) => form.querySelector(`fieldset[data-key="${key}"]`);
  let conditions;
  if (type === 'sla' || type === 'first_response') {
    conditions = { sla_state: el.sla_state.value, statuses: checked('statuses') };
    if (conditions.sla_state === 'at_risk') {
      const input = el.threshold_percent;
      const value = Number(input.value.trim());
      if (input.value.trim() === '' || !Number.isFinite(value) || value <= 0 || value >= 100) {
        throw new FieldError(input, 'At risk at: must be a number above 0 and below 100, like 80.');
      }
      conditions.threshold_percent = value;
    }
    if (!conditions.statuses.length) throw new FieldError(group('statuses'), 'Complaint statuses: choose at least one.');
  } else if (type === 'event') {
    conditions = { priority: el.priority.value };
  } else if (type === 'threshold') {
    conditions = { metric: WORKLOAD_METRIC, threshold: wholeNumber(el.threshold, 'threshold') };
  } else {
    conditions = rule.conditions;
  }

  const alertConfig = {
    alert_type: el.alert_type.value,
    severity: el.severity.value,
    recipients: checked('recipients'),
    unassigned_recipients: checked('unassigned_recipients'),
    dedup_window_hours: wholeNumber(el.dedup_window_hours, 'dedup_window_hours', 'hours'),
    expires_after_hours: wholeNumber(el.expires_after_hours, 'expires_after_hours', 'hours'),
    mandatory: el.mandatory.checked,
  };
  if (!alertConfig.recipients.length) throw new FieldError(group('recipients'), 'Tell: choose at least one recipient.');
  if (el.escalation_policy.value) alertConfig.escalation_policy = el.escalation_policy.value;
  return { rule_name: name, conditions, alert_config: alertConfig };
}

/** A whole number within the field's bounds, or a FieldError in words. */
function wholeNumber(input, key, unit = '') {
  const [min, max] = BOUNDS[key];
  const text = input.value.trim();
  const value = Number(text);
  if (text === '' || !Number.isInteger(value) || value < min || value > max) {
    const of = unit ? ` of ${unit}` : '';
    throw new FieldError(input, `${LABELS[key]}: must be a whole number${of} between ${grouped(min)} and ${grouped(max)}.`);
  }
  return value;
}

// ---- the server's errors, next to the field they name

/** A 409 (the name is taken) or a 422 naming a field: next to that field, in words; else under the form. */
function apiError(form, status, err) {
  if (err.status === 409) {
    return showError(form.elements.rule_name, 'Name: another rule already has this name; choose another.');
  }
  const { field, message } = splitDetail(err.message);
  const key = field.replace(/\[\d+\]/g, '').split('.').pop();
  const control = form.querySelector(`[data-key="${key === 'metric' ? 'threshold' : key}"]`);
  if (err.status === 422 && control) return showError(control, words(LABELS[key] ?? key, message));
  setStatus(status, sentence(err.message), true);
}

/** Shows `text` as the error of `control` (or a group: focuses its first box) and marks it invalid. */
function showError(control, text) {
  const error = fieldErrorOf(control);
  if (error) setStatus(error, text, true);
  control.setAttribute('aria-invalid', 'true');
  (control.matches('fieldset') ? control.querySelector('input') : control).focus();
}

function clearError(control) {
  const owner = control.closest('fieldset.choices') ?? control;
  const error = fieldErrorOf(owner);
  if (error) error.textContent = '';
  owner.removeAttribute('aria-invalid');
  control.removeAttribute('aria-invalid');
}

function clearErrors(form) {
  for (const el of $$('.field-error', form)) el.textContent = '';
  for (const el of $$('[aria-invalid]', form)) el.removeAttribute('aria-invalid');
}

// ---- advanced: the raw JSON

function jsonEditor(article, rule, field) {
  const form = article.querySelector(`form[data-field="${field}"]`);
  const textarea = form.querySelector('textarea');
  const error = form.querySelector('.field-error');
  const id = `rule-${rule.id}-${field}`;
  textarea.id = id;
  textarea.name = field;
  form.querySelector('label').htmlFor = id;
  error.id = `${id}-error`;
  textarea.setAttribute('aria-describedby', error.id);
  textarea.value = pretty(rule[field]);

  const showJsonError = (text) => {
    setStatus(error, text, Boolean(text));
    if (text) textarea.setAttribute('aria-invalid', 'true');
    else textarea.removeAttribute('aria-invalid');
  };
  textarea.addEventListener('input', () => showJsonError(''));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    showJsonError('');
    let value;
    try {
      value = JSON.parse(textarea.value);
    } catch (err) {
      return showJsonError(`Not valid JSON: ${err.message}`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return showJsonError('Must be a JSON object, like {"key": "value"}.');
    }
    try {
      const updated = await api('PATCH', `/api/v1/alerts/rules/${rule.id}`, { [field]: value });
      const what = field === 'conditions' ? 'conditions' : 'alert settings';
      const fresh = card(updated, { status: `Saved ${what}.`, open: 'json' });
      article.replaceWith(fresh);
      fresh.querySelector(`form[data-field="${field}"] textarea`).focus();
    } catch (err) {
      showJsonError(err.message);
      textarea.focus();
    }
  });
}

const pretty = (value) => JSON.stringify(value ?? {}, null, 2);
