// Preferences (on the Settings page): the caller's time zone, quiet hours per
// weekday (periods typed as "19:00-24:00, 00:00-08:00", as the SLA calendars
// take them), do not disturb (for 1 hour, until tomorrow 09:00, until a time,
// or off) and whether what waited comes as one summary or each in turn.
// GET/PUT /api/v1/me/preferences; a 422 `detail` ("field: message") is shown
// next to its field, in words. Times typed here are in the chosen zone.

import { api } from './api.js';
import {
  $,
  clearErrorsOnInput,
  clearFieldErrors,
  h,
  parsePeriods,
  sentence,
  setStatus,
  showFieldError,
  splitDetail,
  words,
} from './dom.js';

const DAYS = [
  ['mon', 'Monday'],
  ['tue', 'Tuesday'],
  ['wed', 'Wednesday'],
  ['thu', 'Thursday'],
  ['fri', 'Friday'],
  ['sat', 'Saturday'],
  ['sun', 'Sunday'],
];
const DAY_NAMES = Object.fromEntries(DAYS);

let bound = false;
/** The preferences last read or saved. */
let current = null;

export async function showPreferences() {
  if (!bound) {
    bound = true;
    bind();
  }
  const status = $('#prefs-status');
  try {
    current = await api('GET', '/api/v1/me/preferences');
    render(current);
    setStatus(status, '');
  } catch (err) {
    setStatus(status, sentence(err.message), true);
  }
}

function bind() {
  const form = $('#prefs-form');
  $('#prefs-days').replaceChildren(
    ...DAYS.map(([key, label]) =>
      h(
        'div',
        { className: 'day-row' },
        h('label', { htmlFor: `prefs-day-${key}` }, label),
        h('input', {
          id: `prefs-day-${key}`,
          name: `day-${key}`,
          placeholder: 'Reachable all day',
          autocomplete: 'off',
          spellcheck: false,
        }),
        h('p', { className: 'error field-error', id: `prefs-day-${key}-error`, role: 'alert' }),
      ),
    ),
  );
  for (const [key] of DAYS) {
    $(`#prefs-day-${key}`).setAttribute('aria-describedby', `prefs-week-hint prefs-day-${key}-error`);
  }
  clearErrorsOnInput(form);
  $('#prefs-dnd-until').addEventListener('input', () => {
    form.elements.dnd.value = 'custom';
  });
  form.addEventListener('submit', save);
}

function zoneOptions(prefs) {
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  const all = new Set(['UTC', ...zones]);
  if (!prefs.time_zone_is_default) all.add(prefs.time_zone);
  const organisation = prefs.time_zone_is_default ? prefs.time_zone : null;
  const label = organisation ? `The organisation’s (${organisation})` : 'The organisation’s';
  const first = h('option', { value: '' }, label);
  return [first, ...[...all].sort().map((zone) => h('option', { value: zone }, zone.replaceAll('_', ' ')))];
}

function render(prefs) {
  const form = $('#prefs-form');
  const zone = $('#prefs-zone');
  zone.replaceChildren(...zoneOptions(prefs));
  zone.value = prefs.time_zone_is_default ? '' : prefs.time_zone;
  for (const [key] of DAYS) {
    const periods = prefs.quiet_hours[key] ?? [];
    $(`#prefs-day-${key}`).value = periods.map(([from, to]) => `${from}-${to}`).join(', ');
  }
  const active = prefs.dnd_until && Date.parse(prefs.dnd_until) > Date.now();
  $('#prefs-dnd-state').textContent = active
    ? `Do not disturb is on until ${inZone(prefs.dnd_until, prefs.time_zone)}.`
    : 'Do not disturb is off.';
  form.elements.dnd.value = 'keep';
  $('#prefs-dnd-until').value = '';
  form.elements.quiet_hours_delivery.value = prefs.quiet_hours_delivery;
}

/** "Mon 7 Dec, 09:40 (Europe/Berlin)": a time as the reader reads it. */
function inZone(iso, zone) {
  const format = new Intl.DateTimeFormat(undefined, {
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
    timeZone: zone,
  });
  return `${format.format(new Date(iso))} (${zone})`;
}

/** Milliseconds `zone` is ahead of UTC at the instant `ms`. */
function offsetAt(ms, zone) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(ms));
  const get = (type) => Number(parts.find((p) => p.type === type)?.value);
  return Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second')) - ms;
}

/** The UTC instant of a wall-clock time (y, m, d, hh, mm) in `zone`. */
function wallClock(zone, year, month, day, hour, minute) {
  const naive = Date.UTC(year, month, day, hour, minute);
  let guess = naive - offsetAt(naive, zone);
  guess = naive - offsetAt(guess, zone);
  return new Date(guess);
}

/** Tomorrow 09:00 in `zone`. */
function tomorrowNine(zone) {
  const now = Date.now();
  const local = new Date(now + offsetAt(now, zone));
  return wallClock(zone, local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate() + 1, 9, 0);
}

/** The field a server error names, as a control and the words for it. */
function controlOf(field) {
  const form = $('#prefs-form');
  if (field === 'time_zone') return [form.elements.time_zone, 'Time zone'];
  if (field === 'dnd_until') return [$('#prefs-dnd-until'), 'Do not disturb'];
  if (field === 'quiet_hours_delivery') return [form.elements.quiet_hours_delivery[0], 'When quiet hours end'];
  const day = /^quiet_hours\.([a-z]+)(?:\[(\d+)\])?$/.exec(field);
  if (day && DAY_NAMES[day[1]]) {
    const where = day[2] === undefined ? DAY_NAMES[day[1]] : `${DAY_NAMES[day[1]]}, period ${Number(day[2]) + 1}`;
    return [$(`#prefs-day-${day[1]}`), where];
  }
  if (field.startsWith('quiet_hours')) return [$('#prefs-day-mon'), 'Quiet hours'];
  return [null, ''];
}

async function save(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const status = $('#prefs-status');
  clearFieldErrors(form);
  setStatus($('#prefs-week-error'), '');
  status.classList.remove('is-ok');
  setStatus(status, '');
  const zoneChoice = form.elements.time_zone.value;
  const zone = zoneChoice || current?.time_zone || 'UTC';
  const body = { time_zone: zoneChoice || null, quiet_hours_delivery: form.elements.quiet_hours_delivery.value };
  const quiet = {};
  for (const [key, label] of DAYS) {
    const input = $(`#prefs-day-${key}`);
    try {
      const periods = parsePeriods(input.value, label, '19:00-24:00');
      if (periods.length) quiet[key] = periods;
    } catch (err) {
      return showFieldError(input, err.message);
    }
  }
  body.quiet_hours = quiet;
  const dnd = form.elements.dnd.value;
  if (dnd === 'off') body.dnd_until = null;
  if (dnd === '1h') body.dnd_until = new Date(Date.now() + 3600_000).toISOString();
  if (dnd === 'tomorrow') body.dnd_until = tomorrowNine(zone).toISOString();
  if (dnd === 'custom') {
    const input = $('#prefs-dnd-until');
    const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(input.value);
    if (!match) return showFieldError(input, 'Do not disturb: choose the date and time it ends.');
    const [, y, m, d, hh, mm] = match.map(Number);
    const until = wallClock(zone, y, m - 1, d, hh, mm);
    if (until.getTime() <= Date.now()) return showFieldError(input, 'Do not disturb: choose a time in the future.');
    body.dnd_until = until.toISOString();
  }
  const button = $('#prefs-submit');
  button.disabled = true;
  try {
    current = await api('PUT', '/api/v1/me/preferences', body);
    render(current);
    setStatus(status, 'Preferences saved.');
    status.classList.add('is-ok');
  } catch (err) {
    const { field, message } = splitDetail(err.message);
    const [control, where] = err.status === 422 ? controlOf(field) : [null, ''];
    if (control) return showFieldError(control, words(where, message));
    setStatus(status, sentence(err.message), true);
  } finally {
    button.disabled = false;
  }
}
