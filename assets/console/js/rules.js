// Rules (alerts.manage): enable/disable, and edit `conditions` and
// `alert_config` as JSON. A 422 from the server is shown next to its field.

import { api } from './api.js';
import { $, capitalize, fromTemplate, setStatus } from './dom.js';

export const needs = 'alerts.manage';
export const title = 'rules';

const FIELDS = ['conditions', 'alert_config'];

export async function show() {
  const status = $('#rules-status');
  try {
    const rules = await api('GET', '/api/v1/alerts/rules');
    $('#rule-list').replaceChildren(...rules.map(card));
    setStatus(status, rules.length ? '' : 'There are no rules.');
  } catch (err) {
    setStatus(status, err.message, true);
  }
}

function card(rule) {
  const article = fromTemplate('tpl-rule');
  article.id = `rule-${rule.id}`;
  article.dataset.rule = rule.rule_name;
  const heading = article.querySelector('.rule-name');
  heading.id = `rule-${rule.id}-name`;
  heading.textContent = rule.rule_name;
  article.setAttribute('aria-labelledby', heading.id);
  article.querySelector('.rule-type').textContent = `${capitalize(rule.rule_type)} rule`;

  const message = article.querySelector('.rule-status');
  const toggle = article.querySelector('.rule-enabled');
  toggle.checked = rule.is_enabled;
  toggle.setAttribute('aria-describedby', heading.id);
  toggle.addEventListener('change', async () => {
    const action = toggle.checked ? 'enable' : 'disable';
    toggle.disabled = true;
    try {
      const updated = await api('PUT', `/api/v1/alerts/rules/${rule.id}/${action}`);
      toggle.checked = updated.is_enabled;
      setStatus(message, updated.is_enabled ? 'Enabled.' : 'Disabled.');
    } catch (err) {
      toggle.checked = !toggle.checked;
      setStatus(message, err.message, true);
    } finally {
      toggle.disabled = false;
    }
  });

  for (const field of FIELDS) jsonEditor(article, rule, field);
  return article;
}

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

  const showError = (text) => {
    setStatus(error, text, Boolean(text));
    if (text) textarea.setAttribute('aria-invalid', 'true');
    else textarea.removeAttribute('aria-invalid');
  };
  textarea.addEventListener('input', () => showError(''));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    showError('');
    let value;
    try {
      value = JSON.parse(textarea.value);
    } catch (err) {
      return showError(`Not valid JSON: ${err.message}`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return showError('Must be a JSON object, like {"key": "value"}.');
    }
    try {
      const updated = await api('PATCH', `/api/v1/alerts/rules/${rule.id}`, { [field]: value });
      rule[field] = updated[field];
      textarea.value = pretty(updated[field]);
      setStatus(article.querySelector('.rule-status'), `Saved ${field === 'conditions' ? 'conditions' : 'alert settings'}.`);
    } catch (err) {
      showError(err.message);
      textarea.focus();
    }
  });
}

const pretty = (value) => JSON.stringify(value ?? {}, null, 2);
