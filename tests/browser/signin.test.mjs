// signin.test.mjs - the sign-in journey in a real browser: Debian's chromium
// driven by playwright-core against the running stack at CPA_BASE_URL, with
// axe-core checking every page reached for serious or critical accessibility
// violations and a listener checking that the Content-Security-Policy is not
// violated.  Run from the repository root: node --test tests/browser/
//
// Needs (set by ./dev test): CPA_BASE_URL, CPA_DEMO_LOGINS (lines
// "role username password site"; the first coordinator is used).  Without
// them every test fails with a message saying so; nothing is skipped.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const AXE = path.join(ROOT, 'node_modules', 'axe-core', 'axe.min.js');
const TIMEOUT = 60_000;

let base;		// CPA_BASE_URL without a trailing slash
let login;		// { username, password } of the first demo coordinator
let browser;

function readLogin(file) {
  const lines = readFileSync(file, 'utf8').split('\n');
  for (const line of lines) {
    const [role, username, password] = line.trim().split(/\s+/);
    if (role === 'coordinator' && username && password)
      return { username, password };
  }
  throw new Error(`no "coordinator" line in ${file}`);
}

before(async () => {
  if (!process.env.CPA_BASE_URL)
    throw new Error('CPA_BASE_URL is not set: start the stack and run the ' +
      'browser test through "./dev test" (or export CPA_BASE_URL and CPA_DEMO_LOGINS)');
  if (!process.env.CPA_DEMO_LOGINS)
    throw new Error('CPA_DEMO_LOGINS is not set: it names the demo logins file');
  base = process.env.CPA_BASE_URL.replace(/\/+$/, '');
  login = readLogin(process.env.CPA_DEMO_LOGINS);
  const host = new URL(base).hostname;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
      '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
      // Nothing but the stack under test may be reached.
      `--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE ${host}`],
  });
});

after(async () => {
  if (browser)
    await browser.close();
});

// A fresh context (no cookies) per test.  Every document gets a recorder of
// CSP violations and axe-core before any of its own scripts run: the page's
// CSP (script-src 'self') would refuse axe injected as a <script> tag, and
// tests must see the CSP exactly as users do.  On failure a screenshot goes
// to CPA_VAR (the test stack's state directory) when it is set.
async function withPage(name, fn) {
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

// Serious and critical axe-core violations of the current page, and any CSP
// violation except NHS.UK frontend's web font, which its stylesheet names on
// assets.nhs.uk and the policy rightly blocks (the font falls back to Arial).
async function checkPage(page, what) {
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

async function openSignin(page) {
  const resp = await page.goto(`${base}/signin`);
  assert.equal(resp.status(), 200, 'GET /signin');
  assert.match(await page.title(), /Sign in - CPA suite/);
}

// Type into the form and submit with the Enter key, as a keyboard user does.
async function submitSignin(page, username, password) {
  await page.fill('#username', username);
  await page.fill('#password', password);
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' &&
      new URL(r.url()).pathname === '/signin'),
    page.press('#password', 'Enter'),
  ]);
  await page.waitForLoadState('load');
  return resp;
}

// The form posts with the browser's own Origin header (which is "null" if
// the page's Referrer-Policy is no-referrer: the server must see our origin).
async function signIn(page) {
  await openSignin(page);
  const resp = await submitSignin(page, login.username, login.password);
  assert.equal(resp.status(), 303, 'POST /signin with the right password');
  await page.waitForURL(`${base}/`);
}

test('the sign-in page has no serious accessibility problems', { timeout: TIMEOUT }, async () => {
  await withPage('signin', async (page) => {
    await openSignin(page);
    assert.equal(await page.locator('h1').count(), 1);
    assert.equal(await page.getAttribute('#username', 'autocomplete'), 'username');
    assert.equal(await page.getAttribute('#password', 'autocomplete'), 'current-password');
    assert.equal(await page.locator('.nhsuk-error-summary').count(), 0);
    await checkPage(page, 'sign-in page');
  });
});

test('a wrong password shows a focused error summary', { timeout: TIMEOUT }, async () => {
  await withPage('signin-wrong', async (page) => {
    await openSignin(page);
    const resp = await submitSignin(page, login.username, `${login.password}-wrong`);
    assert.equal(resp.status(), 401, 'POST /signin with a wrong password');
    assert.equal(new URL(page.url()).pathname, '/signin');
    const summary = page.locator('.nhsuk-error-summary');
    await summary.waitFor({ state: 'visible', timeout: 5000 });
    assert.match(await summary.innerText(), /There is a problem/);
    assert.match(await summary.innerText(), /username or password/i);
    // NHS.UK frontend (started by /assets/app/app.js) moves focus to the
    // summary, so screen readers announce it.
    await page.waitForFunction(() => document.activeElement &&
      document.activeElement.closest('.nhsuk-error-summary') !== null,
    null, { timeout: 5000 }).catch(() => {
      assert.fail('focus did not move to the error summary');
    });
    assert.equal(await page.inputValue('#username'), login.username,
      'the username typed comes back');
    assert.equal(await page.inputValue('#password'), '', 'the password never comes back');
    await checkPage(page, 'sign-in page with an error');
  });
});

test('signing in with the keyboard lands on the home page', { timeout: TIMEOUT }, async () => {
  await withPage('signin-ok', async (page) => {
    await signIn(page);
    // Who the server says we are, asked from the page with its own cookie.
    const me = await page.evaluate(async () => {
      const r = await fetch('/api/v1/me', { headers: { Accept: 'application/json' } });
      return { status: r.status, body: await r.json() };
    });
    assert.equal(me.status, 200, 'GET /api/v1/me after signing in');
    const { display_name: displayName, username } = me.body.user;
    assert.equal(username, login.username);
    assert.ok(displayName, 'the user has a display name');
    assert.ok((await page.locator('header').innerText()).includes(displayName),
      'the header shows the display name');
    assert.ok((await page.locator('main').innerText()).includes(displayName),
      'the page shows the display name');
    assert.match(await page.locator('main').innerText(), /Signed in as/);
    assert.equal(await page.locator('h1').count(), 1);
    await checkPage(page, 'home page');
  });
});

test('signing out from the header returns to the sign-in page', { timeout: TIMEOUT }, async () => {
  await withPage('signout', async (page) => {
    await signIn(page);
    const button = page.locator('header').getByRole('button', { name: 'Sign out' });
    await Promise.all([
      page.waitForURL((url) => url.pathname === '/signin'),
      button.click(),
    ]);
    await page.waitForLoadState('load');
    assert.match(await page.title(), /Sign in - CPA suite/);
    assert.equal(await page.locator('header').getByRole('button', { name: 'Sign out' }).count(), 0,
      'no sign-out button once signed out');
    // The session is over: the home page sends us back to sign in.
    await page.goto(`${base}/`);
    assert.equal(new URL(page.url()).pathname, '/signin');
    await checkPage(page, 'sign-in page after signing out');
  });
});
