// lib.mjs - what the browser tests share: the stack's settings from the
// environment, Debian's chromium launched by playwright-core so that only the
// stack under test is reachable, a fresh page per test with axe-core and a
// Content-Security-Policy violation recorder, the serious/critical
// accessibility and CSP check of a page, signing in through the form,
// navigating and posting forms, the NHS error summary's checks, and the JSON
// API called from inside a page (to set up a person of one's own).
//
// Not a test file itself: node --test runs only *.test.mjs and the like.

import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const AXE = path.join(ROOT, 'node_modules', 'axe-core', 'axe.min.js');

// The first line of the demo logins file ("role username password site")
// matching want, { role } or { username }, as { username, password }.
export function readLogin(file, want) {
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [role, username, password] = line.trim().split(/\s+/);
    if (username && password &&
        (want.role === undefined || role === want.role) &&
        (want.username === undefined || username === want.username))
      return { username, password };
  }
  throw new Error(want.username !== undefined
    ? `no line for ${want.username} in ${file}`
    : `no "${want.role}" line in ${file}`);
}

// The stack under test from CPA_BASE_URL and CPA_DEMO_LOGINS (set by
// ./dev test): { base (no trailing slash), login (readLogin with want) }.
// Throws, saying what is missing, when either is not set.
export function stackFromEnv(want) {
  if (!process.env.CPA_BASE_URL)
    throw new Error('CPA_BASE_URL is not set: start the stack and run the ' +
      'browser test through "./dev test" (or export CPA_BASE_URL and CPA_DEMO_LOGINS)');
  if (!process.env.CPA_DEMO_LOGINS)
    throw new Error('CPA_DEMO_LOGINS is not set: it names the demo logins file');
  const base = process.env.CPA_BASE_URL.replace(/\/+$/, '');
  return { base, login: readLogin(process.env.CPA_DEMO_LOGINS, want) };
}

// Headless /usr/bin/chromium that can resolve no host but base's.
export async function launchBrowser(base) {
  const host = new URL(base).hostname;
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
      '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
      // Nothing but the stack under test may be reached.
      `--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE ${host}`],
  });
}

// Runs fn(page) in a fresh context (no cookies) of browser.  Every document
// gets a recorder of CSP violations and axe-core before any of its own
// scripts run: the page's CSP (script-src 'self') would refuse axe injected
// as a <script> tag, and tests must see the CSP exactly as users do.  On
// failure a screenshot browser-<name>.png goes to CPA_VAR (the test stack's
// state directory) when it is set.
export async function withPage(browser, name, fn) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.addInitScript(() => {
    window.cpaCspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.cpaCspViolations.push(`${e.effectiveDirective} ${e.blockedURI}`);
    });
  });
  await page.addInitScript({ path: AXE });
  try {
    await fn(page);
  } catch (err) {
    if (process.env.CPA_VAR)
      await page.screenshot({ path: path.join(process.env.CPA_VAR,
        `browser-${name}.png`), fullPage: true }).catch(() => {});
    throw err;
  } finally {
    await context.close();
  }
}

// Asserts the current page (described as what) has no serious or critical
// axe-core violations and no CSP violation except NHS.UK frontend's web font,
// which its stylesheet names on assets.nhs.uk and the policy rightly blocks
// (the font falls back to Arial).
export async function checkPage(page, what) {
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.impact} ${v.id}: ${v.help} at ` +
        v.nodes.map((n) => n.target.join(' ')).join(', '));
  });
  assert.deepEqual(violations, [], `${what}: accessibility violations`);
  const csp = await page.evaluate(() => window.cpaCspViolations
    .filter((v) => !v.startsWith('font-src ')));
  assert.deepEqual(csp, [], `${what}: Content-Security-Policy violations`);
}

// Opens base's sign-in page and asserts it is there.
export async function openSignin(page, base) {
  const resp = await page.goto(`${base}/signin`);
  assert.equal(resp.status(), 200, 'GET /signin');
  assert.match(await page.title(), /Sign in - CPA suite/);
}

// Types into the open sign-in form and submits it with the Enter key, as a
// keyboard user does; returns the response to the POST.
export async function submitSignin(page, username, password) {
  await page.fill('#username', username);
  await page.fill('#password', password);
  return postFrom(page, '/signin', () => page.press('#password', 'Enter'));
}

// Signs in as login ({ username, password }) through the form and waits for
// the home page.  The form posts with the browser's own Origin header (which
// is "null" if the page's Referrer-Policy is no-referrer: the server must see
// our origin).
export async function signIn(page, base, login) {
  await openSignin(page, base);
  const resp = await submitSignin(page, login.username, login.password);
  assert.equal(resp.status(), 303, 'POST /signin with the right password');
  await page.waitForURL(`${base}/`);
}

// Opens base + path and asserts it answers 200 (what names the page).
export async function goto(page, base, path, what) {
  const resp = await page.goto(`${base}${path}`);
  assert.equal(resp.status(), 200, `GET ${path} (${what})`);
}

// Does action (a locator to click, or a function) and waits for the POST
// to pathname it sends and for the page it leads to; returns the POST's
// response.
export async function postFrom(page, pathname, action) {
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' &&
      new URL(r.url()).pathname === pathname),
    typeof action === 'function' ? action() : action.click(),
  ]);
  await page.waitForLoadState('load');
  return resp;
}

// Asserts the page shows the NHS error summary ("There is a problem") and
// that NHS.UK frontend (started by /assets/app/app.js) has moved focus to
// it, so that screen readers announce it; returns the summary's locator.
export async function errorSummary(page) {
  const summary = page.locator('.nhsuk-error-summary');
  await summary.waitFor({ state: 'visible', timeout: 5000 });
  assert.match(await summary.innerText(), /There is a problem/);
  await page.waitForFunction(() => document.activeElement &&
    document.activeElement.closest('.nhsuk-error-summary') !== null,
  null, { timeout: 5000 }).catch(() => {
    assert.fail('focus did not move to the error summary');
  });
  return summary;
}

// The error messages of the form group that holds control (a selector).
export const fieldError = (page, control) => page.locator('.nhsuk-form-group--error')
  .filter({ has: page.locator(control) })
  .locator('.nhsuk-error-message');

// The JSON API from inside the page: its session cookie, the browser's own
// Origin and, on anything but GET, the CSRF token of the page's own forms
// (every signed-in page has one in its sign-out form) and a fresh
// Idempotency-Key.  Returns { status, body } (body { unparsed } when the
// answer is not JSON).
export async function api(page, method, path, body) {
  return page.evaluate(async ([m, p, b, key]) => {
    const headers = { Accept: 'application/json' };
    if (m !== 'GET') {
      const csrf = document.querySelector('input[name="csrf_token"]');
      if (csrf === null)
        throw new Error(`no csrf_token input on ${location.pathname}`);
      headers['X-CSRF-Token'] = csrf.value;
      headers['Content-Type'] = 'application/json';
      headers['Idempotency-Key'] = key;
    }
    const r = await fetch(p, { method: m, headers,
      body: b === null ? undefined : JSON.stringify(b) });
    const text = await r.text();
    let parsed = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { unparsed: text.slice(0, 300) };
    }
    return { status: r.status, body: parsed };
  }, [method, path, body ?? null, `browser-${randomUUID()}`]);
}

// The id of the team called name at the signed-in user's sites.
export async function teamId(page, name) {
  const sites = await api(page, 'GET', '/api/v1/sites');
  assert.equal(sites.status, 200, 'GET /api/v1/sites');
  for (const site of sites.body.sites)
    for (const d of site.districts)
      for (const t of d.teams)
        if (t.name === name)
          return t.id;
  throw new Error(`team ${name} is not among the user's sites`);
}

// "Prefix-Xxxxxxxx": letters only (names are checked as names), unique
// enough for one run.
export function uniqueFamilyName(prefix) {
  const letters = 'bcdfghjklmnpqrstvwxz';
  let tag = '';
  for (let i = 0; i < 8; i++)
    tag += letters[randomInt(0, letters.length)];
  return `${prefix}-${tag[0].toUpperCase()}${tag.slice(1)}`;
}

// A new person referred to the team called team through the JSON API and
// accepted at level standard with the signed-in user as care coordinator,
// so that no other test's people are touched.  person: given_name,
// family_name and reason of the referral.  Returns { personId, episodeId }.
export async function ownPerson(page, team, person) {
  const me = await api(page, 'GET', '/api/v1/me');
  assert.equal(me.status, 200, 'GET /api/v1/me');
  const made = await api(page, 'POST', '/api/v1/referrals', {
    team_id: await teamId(page, team), source: 'gp',
    source_detail: 'Dr Okonjo, Riverside Surgery', urgency: 'routine',
    reason: person.reason, given_name: person.given_name,
    family_name: person.family_name,
    date_of_birth: `19${randomInt(60, 100)}-0${randomInt(1, 10)}-1${randomInt(0, 10)}`,
  });
  assert.equal(made.status, 201, `POST /api/v1/referrals: ${JSON.stringify(made.body)}`);
  const accepted = await api(page, 'POST',
    `/api/v1/referrals/${made.body.referral.id}/decision`, {
      decision: 'accept', level: 'standard', coordinator_id: me.body.user.id,
      reason: 'Meets the criteria for secondary care',
    });
  assert.equal(accepted.status, 200,
    `POST /api/v1/referrals/${made.body.referral.id}/decision: ${JSON.stringify(accepted.body)}`);
  assert.ok(accepted.body.episode && accepted.body.episode.id, 'the referral opened an episode');
  return { personId: made.body.service_user.id, episodeId: accepted.body.episode.id };
}
