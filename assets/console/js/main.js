// The console's shell: sign-in and sign-out, the header (navigation by
// permission, unread badge, live-feed state) and hash routing between views.

import { api, session, whenUnauthorized } from './api.js';
import { $, $$, announce, capitalize, h, setStatus } from './dom.js';
import { LiveFeed } from './live.js';
import * as inbox from './inbox.js';
import * as settings from './settings.js';
import * as rules from './rules.js';
import * as analytics from './analytics.js';
import * as sla from './sla.js';
import * as complaints from './complaints.js';

/**
 * Each view module exports `needs` (a permission), `title` and `show(context)`,
 * and may export `roles` (the roles it is for, besides the permission).
 */
const VIEWS = { inbox, settings, sla, rules, analytics, team: settings.teamView };
// The complaints list, and one complaint at `#/complaints/{id}` (see `route`).
Object.assign(VIEWS, { complaints, complaint: complaints.complaintView });
const NOTICE_KEY = 'convergeai-alerts.notice';

const live = new LiveFeed();
const context = { me: null, live, setBadge, can };

/** Whether the signed-in user holds `permission` (or any of `a|b`). */
function can(permission) {
  return permission.split('|').some((p) => context.me?.permissions.includes(p) ?? false);
}

/** Whether the signed-in user has `needs` and, when `roles` lists any, one of those roles. */
function allowed(needs, roles) {
  return can(needs) && (!roles?.length || roles.includes(context.me.role));
}

function setBadge(count) {
  $('#badge-count').textContent = String(count);
  $('#badge').classList.toggle('has-unread', count > 0);
}

function showOnly(sectionId) {
  for (const section of $$('main > section.view')) section.hidden = section.id !== sectionId;
}

// ---- signed out ----

function showSignIn() {
  $('#topbar').hidden = true;
  showOnly('view-signin');
  document.title = 'Sign in · ConvergeAI Alerts';
  const notice = sessionStorage.getItem(NOTICE_KEY);
  sessionStorage.removeItem(NOTICE_KEY);
  setStatus($('#signin-notice'), notice ?? '');
  $('#signin-email').focus();
  showDemoAccounts();
}

/**
 * A demo server (`serve --demo`) lists its accounts and their password under
 * the form; choosing one fills the form in. Other servers list none: nothing shows.
 */
async function showDemoAccounts() {
  const box = $('#demo-accounts');
  let demo;
  try {
    demo = await api('GET', '/api/v1/auth/demo-accounts');
  } catch {
    return;
  }
  if (!demo?.password || !demo.accounts?.length) return;
  $('#demo-password').textContent = demo.password;
  $('#demo-list').replaceChildren(
    ...demo.accounts.map((account) => {
      const showsId = `demo-shows-${account.email.replace(/\W/g, '-')}`;
      const use = h('button', { type: 'button', className: 'secondary demo-use' }, account.email);
      use.dataset.email = account.email;
      use.setAttribute('aria-describedby', showsId);
      use.addEventListener('click', () => {
        const form = $('#signin-form');
        form.elements.email.value = account.email;
        form.elements.password.value = demo.password;
        form.querySelector('button[type=submit]').focus();
      });
      return h(
        'li',
        {},
        use,
        h('span', { className: 'tag' }, capitalize(account.role)),
        h('span', { className: 'demo-shows', id: showsId }, capitalize(account.shows)),
      );
    }),
  );
  box.hidden = false;
}

$('#signin-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const error = $('#signin-error');
  const button = form.querySelector('button');
  error.textContent = '';
  button.disabled = true;
  try {
    const { access_token } = await api('POST', '/api/v1/auth/login', {
      email: form.elements.email.value.trim(),
      password: form.elements.password.value,
    });
    session.token = access_token;
    form.reset();
    await startSession();
  } catch (err) {
    error.textContent = err.status === 401 ? 'Wrong email or password.' : err.message;
    form.elements.password.select();
  } finally {
    button.disabled = false;
  }
});

let signingOut = false;

/**
 * Forgets the token and reloads, so nothing of this user stays in memory;
 * `notice` is shown on the sign-in page. Once: later calls (a 401 or a
 * closed live feed on the way out) change nothing.
 */
function signOut(notice) {
  if (signingOut) return;
  signingOut = true;
  live.stop();
  session.token = null;
  if (notice) sessionStorage.setItem(NOTICE_KEY, notice);
  location.replace(location.pathname);
}

/** How long the sign-out button waits for the server before forgetting the token anyway. */
const LOGOUT_WAIT_MS = 5000;

/**
 * The Sign out button: the server refuses this token from now on (on every
 * instance), then the tab forgets it. When the server cannot be reached the
 * tab forgets it all the same, and says the session may still be valid.
 */
async function signOutEverywhere() {
  const button = $('#sign-out');
  button.disabled = true;
  button.textContent = 'Signing out…';
  live.stop();
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), LOGOUT_WAIT_MS));
  try {
    await Promise.race([api('POST', '/api/v1/auth/logout'), timeout]);
    signOut('You are signed out.');
  } catch (err) {
    // 401: the token had already ended, which is what signing out wants.
    signOut(
      err.status === 401
        ? 'You are signed out.'
        : 'You are signed out in this tab. The server could not be told, so the session stays valid until it expires.',
    );
  }
}

$('#sign-out').addEventListener('click', signOutEverywhere);
whenUnauthorized(() => signOut('Your session has ended. Please sign in again.'));
live.addEventListener('expired', (event) =>
  signOut(
    event.detail?.reason === 'account deactivated'
      ? 'Your account was deactivated. Ask an administrator if you need access again.'
      : 'Your session has ended. Please sign in again.',
  ),
);

// ---- signed in ----

async function startSession() {
  try {
    context.me = await api('GET', '/api/v1/auth/me');
  } catch (err) {
    if (err.status !== 401) {
      session.token = null;
      showSignIn();
      setStatus($('#signin-notice'), err.message, true);
    }
    return;
  }
  // The person by name, with their role; the email on hover.
  const who = $('#whoami');
  who.replaceChildren(
    h('span', { className: 'who-name' }, context.me.full_name || context.me.email),
    h('span', { className: 'who-role' }, capitalize(context.me.role)),
  );
  who.title = `Signed in as ${context.me.email}`;
  who.dataset.email = context.me.email;
  for (const item of $$('[data-needs]')) item.hidden = !allowed(item.dataset.needs, item.dataset.roles?.split(' '));
  $('#topbar').hidden = false;
  if (can('alerts.read')) {
    $('#live-state').textContent = 'Connecting…';
    live.start();
    api('GET', '/api/v1/alerts/unread/count').then(({ unread_count }) => setBadge(unread_count), () => {});
  }
  route();
}

live.addEventListener('unread_count', (event) => setBadge(event.detail.unread_count));
live.addEventListener('alert.created', (event) => {
  const { severity, title } = event.detail.alert;
  // A snoozed alert coming back is not a new one.
  announce(event.detail.woken ? `Back from snooze: ${title}` : `New ${severity} alert: ${title}`);
});
live.addEventListener('state', (event) => {
  const state = $('#live-state');
  state.dataset.state = event.detail.connected ? 'on' : 'off';
  state.textContent = event.detail.connected ? 'Live' : 'Reconnecting…';
});

function route() {
  if (!session.token || !context.me) return;
  if (!can('alerts.read')) {
    showOnly('');
    $('#main').replaceChildren(Object.assign(document.createElement('p'), {
      className: 'notice',
      textContent: 'This account has no access to alerts.',
    }));
    return;
  }
  let name = location.hash.replace(/^#\/?/, '');
  // `#/complaints/123`: the `complaint` view, given the id.
  const [, complaintId] = /^complaints\/(\d+)$/.exec(name) ?? [];
  if (complaintId) name = 'complaint';
  const view = VIEWS[name];
  if (!view || !allowed(view.needs, view.roles)) {
    location.replace('#/inbox');
    return;
  }
  showOnly(`view-${name}`);
  for (const link of $$('a[data-route]')) {
    if (link.dataset.route === (view.nav ?? name)) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.title = `${capitalize(view.title)} · ConvergeAI Alerts`;
  // Move focus to the new page's heading, so keyboard and screen-reader users start there.
  $(`#view-${name} h1`).focus();
  view.show(context, complaintId);
}

window.addEventListener('hashchange', route);

$('#skip-link').addEventListener('click', (event) => {
  event.preventDefault();
  $('#main').focus();
});

if (session.token) startSession();
else showSignIn();
