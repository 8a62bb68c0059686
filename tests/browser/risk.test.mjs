// risk.test.mjs - a risk assessment from draft to approval in a real browser:
// Debian's chromium driven by playwright-core against the running stack at
// CPA_BASE_URL.  A care coordinator (coord.north) gets a person of her own
// (a referral she accepts through the JSON API with the page's session and
// CSRF token, so no other test's people are touched), finds them on her
// caseload page, starts a risk assessment, rates suicide and self-harm high,
// writes the safety plan and the discussion answers, saves the draft (a
// reload keeps every value), tries to submit it with the warning signs
// missing (the NHS error summary names the field), completes and submits
// it.  Then a manager of her team (tm.north, another person) opens the
// approval queue, opens the assessment and approves it, and sees it
// approved with its next review date.  axe-core checks every page visited
// for serious or critical accessibility violations, and a listener checks
// that the Content-Security-Policy is not violated.
// Run from the repository root: node --test tests/browser/
//
// Needs (set by ./dev test): CPA_BASE_URL, CPA_DEMO_LOGINS (the lines of
// coord.north and tm.north are used).  Without them the test fails saying
// so.
//
// The set-up shared with the other browser tests is in lib.mjs.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { stackFromEnv, readLogin, launchBrowser, withPage, checkPage,
  signIn, goto, postFrom, errorSummary, fieldError, api, uniqueFamilyName,
  ownPerson } from './lib.mjs';

const TIMEOUT = 120_000;
const COORDINATOR = 'coord.north';
const MANAGER = 'tm.north';
const MANAGER_NAME = 'Marcus Campbell';
const TEAM = 'Riverside Community Mental Health Team';

// What the coordinator writes.  Every domain gets a level (submission needs
// all six); suicide and self-harm is high, so a manager must approve.
const DOMAINS = {
  suicide_self_harm: {
    level: 'high',
    history: 'Overdose in 2019 after losing her job',
    current_factors: 'Says she has thought about ending her life this week',
    protective_factors: 'Close to her sister; cares for her cat',
  },
  harm_to_others: { level: 'none' },
  self_neglect: { level: 'medium', current_factors: 'Not eating regular meals' },
  exploitation_vulnerability: { level: 'low' },
  substance_misuse: { level: 'low', history: 'Drinks more when low' },
  other: { level: 'none' },
};
const PLAN = {
  what_helps: 'Walking by the river, talking to my sister',
  contacts: 'Sister (Ngozi) 07700 900123; care coordinator Aisha Rahman',
  crisis_numbers: 'Crisis team 0300 555 0100; Samaritans 116 123',
  means_restriction: 'Medication kept by her sister, one week at a time',
  not_discussed_carer_reason: 'She asked us not to involve her sister yet',
  user_view: 'I want to get back to work, and I know who to call now',
};
const WARNING_SIGNS = 'Stops answering the phone; stays in bed all day';

let base;		// CPA_BASE_URL without a trailing slash
let coordinator;	// { username, password } of coord.north
let manager;		// { username, password } of tm.north
let browser;

before(async () => {
  ({ base, login: coordinator } = stackFromEnv({ username: COORDINATOR }));
  manager = readLogin(process.env.CPA_DEMO_LOGINS, { username: MANAGER });
  browser = await launchBrowser(base);
});

after(async () => {
  if (browser)
    await browser.close();
});

const editForm = (page, id) => page.locator(`form[action="/risk-assessments/${id}"]`);
const submitForm = (page, id) => page.locator(`form[action="/risk-assessments/${id}/submit"]`);

// Fills the draft with everything but the warning signs.
async function fillDraft(page, id) {
  const form = editForm(page, id);
  for (const [code, d] of Object.entries(DOMAINS)) {
    await form.locator(`#${code}_level`).selectOption(d.level);
    for (const part of ['history', 'current_factors', 'protective_factors'])
      if (d[part] !== undefined)
        await form.locator(`#${code}_${part}`).fill(d[part]);
  }
  await form.getByLabel('Overall level of risk').selectOption('high');
  await form.getByLabel('What helps', { exact: true }).fill(PLAN.what_helps);
  await form.getByLabel('Contacts', { exact: true }).fill(PLAN.contacts);
  await form.getByLabel('Crisis numbers', { exact: true }).fill(PLAN.crisis_numbers);
  await form.getByLabel('Means restriction', { exact: true }).fill(PLAN.means_restriction);
  await form.getByRole('group', { name: 'Was risk discussed with the person?' })
    .getByLabel('Yes', { exact: true }).check();
  await form.getByRole('group', { name: 'Was risk discussed with their carer?' })
    .getByLabel('No', { exact: true }).check();
  await form.locator('#not_discussed_carer_reason').fill(PLAN.not_discussed_carer_reason);
  await form.getByLabel("The person's view, in their words").fill(PLAN.user_view);
}

// Asserts the open edit form shows what fillDraft wrote (and warningSigns).
async function assertDraft(page, id, warningSigns, when) {
  const form = editForm(page, id);
  assert.equal(await form.count(), 1, `${when}: the draft can still be edited`);
  for (const [code, d] of Object.entries(DOMAINS)) {
    assert.equal(await form.locator(`#${code}_level`).inputValue(), d.level,
      `${when}: ${code} level`);
    for (const part of ['history', 'current_factors', 'protective_factors'])
      assert.equal(await form.locator(`#${code}_${part}`).inputValue(), d[part] ?? '',
        `${when}: ${code} ${part}`);
  }
  assert.equal(await form.locator('#overall_level').inputValue(), 'high', `${when}: overall level`);
  for (const f of ['what_helps', 'contacts', 'crisis_numbers', 'means_restriction',
    'not_discussed_carer_reason', 'user_view'])
    assert.equal(await form.locator(`#${f}`).inputValue(), PLAN[f], `${when}: ${f}`);
  assert.equal(await form.locator('#warning_signs').inputValue(), warningSigns,
    `${when}: warning_signs`);
  assert.ok(await form.locator('#discussed_with_user').isChecked(),
    `${when}: discussed with the person: yes`);
  assert.ok(await form.locator('#discussed_with_carer-no').isChecked(),
    `${when}: discussed with the carer: no`);
}

// The assessment page's history (its events, one line each).
const history = (page) => page.locator('h2:text-is("History") + ul');

// The assessment's status as the page's summary list shows it.
async function shownStatus(page) {
  const row = page.locator('.nhsuk-summary-list__row')
    .filter({ has: page.locator('dt', { hasText: /^Status$/ }) });
  assert.equal(await row.count(), 1, 'the page shows one Status row');
  return (await row.locator('dd').innerText()).trim();
}

// "YYYY-MM-DD" one calendar month after day (PostgreSQL's date + interval
// '1 month': the same day, or the month's last day when it has fewer).
function plusOneMonth(day) {
  const [y, m, d] = day.split('-').map(Number);
  const ny = m === 12 ? y + 1 : y;
  const nm = m === 12 ? 1 : m + 1;
  const last = new Date(Date.UTC(ny, nm, 0)).getUTCDate();
  const nd = Math.min(d, last);
  return `${ny}-${String(nm).padStart(2, '0')}-${String(nd).padStart(2, '0')}`;
}

test('a coordinator drafts and submits a high risk assessment and a manager approves it',
  { timeout: TIMEOUT }, async () => {
    let assessmentId;
    let person;

    await withPage(browser, 'risk-coordinator', async (page) => {
      await signIn(page, base, coordinator);
      await checkPage(page, 'home page');
      const family = uniqueFamilyName('Eze');
      person = { family, ...await ownPerson(page, TEAM, { given_name: 'Chidinma',
        family_name: family, reason: 'Low mood and thoughts of self-harm' }) };

      // The caseload lists the new person with no assessment yet.
      await goto(page, base, '/caseload', 'caseload');
      const row = page.locator('tbody tr').filter({ hasText: person.family });
      assert.equal(await row.count(), 1, 'the caseload lists the new person once');
      await checkPage(page, 'caseload page');
      await Promise.all([
        page.waitForURL(`${base}/service-users/${person.personId}/risk`),
        row.locator(`a[href="/service-users/${person.personId}/risk"]`).click(),
      ]);
      assert.ok((await page.locator('main').innerText()).includes('No approved risk assessment'),
        'the person has no approved assessment yet');
      await checkPage(page, "person's risk page");

      const started = await postFrom(page, `/service-users/${person.personId}/risk-assessments`,
        page.getByRole('button', { name: 'Start a risk assessment' }));
      assert.equal(started.status(), 303, 'POST /service-users/{id}/risk-assessments');
      await page.waitForURL((url) => /^\/risk-assessments\/\d+$/.test(url.pathname));
      assessmentId = new URL(page.url()).pathname.split('/').pop();
      assert.equal(await shownStatus(page), 'draft');
      assert.equal(await page.locator('h1').count(), 1);
      assert.equal(await page.locator('.nhsuk-error-summary').count(), 0);
      await checkPage(page, 'new risk assessment');

      // Save the draft without the warning signs: a draft may be partial.
      await fillDraft(page, assessmentId);
      let resp = await postFrom(page, `/risk-assessments/${assessmentId}`,
        editForm(page, assessmentId).getByRole('button', { name: 'Save' }));
      assert.equal(resp.status(), 303, 'POST /risk-assessments/{id} (save)');
      await page.waitForURL(`${base}/risk-assessments/${assessmentId}`);
      assert.equal(await shownStatus(page), 'draft');
      assert.match(await history(page).innerText(),
        /saved by Aisha Rahman/, 'the history shows the save');
      await assertDraft(page, assessmentId, '', 'after saving');
      await page.reload();
      await assertDraft(page, assessmentId, '', 'after a reload');
      await checkPage(page, 'saved draft');

      // Submitting without the warning signs is refused, naming the field.
      resp = await postFrom(page, `/risk-assessments/${assessmentId}/submit`,
        submitForm(page, assessmentId).getByRole('button', { name: 'Submit the assessment' }));
      assert.equal(resp.status(), 422, 'POST /risk-assessments/{id}/submit with warning signs missing');
      const summary = await errorSummary(page);
      const links = summary.locator('a');
      assert.equal(await links.count(), 1, 'the summary lists one problem');
      assert.equal(await links.first().getAttribute('href'), '#warning_signs',
        'the summary links to the warning signs');
      const problem = (await links.first().innerText()).trim();
      assert.equal(problem, 'Enter warning signs before submitting',
        'the summary names the missing field');
      assert.equal((await page.locator('label[for="warning_signs"]').innerText()).trim(),
        'Warning signs', 'the linked field is labelled Warning signs');
      const byField = fieldError(page, '#warning_signs');
      assert.equal(await byField.count(), 1, 'one error message by the warning signs');
      assert.ok((await byField.innerText()).includes(problem),
        'the message by the field is the summary\'s');
      await assertDraft(page, assessmentId, '', 'after the refused submission');
      await checkPage(page, 'refused submission');
      // Following the summary's link puts the cursor in the field.
      await links.first().click();
      await page.waitForFunction(() => document.activeElement &&
        document.activeElement.id === 'warning_signs', null, { timeout: 5000 })
        .catch(() => assert.fail('the summary link did not focus the warning signs'));

      // Complete, save and submit.
      await page.keyboard.type(WARNING_SIGNS);
      resp = await postFrom(page, `/risk-assessments/${assessmentId}`,
        editForm(page, assessmentId).getByRole('button', { name: 'Save' }));
      assert.equal(resp.status(), 303, 'POST /risk-assessments/{id} (save the warning signs)');
      await page.waitForURL(`${base}/risk-assessments/${assessmentId}`);
      await assertDraft(page, assessmentId, WARNING_SIGNS, 'after saving the warning signs');
      await checkPage(page, 'completed draft');
      resp = await postFrom(page, `/risk-assessments/${assessmentId}/submit`,
        submitForm(page, assessmentId).getByRole('button', { name: 'Submit the assessment' }));
      assert.equal(resp.status(), 303, 'POST /risk-assessments/{id}/submit');
      await page.waitForURL(`${base}/risk-assessments/${assessmentId}`);
      assert.equal(await page.locator('.nhsuk-error-summary').count(), 0);
      assert.equal(await shownStatus(page), "submitted (needs a manager's approval)");
      assert.equal(await editForm(page, assessmentId).count(), 0, 'no longer editable');
      assert.equal(await page.getByRole('button', { name: 'Approve' }).count(), 0,
        'the author is not offered approval');
      assert.ok((await page.locator('main').innerText()).includes(WARNING_SIGNS),
        'the submitted assessment shows the warning signs');
      await checkPage(page, 'submitted assessment');
    });

    await withPage(browser, 'risk-manager', async (page) => {
      await signIn(page, base, manager);
      await checkPage(page, 'manager home page');
      await goto(page, base, '/risk-assessments', 'approval queue');
      const row = page.locator('tbody tr').filter({ hasText: person.family });
      assert.equal(await row.count(), 1, 'the approval queue lists the assessment once');
      const cells = await row.locator('td').allInnerTexts();
      assert.ok(cells.includes(TEAM), `the queue row names the team: ${cells}`);
      assert.ok(cells.includes('Aisha Rahman'), `the queue row names the author: ${cells}`);
      assert.ok(cells.includes('high'), `the queue row shows the overall level: ${cells}`);
      await checkPage(page, 'approval queue');

      await Promise.all([
        page.waitForURL(`${base}/risk-assessments/${assessmentId}`),
        row.locator(`a[href="/risk-assessments/${assessmentId}"]`).click(),
      ]);
      assert.equal(await shownStatus(page), "submitted (needs a manager's approval)");
      const main = await page.locator('main').innerText();
      for (const text of [WARNING_SIGNS, PLAN.what_helps, PLAN.crisis_numbers,
        DOMAINS.suicide_self_harm.current_factors])
        assert.ok(main.includes(text), `the manager sees "${text}"`);
      const suicide = page.locator('.nhsuk-summary-list__row')
        .filter({ has: page.locator('dt', { hasText: /^Suicide and self-harm$/ }) });
      assert.match(await suicide.locator('dd').innerText(), /^High/,
        'suicide and self-harm is shown as high');
      await checkPage(page, 'assessment for approval');

      await page.getByLabel('Comments (optional)').fill('Agreed: review in a month');
      const resp = await postFrom(page, `/risk-assessments/${assessmentId}/approve`,
        page.getByRole('button', { name: 'Approve' }));
      assert.equal(resp.status(), 303, 'POST /risk-assessments/{id}/approve');
      await page.waitForURL(`${base}/risk-assessments/${assessmentId}`);
      assert.equal(await page.locator('.nhsuk-error-summary').count(), 0);
      assert.match(await shownStatus(page), /^approved/);
      assert.equal(await page.getByRole('button', { name: 'Approve' }).count(), 0,
        'nothing left to approve');

      // The page and the API agree on the decision and the review date: a
      // high rating is reviewed after the site's high-risk interval (one
      // month on the demo sites, sql/003_risk.sql's default).
      const api1 = await api(page, 'GET', `/api/v1/risk-assessments/${assessmentId}`);
      assert.equal(api1.status, 200, `GET /api/v1/risk-assessments/${assessmentId}`);
      const a = api1.body.assessment;
      assert.equal(a.status, 'approved');
      assert.equal(a.decided_by_name, MANAGER_NAME);
      assert.equal(a.service_user_id, person.personId);
      assert.match(a.next_review_due, /^\d{4}-\d{2}-\d{2}$/);
      assert.equal(a.next_review_due, plusOneMonth(a.approved_at.slice(0, 10)),
        `next review one month after approval (${a.approved_at})`);
      const approved = page.locator('.nhsuk-summary-list__row')
        .filter({ has: page.locator('dt', { hasText: /^Approved$/ }) });
      assert.equal(await approved.count(), 1, 'the page has an Approved row');
      const approvedText = await approved.locator('dd').innerText();
      assert.ok(approvedText.includes(`by ${MANAGER_NAME}`), `approved by: ${approvedText}`);
      assert.ok(approvedText.includes(`review due ${a.next_review_due}`),
        `the page shows the next review date: ${approvedText}`);
      assert.match(await history(page).innerText(),
        /approved by Marcus Campbell: Agreed: review in a month/,
        'the history shows the approval with its comment');
      await checkPage(page, 'approved assessment');

      await goto(page, base, '/risk-assessments', 'approval queue after approving');
      assert.equal(await page.locator('tbody tr').filter({ hasText: person.family }).count(), 0,
        'the approved assessment has left the queue');
      await checkPage(page, 'approval queue after approving');
    });
  });
