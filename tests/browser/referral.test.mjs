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
import { stackFromEnv, launchBrowser, withPage, checkPage, signIn, goto,
  postFrom, errorSummary, fieldError, api, teamId, uniqueFamilyName } from './lib.mjs';

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

before(async () => {
  ({ base, login } = stackFromEnv({ username: USERNAME }));
  browser = await launchBrowser(base);
});

after(async () => {
  if (browser)
    await browser.close();
});

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

const submit = (page) => postFrom(page, '/referrals',
  form(page).locator('button[type="submit"], input[type="submit"]').first());

test('a referral with a mistyped NHS number is corrected and recorded', { timeout: TIMEOUT }, async () => {
  await withPage(browser, 'referral', async (page) => {
    await signIn(page, base, login);
    const team = await teamId(page, TEAM);
    const nhs = nhsNumbers();
    const family = uniqueFamilyName('Nwosu');

    await goto(page, base, '/referrals/new', 'new referral form');
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
    const summary = await errorSummary(page);
    assert.ok((await summary.innerText()).includes(NHS_NOT_VALID),
      'the summary names the NHS number problem');
    assert.equal(await summary.locator('a[href="#nhs_number"]').count(), 1,
      'the summary links to the NHS number field');
    const byField = fieldError(page, '[name="nhs_number"]');
    assert.equal(await byField.count(), 1, 'one error message by the NHS number field');
    assert.ok((await byField.innerText()).includes(NHS_NOT_VALID));
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
    const got = await api(page, 'GET', `/api/v1/referrals/${id}`);
    assert.equal(got.status, 200, `GET /api/v1/referrals/${id}`);
    assert.equal(got.body.service_user.nhs_number, nhs.good);
    assert.equal(got.body.service_user.family_name, family);
    assert.equal(got.body.referral.status, 'awaiting_triage');
  });
});
