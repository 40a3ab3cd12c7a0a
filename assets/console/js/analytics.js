// Analytics (alerts.manage, alerts.team): GET /api/v1/alerts/stats over a date range of the reader's zone,
// as summary figures, uPlot charts (per day by severity; by type; by
// severity), a data table under each chart, and the per-staff table. The
// per-day chart starts at the first day with alerts (a short history is not
// drawn as weeks of zeros); every date reads the same way ("12 Mar 2025"), in
// the reader's language, of the days the server counts in the reader's zone.
//
// uPlot 1.6.32 (MIT) is vendored in /console/vendor/uplot-1.6.32/ and loaded
// the first time this page opens.

import { api } from './api.js';
import {
  $,
  ALERT_TYPES,
  SEVERITIES,
  capitalize,
  formatDuration,
  formatPercent,
  h,
  setStatus,
  table,
  typeLabel,
} from './dom.js';

export const needs = 'alerts.manage|alerts.team';
export const title = 'analytics';

const UPLOT_SRC = '/console/vendor/uplot-1.6.32/uPlot.iife.min.js';
const DAY_MS = 86_400_000;
/** Severity colours (each at least 4.5:1 on white) and dash patterns, so lines differ without colour too. */
const STYLE = {
  critical: { color: '#b91c1c', dash: [] },
  warning: { color: '#b45309', dash: [8, 4] },
  info: { color: '#1d4ed8', dash: [2, 3] },
};
const SHORT_TYPE = {
  sla_breach: 'SLA breach',
  sla_at_risk: 'SLA risk',
  critical_complaint: 'Critical',
  high_workload: 'Workload',
};

let charts = [];
let uplotLoading = null;
let bound = false;

export async function show() {
  const form = $('#stats-range');
  if (!bound) {
    bound = true;
    const today = new Date();
    form.elements.to.value = isoDate(today);
    form.elements.from.value = isoDate(new Date(today.getTime() - 29 * DAY_MS));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      load();
    });
    new ResizeObserver(() => resizeCharts()).observe($('#view-analytics'));
  }
  await load();
}

/** The reader's calendar date of `date`, as `YYYY-MM-DD`. */
const isoDate = (date) =>
  `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}-${String(date.getDate()).padStart(2, '0')}`;

/** One way to write a day everywhere on this page: "12 Mar 2025" (a calendar date: formatted as such, whatever the zone). */
const dayFormat = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
/** The chart's axis: "12 Mar". */
const axisFormat = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' });
/** "2025-03-12" (or a Date, or seconds since the epoch) → "12 Mar 2025". */
const dayText = (day) =>
  dayFormat.format(typeof day === 'number' ? day * 1000 : typeof day === 'string' ? Date.parse(`${day}T00:00:00Z`) : day);

/** The days from the first one with an alert; all of them when none has any. */
function fromFirstAlert(days) {
  const first = days.findIndex((d) => d.total > 0);
  return first > 0 ? days.slice(first) : days;
}

function loadUplot() {
  uplotLoading ??= new Promise((resolve, reject) => {
    const script = Object.assign(document.createElement('script'), { src: UPLOT_SRC });
    script.addEventListener('load', resolve);
    script.addEventListener('error', () => {
      uplotLoading = null;
      reject(new Error('The chart library failed to load.'));
    });
    document.head.append(script);
  });
  return uplotLoading;
}

async function load() {
  const form = $('#stats-range');
  const status = $('#stats-status');
  const from = form.elements.from.value;
  const to = form.elements.to.value;
  if (!from || !to || from > to) {
    setStatus(status, 'Choose a start date on or before the end date.', true);
    return;
  }
  // The reader's days: from the start date's local midnight up to the one after
  // the (inclusive) end date, counted by the server in the reader's zone.
  const localMidnight = (day, plusDays = 0) => {
    const date = new Date(`${day}T00:00:00`);
    date.setDate(date.getDate() + plusDays);
    return date.toISOString();
  };
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  const query = new URLSearchParams({ from: localMidnight(from), to: localMidnight(to, 1), time_zone: zone });
  setStatus(status, 'Loading…');
  try {
    const [stats] = await Promise.all([api('GET', `/api/v1/alerts/stats?${query}`), loadUplot()]);
    renderSummary(stats);
    renderCharts(stats);
    renderStaff(stats);
    const whose = { all: 'All staff', team: 'Your team (you and the staff you supervise)' }[stats.scope] ?? 'Your alerts';
    setStatus(status, `${whose}, ${dayText(from)} to ${dayText(to)} (days in ${stats.time_zone}).`);
  } catch (err) {
    setStatus(status, err.message, true);
  }
}

function renderSummary(stats) {
  const tile = (label, value) => h('div', { className: 'tile' }, h('dt', {}, label), h('dd', {}, value));
  const pair = ({ p50, p90 }) => `${formatDuration(p50)} / ${formatDuration(p90)}`;
  $('#stats-summary').replaceChildren(
    tile('Alerts', stats.total),
    tile('Read', formatPercent(stats.read_rate)),
    tile('Dismissed', formatPercent(stats.dismiss_rate)),
    tile('Time to read (median / 90th)', pair(stats.time_to_read_seconds)),
    tile('Time to dismiss (median / 90th)', pair(stats.time_to_dismiss_seconds)),
  );
}

function renderCharts(stats) {
  for (const chart of charts) chart.destroy();
  const days = fromFirstAlert(stats.per_day);
  perDayNote(stats.per_day, days);
  charts = [
    perDayChart($('#chart-per-day'), days),
    barChart($('#chart-by-type'), ALERT_TYPES.map((t) => SHORT_TYPE[t]), ALERT_TYPES.map((t) => stats.by_type[t] ?? 0), '#4338ca', 'Alerts'),
    barChart($('#chart-by-severity'), SEVERITIES.map(capitalize), SEVERITIES.map((s) => stats.by_severity[s] ?? 0), SEVERITIES.map((s) => STYLE[s].color), 'Alerts'),
  ];
  $('#table-per-day').replaceChildren(
    table('Alerts per day', ['Date', 'Total', ...SEVERITIES.map(capitalize)], days.map((d) => [dayText(d.date), d.total, ...SEVERITIES.map((s) => d[s])])),
  );
  $('#table-by-type').replaceChildren(table('Alerts by type', ['Type', 'Alerts'], ALERT_TYPES.map((t) => [typeLabel(t), stats.by_type[t] ?? 0])));
  $('#table-by-severity').replaceChildren(
    table('Alerts by severity', ['Severity', 'Alerts'], SEVERITIES.map((s) => [capitalize(s), stats.by_severity[s] ?? 0])),
  );
}

/** Under the per-day chart: where it starts, when that is later than the range. */
function perDayNote(all, shown) {
  let note = $('#per-day-note');
  if (!note) {
    note = h('p', { className: 'hint small', id: 'per-day-note' });
    $('#chart-per-day').before(note);
  }
  if (!all.some((d) => d.total > 0)) note.textContent = 'No alerts in this range.';
  else if (shown.length < all.length) note.textContent = `From ${dayText(shown[0].date)}, the first day with alerts.`;
  else note.textContent = '';
}

const chartWidth = (el) => Math.max(240, el.clientWidth);
const countAxis = { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000], size: 44 };
const fromZero = (u, min, max) => [0, Math.max(4, Math.ceil(max * 1.1))];

function perDayChart(el, days) {
  const xs = days.map((d) => Date.parse(`${d.date}T00:00:00Z`) / 1000);
  const series = SEVERITIES.map((severity) => ({
    label: capitalize(severity),
    stroke: STYLE[severity].color,
    dash: STYLE[severity].dash,
    width: 2,
    points: { size: 5 },
  }));
  const options = {
    width: chartWidth(el),
    height: 260,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    // One day alone gets half a day either side, so it is drawn in the middle.
    scales: { x: { range: (u, min, max) => (min === max ? [min - 43_200, max + 43_200] : [min, max]) }, y: { range: fromZero } },
    axes: [
      {
        // Ticks on whole days only, written like the rest of the page.
        incrs: [1, 2, 7, 14, 28, 56, 91, 182, 364].map((n) => n * 86_400),
        values: (u, splits) => splits.map((ts) => axisFormat.format(ts * 1000)),
      },
      countAxis,
    ],
    series: [{ label: 'Day', value: (u, ts) => (ts === null || ts === undefined ? '' : dayText(ts)) }, ...series],
    legend: { live: false },
  };
  return new uPlot(options, [xs, ...SEVERITIES.map((s) => days.map((d) => d[s]))], el);
}

/** One bar per label; `color` is one colour or one per bar. */
function barChart(el, labels, values, color, name) {
  const xs = labels.map((_, i) => i);
  const colorOf = (i) => (Array.isArray(color) ? color[i] : color);
  const options = {
    width: chartWidth(el),
    height: 240,
    scales: { x: { time: false, range: [-0.5, labels.length - 0.5] }, y: { range: fromZero } },
    axes: [{ splits: () => xs, values: (u, splits) => splits.map((i) => labels[i] ?? ''), grid: { show: false } }, countAxis],
    series: [
      { label: 'Category', value: (u, i) => labels[i] ?? '' },
      {
        label: name,
        stroke: colorOf(0),
        fill: colorOf(0),
        paths: uPlot.paths.bars({ size: [0.6, 72], disp: { fill: { unit: 3, values: () => xs.map(colorOf) }, stroke: { unit: 3, values: () => xs.map(colorOf) } } }),
        points: { show: false },
      },
    ],
    legend: { show: false },
    cursor: { points: { show: false } },
  };
  return new uPlot(options, [xs, values], el);
}

function resizeCharts() {
  if ($('#view-analytics').hidden) return;
  for (const chart of charts) {
    const width = chartWidth(chart.root.parentElement);
    if (width !== chart.width) chart.setSize({ width, height: chart.height });
  }
}

function renderStaff(stats) {
  const rows = stats.per_staff.map((s) =>
    h(
      'tr',
      {},
      h('th', { scope: 'row' }, s.full_name || `Staff #${s.staff_id}`),
      h('td', { className: 'num' }, s.alerts),
      h('td', { className: 'num' }, s.unread),
      h('td', { className: 'num' }, formatDuration(s.median_time_to_read_seconds)),
    ),
  );
  if (!rows.length) rows.push(h('tr', {}, h('td', { colSpan: 4 }, 'No alerts in this range.')));
  $('#per-staff tbody').replaceChildren(...rows);
}
