// signin.test.mjs - the sign-in journey in a real browser: Debian's chromium
// driven by playwright-core against the running stack at CPA_BASE_URL, with
// axe-core checking every page reached for serious or critical accessibility
// violations and a listener checking that the Content-Security-Policy is not
// violated.  Run from the repository root: node --test tests/browser/
//
// Needs (set by ./dev test): CPA_BASE_URL, CPA_DEMO_LOGINS (lines
// "role username password site"; the first coordinator is used).  Without
// them every test fails with a message saying so; nothing is skipped.
//
// The set-up shared with the other browser tests is in lib.mjs.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { stackFromEnv, launchBrowser, withPage, checkPage, openSignin,
  submitSignin, signIn, errorSummary, api } from './lib.mjs';

const TIMEOUT = 60_000;

let base;		// CPA_BASE_URL without a trailing slash
let login;		// { username, password } of the first demo coordinator
let browser;

before(async () => {
  ({ base, login } = stackFromEnv({ role: 'coordinator' }));
  browser = await launchBrowser(base);
});

after(async () => {
  if (browser)
    await browser.close();
});

test('the sign-in page has no serious accessibility problems', { timeout: TIMEOUT }, async () => {
  await withPage(browser, 'signin', async (page) => {
    await openSignin(page, base);
    assert.equal(await page.locator('h1').count(), 1);
    assert.equal(await page.getAttribute('#username', 'autocomplete'), 'username');
    assert.equal(await page.getAttribute('#password', 'autocomplete'), 'current-password');
    assert.equal(await page.locator('.nhsuk-error-summary').count(), 0);
    await checkPage(page, 'sign-in page');
  });
});

test('a wrong password shows a focused error summary', { timeout: TIMEOUT }, async () => {
  await withPage(browser, 'signin-wrong', async (page) => {
    await openSignin(page, base);
    const resp = await submitSignin(page, login.username, `${login.password}-wrong`);
    assert.equal(resp.status(), 401, 'POST /signin with a wrong password');
    assert.equal(new URL(page.url()).pathname, '/signin');
    const summary = await errorSummary(page);
    assert.match(await summary.innerText(), /username or password/i);
    assert.equal(await page.inputValue('#username'), login.username,
      'the username typed comes back');
    assert.equal(await page.inputValue('#password'), '', 'the password never comes back');
    await checkPage(page, 'sign-in page with an error');
  });
});

test('signing in with the keyboard lands on the home page', { timeout: TIMEOUT }, async () => {
  await withPage(browser, 'signin-ok', async (page) => {
    await signIn(page, base, login);
    // Who the server says we are, asked from the page with its own cookie.
    const me = await api(page, 'GET', '/api/v1/me');
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
  await withPage(browser, 'signout', async (page) => {
    await signIn(page, base, login);
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
