// referral.test.mjs - recording a referral in a real browser: Debian's
// chromium driven by playwright-core against the running stack at
// CPA_BASE_URL.  A coordinator signs in through the form, fills in the new
// referral form with a mistyped NHS number, sees the NHS error summary (with
// focus on it) and the error by the field, corrects the number and lands on
// the referral's page.  axe-core checks the form, the error state and the
// result for serious or critical accessibility violations, and a listener
// checks that the Content-Security-Policy is not violated.
// Run from the repository root: node --test tests/browser/
//
// Needs (set by ./dev test): CPA_BASE_URL, CPA_DEMO_LOGINS (the line of
// coord.north is used).  Without them the test fails saying so.
//
// The set-up shared with the other browser tests is in lib.mjs.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { stackFromEnv, launchBrowser, withPage, checkPage, signIn } from './lib.mjs';

const TIMEOUT = 90_000;
const USERNAME = 'coord.north';
const TEAM = 'Riverside Community Mental Health Team';
const NHS_NOT_VALID = 'NHS number is not a valid NHS number';

let base;		// CPA_BASE_URL without a trailing slash
let login;		// { username, password } of coord.north
let browser;

// A valid NHS number (modulus 11) and the same with a wrong check digit.
function nhsNumbers() {
  for (;;) {
    let nine = String(randomInt(4, 10));
    for (let i = 0; i < 8; i++)
      nine += String(randomInt(0, 10));
    let sum = 0;
    for (let i = 0; i < 9; i++)
      sum += Number(nine[i]) * (10 - i);
    let check = 11 - (sum % 11);
    if (check === 11)
      check = 0;
    if (check === 10)
      continue;
    return { good: nine + check, bad: nine + ((check + 1) % 10) };
  }
}

// Letters only, unique enough for one run: names are checked as names.
function uniqueFamilyName() {
  const letters = 'bcdfghjklmnpqrstvwxz';
  let tag = '';
  for (let i = 0; i < 8; i++)
    tag += letters[randomInt(0, letters.length)];
  return `Nwosu-${tag[0].toUpperCase()}${tag.slice(1)}`;
}

before(async () => {
  ({ base, login } = stackFromEnv({ username: USERNAME }));
  browser = await launchBrowser(base);
});

after(async () => {
  if (browser)
    await browser.close();
});

// The id of a team of the user's sites, asked from the page with its cookie.
async function teamId(page, name) {
  const sites = await page.evaluate(async () => {
    const r = await fetch('/api/v1/sites', { headers: { Accept: 'application/json' } });
    return { status: r.status, body: await r.json() };
  });
  assert.equal(sites.status, 200, 'GET /api/v1/sites');
  for (const site of sites.body.sites)
    for (const d of site.districts)
      for (const t of d.teams)
        if (t.name === name)
          return t.id;
  throw new Error(`team ${name} is not among the user's sites`);
}

const form = (page) => page.locator('form[action="/referrals"]');

// Sets a control of the referral form by name, whatever kind it is: text
// input, textarea, select or a group of radios.
async function setField(page, name, value) {
  const controls = form(page).locator(`[name="${name}"]`);
  assert.ok(await controls.count() > 0, `the form has a "${name}" control`);
  const first = controls.first();
  const tag = await first.evaluate((e) => e.tagName.toLowerCase());
  const type = (await first.getAttribute('type')) || '';
  if (tag === 'select')
    await first.selectOption(String(value));
  else if (type === 'radio' || type === 'checkbox')
    await form(page).locator(`[name="${name}"][value="${value}"]`).check();
  else
    await first.fill(String(value));
}

// A date as one YYYY-MM-DD input, or as the NHS date input's day, month and
// year boxes.
async function setDate(page, name, iso) {
  if (await form(page).locator(`[name="${name}"]`).count() > 0)
    return setField(page, name, iso);
  const [y, m, d] = iso.split('-');
  for (const sep of ['-', '_', '.']) {
    if (await form(page).locator(`[name="${name}${sep}day"]`).count() > 0) {
      await setField(page, `${name}${sep}day`, String(Number(d)));
      await setField(page, `${name}${sep}month`, String(Number(m)));
      await setField(page, `${name}${sep}year`, y);
      return;
    }
  }
  assert.fail(`the form has no date of birth input named ${name}`);
}

async function submit(page) {
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' &&
      new URL(r.url()).pathname === '/referrals'),
    form(page).locator('button[type="submit"], input[type="submit"]').first().click(),
  ]);
  await page.waitForLoadState('load');
  return resp;
}

test('a referral with a mistyped NHS number is corrected and recorded', { timeout: TIMEOUT }, async () => {
  await withPage(browser, 'referral', async (page) => {
    await signIn(page, base, login);
    const team = await teamId(page, TEAM);
    const nhs = nhsNumbers();
    const family = uniqueFamilyName();

    const resp = await page.goto(`${base}/referrals/new`);
    assert.equal(resp.status(), 200, 'GET /referrals/new');
    assert.equal(await page.locator('h1').count(), 1);
    assert.equal(await page.locator('.nhsuk-error-summary').count(), 0);
    const key = await form(page).locator('input[type="hidden"][name="idempotency_key"]')
      .getAttribute('value');
    assert.ok(key && key.length >= 8 && key.length <= 100,
      'the form carries a fresh idempotency_key');
    await checkPage(page, 'new referral form');

    await setField(page, 'nhs_number', nhs.bad);
    await setField(page, 'given_name', 'Ifeoma');
    await setField(page, 'family_name', family);
    await setDate(page, 'date_of_birth', '1987-11-23');
    await setField(page, 'team_id', team);
    await setField(page, 'source', 'gp');
    await setField(page, 'urgency', 'routine');
    await setField(page, 'reason', 'Low mood for three months, not sleeping');

    const refused = await submit(page);
    assert.equal(refused.status(), 422, 'POST /referrals with a bad NHS number');
    assert.equal(new URL(page.url()).pathname, '/referrals');
    const summary = page.locator('.nhsuk-error-summary');
    await summary.waitFor({ state: 'visible', timeout: 5000 });
    assert.match(await summary.innerText(), /There is a problem/);
    assert.ok((await summary.innerText()).includes(NHS_NOT_VALID),
      'the summary names the NHS number problem');
    assert.equal(await summary.locator('a[href="#nhs_number"]').count(), 1,
      'the summary links to the NHS number field');
    await page.waitForFunction(() => document.activeElement &&
      document.activeElement.closest('.nhsuk-error-summary') !== null,
    null, { timeout: 5000 }).catch(() => {
      assert.fail('focus did not move to the error summary');
    });
    const fieldError = page.locator('.nhsuk-form-group--error')
      .filter({ has: page.locator('[name="nhs_number"]') })
      .locator('.nhsuk-error-message');
    assert.equal(await fieldError.count(), 1, 'one error message by the NHS number field');
    assert.ok((await fieldError.innerText()).includes(NHS_NOT_VALID));
    assert.equal(await page.locator('#nhs_number').count(), 1,
      'the summary link has a target');
    assert.equal(await form(page).locator('[name="family_name"]').inputValue(), family,
      'what was typed comes back');
    await checkPage(page, 'new referral form with an error');

    await setField(page, 'nhs_number', `${nhs.good.slice(0, 3)} ${nhs.good.slice(3, 6)} ${nhs.good.slice(6)}`);
    const created = await submit(page);
    assert.equal(created.status(), 303, 'POST /referrals with the corrected NHS number');
    await page.waitForURL((url) => /^\/referrals\/\d+$/.test(url.pathname));
    const main = await page.locator('main').innerText();
    assert.ok(main.includes('Ifeoma'), 'the referral page shows the given name');
    assert.ok(main.includes(family), 'the referral page shows the family name');
    assert.equal(await page.locator('h1').count(), 1);
    await checkPage(page, 'referral page');

    // The page and the API agree on what was recorded.
    const id = new URL(page.url()).pathname.split('/').pop();
    const api = await page.evaluate(async (rid) => {
      const r = await fetch(`/api/v1/referrals/${rid}`, { headers: { Accept: 'application/json' } });
      return { status: r.status, body: await r.json() };
    }, id);
    assert.equal(api.status, 200, `GET /api/v1/referrals/${id}`);
    assert.equal(api.body.service_user.nhs_number, nhs.good);
    assert.equal(api.body.service_user.family_name, family);
    assert.equal(api.body.referral.status, 'awaiting_triage');
  });
});
