// Settings: the caller's subscription per alert type (on/off and channels).
// A type without a saved subscription is delivered in the app only.

import { api } from './api.js';
import { $, ALERT_TYPES, formatDateTime, fromTemplate, setStatus, typeLabel } from './dom.js';

export const needs = 'alerts.read';
export const title = 'settings';

const DEFAULT = { is_enabled: true, delivery_channels: ['in_app'] };

export async function show() {
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
