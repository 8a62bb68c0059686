// lib.mjs - what the browser tests share: the stack's settings from the
// environment, Debian's chromium launched by playwright-core so that only the
// stack under test is reachable, a fresh page per test with axe-core and a
// Content-Security-Policy violation recorder, the serious/critical
// accessibility and CSP check of a page, and signing in through the form.
//
// Not a test file itself: node --test runs only *.test.mjs and the like.

import assert from 'node:assert/strict';
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
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' &&
      new URL(r.url()).pathname === '/signin'),
    page.press('#password', 'Enter'),
  ]);
  await page.waitForLoadState('load');
  return resp;
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
