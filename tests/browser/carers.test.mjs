// carers.test.mjs - a carer from being recorded to being offered an
// assessment, in a real browser: Debian's chromium driven by
// playwright-core against the running stack at CPA_BASE_URL.  A care
// coordinator (coord.north) gets a person of her own (a referral she
// accepts through the JSON API with the page's session and CSRF token, so
// no other test's people are touched) and writes their care plan through
// the JSON API with a crisis plan and a housing section.  On the person's
// carers page she adds a carer through the form: the first try, with the
// family name missing, is refused and the NHS error summary names the
// field; then it is recorded.  She records the person's consent limited to
// the crisis plan, opens the carer's copy of the care plan and sees the
// crisis plan but not the housing section, and records from that page
// that she gave the carer their copy.  She offers the carer
// an assessment and sees it offered.  A contact with the carer there,
// recorded on the contacts page naming the carer, shows on the person's
// record as the carers' latest involvement.  axe-core checks every page
// visited for serious or critical accessibility violations, and a listener
// checks that the Content-Security-Policy is not violated.
// Run from the repository root: node --test tests/browser/
//
// Needs (set by ./dev test): CPA_BASE_URL, CPA_DEMO_LOGINS (the line of
// coord.north is used).  Without them the test fails saying so.
//
// The set-up shared with the other browser tests is in lib.mjs.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { stackFromEnv, launchBrowser, withPage, checkPage, signIn, goto,
  postFrom, errorSummary, fieldError, api, ownPerson, uniqueFamilyName } from './lib.mjs';

const TIMEOUT = 120_000;
const COORDINATOR = 'coord.north';
const TEAM = 'Riverside Community Mental Health Team';
const GIVEN = 'Ifeoma';
const CARER_GIVEN = 'Chidi';
const CARER_PHONE = '07700 900456';
const CRISIS = 'Call the crisis team on 0300 555 0100; her brother stays with her';
const WARNING = 'Stops eating and sleeps in the day';
const HOUSING = 'Rent arrears with the housing association: a payment plan agreed';

let base;		// CPA_BASE_URL without a trailing slash
let coordinator;	// { username, password } of coord.north
let browser;

before(async () => {
  ({ base, login: coordinator } = stackFromEnv({ username: COORDINATOR }));
  browser = await launchBrowser(base);
});

after(async () => {
  if (browser)
    await browser.close();
});

// The main content's text with white space collapsed.
async function mainText(page) {
  return (await page.locator('main').innerText()).replace(/\s+/g, ' ');
}

// Opens the details element (the page's "Record consent ..." and the like)
// that holds form, as a user clicks its summary, unless it is open.
async function reveal(form) {
  const details = form.locator('xpath=ancestor::details[1]');
  if (await details.count() === 1 && await details.getAttribute('open') === null)
    await details.locator('summary').first().click();
}

// Sets the control called name in form (a select, radios or a text input)
// to value.
async function choose(form, name, value) {
  await reveal(form);
  const controls = form.locator(`[name="${name}"]`);
  assert.ok(await controls.count() > 0, `the form has a "${name}" control`);
  const first = controls.first();
  const tag = await first.evaluate((el) => el.tagName.toLowerCase());
  const type = (await first.getAttribute('type')) ?? '';
  if (tag === 'select')
    await first.selectOption(value);
  else if (type === 'radio' || type === 'checkbox')
    await form.locator(`[name="${name}"][value="${value}"]`).check();
  else
    await first.fill(value);
}

// Submits form with its submit button; returns the POST's response.
async function submit(page, form, path) {
  await reveal(form);
  return postFrom(page, path,
    form.locator('button[type="submit"], input[type="submit"]').first());
}

test('a coordinator adds a carer with limited consent and offers an assessment',
  { timeout: TIMEOUT }, async () => {
    await withPage(browser, 'carers', async (page) => {
      await signIn(page, base, coordinator);
      assert.equal(await page.locator('main a[href="/carers"]').count(), 1,
        'the home page links to the carers of the caseload');
      await checkPage(page, 'home page');

      const family = uniqueFamilyName('Okafor');
      const carerFamily = uniqueFamilyName('Okafor');
      const carerName = `${CARER_GIVEN} ${carerFamily}`;
      const { personId } = await ownPerson(page, TEAM, {
        given_name: GIVEN, family_name: family,
        reason: 'Hearing voices and not sleeping since a bereavement',
      });
      const personName = `${GIVEN} ${family}`;
      const plan = await api(page, 'POST',
        `/api/v1/service-users/${personId}/care-plan/versions`, {
          based_on: 0, needs_goals: 'To sleep at night and go back to college',
          crisis_contingency: CRISIS, early_warning_signs: WARNING, housing: HOUSING,
        });
      assert.equal(plan.status, 201, `the care plan: ${JSON.stringify(plan.body)}`);
      const versionId = plan.body.care_plan_version.id;

      // The person's carers page: nobody yet.
      const carersPath = `/service-users/${personId}/carers`;
      await goto(page, base, carersPath, "person's carers");
      await checkPage(page, "person's carers, none yet");

      // Adding a carer without the family name is refused, naming it.
      let add = page.locator(`form[action="${carersPath}"]`);
      assert.equal(await add.count(), 1, 'the page has the form to add a carer');
      await choose(add, 'given_name', CARER_GIVEN);
      await choose(add, 'relationship', 'sibling');
      await choose(add, 'phone', CARER_PHONE);
      let resp = await submit(page, add, carersPath);
      assert.equal(resp.status(), 422, 'POST without the family name');
      const summary = await errorSummary(page);
      const links = summary.locator('a');
      assert.equal(await links.count(), 1, 'the summary lists one problem');
      assert.equal((await links.first().innerText()).trim(), "Enter the carer's family name");
      const target = await links.first().getAttribute('href');
      assert.match(target, /^#[\w-]+$/, 'the summary links to a field');
      assert.equal(await page.locator(target).getAttribute('name'), 'family_name',
        'the summary links to the family name');
      const byField = fieldError(page, target);
      assert.equal(await byField.count(), 1, 'one message by the family name');
      assert.ok((await byField.innerText()).includes("Enter the carer's family name"));
      add = page.locator(`form[action="${carersPath}"]`);
      assert.equal(await add.locator('[name="given_name"]').inputValue(), CARER_GIVEN,
        'what was typed is kept');
      await checkPage(page, 'refused carer');

      // With the family name the carer is recorded.
      await choose(add, 'family_name', carerFamily);
      resp = await submit(page, add, carersPath);
      assert.equal(resp.status(), 303, 'POST with every field');
      await page.waitForURL(`${base}${carersPath}`);
      assert.equal(await page.locator('.nhsuk-error-summary').count(), 0);
      assert.ok((await mainText(page)).includes(carerName), 'the page shows the carer');
      await checkPage(page, "person's carers with the carer");
      let carers = await api(page, 'GET', `/api/v1${carersPath}`);
      assert.equal(carers.status, 200);
      assert.equal(carers.body.carers.length, 1, 'one carer recorded');
      let link = carers.body.carers[0];
      assert.equal(link.carer.family_name, carerFamily);
      assert.equal(link.relationship, 'sibling');
      assert.equal(link.consent, null, 'no consent decision yet');
      const linkId = link.id;

      // Consent limited to the crisis plan.
      const consent = page.locator(`form[action="/carer-links/${linkId}/consent"]`);
      assert.equal(await consent.count(), 1, 'the carer has a consent form');
      await choose(consent, 'scope', 'limited');
      await consent.locator('[name="topics"][value="crisis_plan"]').check();
      resp = await submit(page, consent, `/carer-links/${linkId}/consent`);
      assert.equal(resp.status(), 303, 'POST consent limited to the crisis plan');
      await page.waitForURL(`${base}${carersPath}`);
      assert.equal(await page.locator('.nhsuk-error-summary').count(), 0);
      await checkPage(page, "person's carers with consent");
      carers = await api(page, 'GET', `/api/v1${carersPath}`);
      link = carers.body.carers[0];
      assert.equal(link.consent.scope, 'limited');
      assert.deepEqual(link.consent.topics, ['crisis_plan']);
      assert.deepEqual(link.may_know, { care_plan: false, crisis_plan: true,
        medication: false, appointments: false });

      // The carer's copy shows the crisis plan, not the housing section.
      await goto(page, base, `/carer-links/${linkId}/care-plan`, "carer's copy");
      let text = await mainText(page);
      assert.ok(new RegExp(`Care plan for ${carerName}\\W+about ${personName}`, 'i').test(text),
        `the copy says whom it is for and whom about: ${text.slice(0, 200)}`);
      assert.ok(text.includes(CRISIS), 'the copy has the crisis plan');
      assert.ok(text.includes(WARNING), 'the copy has the early warning signs');
      assert.ok(!text.includes(HOUSING), 'the copy leaves out the housing section');
      assert.ok(!text.includes('go back to college'), 'and the needs and goals');
      await checkPage(page, "carer's copy of the care plan");

      // From the copy's page she records that she gave it to the carer.
      const copiesPath = `/care-plan-versions/${versionId}/copies`;
      const given = page.locator(`main form[action="${copiesPath}"]`);
      assert.equal(await given.count(), 1, 'the carer\'s copy can be recorded as given');
      resp = await submit(page, given, copiesPath);
      assert.equal(resp.status(), 303, 'POST the copy given to the carer');
      assert.equal(await page.locator('.nhsuk-error-summary').count(), 0);
      const version = await api(page, 'GET', `/api/v1/care-plan-versions/${versionId}`);
      assert.equal(version.status, 200);
      const copies = version.body.care_plan_version.copies
        .filter((c) => c.recipient === 'carer');
      assert.equal(copies.length, 1, 'one copy given to a carer');
      assert.equal(copies[0].recipient_name, carerName, 'named as the carer');
      await checkPage(page, 'after recording the carer\'s copy');

      // An assessment offered to the carer (today by default).
      await goto(page, base, carersPath, "person's carers");
      const offer = page.locator(`form[action="/carer-links/${linkId}/assessments"]`);
      assert.equal(await offer.count(), 1, 'the carer can be offered an assessment');
      resp = await submit(page, offer, `/carer-links/${linkId}/assessments`);
      assert.equal(resp.status(), 303, 'POST an offer of assessment');
      await page.waitForURL(`${base}${carersPath}`);
      assert.equal(await page.locator('.nhsuk-error-summary').count(), 0);
      carers = await api(page, 'GET', `/api/v1${carersPath}`);
      const offered = carers.body.carers[0].assessments;
      assert.equal(offered.length, 1, 'one assessment');
      assert.equal(offered[0].status, 'offered');
      assert.equal(await page.locator(`form[action="/carer-assessments/${offered[0].id}"]`)
        .count(), 1, 'the page offers the next step of the assessment');
      assert.match(await mainText(page), /offered/i, 'the page shows it offered');
      assert.equal(await page.locator(`form[action="/carer-links/${linkId}/assessments"]`)
        .count(), 0, 'no second offer while one is in hand');
      await checkPage(page, "person's carers with the assessment offered");

      // A contact with the carer there, naming them.
      const contactsPath = `/service-users/${personId}/contacts`;
      await goto(page, base, contactsPath, 'contacts');
      const contact = page.locator(`form[action="${contactsPath}"]`);
      await contact.locator('#carer_present').check();
      await contact.locator('select[name="carer_link_id"]').selectOption(String(linkId));
      await checkPage(page, 'contacts with a carer to name');
      resp = await submit(page, contact, contactsPath);
      assert.equal(resp.status(), 303, 'POST a contact with the carer there');

      // The person's record: one current carer; the copy and the contact
      // as their involvement, both today, the later recorded first.
      await goto(page, base, `/service-users/${personId}`, "person's record");
      const carersLink = page.locator(`main a[href="${carersPath}"]`).first();
      assert.equal((await carersLink.locator('xpath=..').innerText()).replace(/\s+/g, ' ')
        .trim(), 'Carers (1 current)');
      const involvement = page.locator('#carer-involvement li');
      assert.equal(await involvement.count(), 2, 'two involvement events');
      const events = (await involvement.allInnerTexts()).map((t) => t.replace(/\s+/g, ' '));
      assert.match(events[0], new RegExp(`^Was at a contact with the team: .+, ${carerName}$`));
      assert.match(events[1],
        new RegExp(`^Was given a copy of the care plan: .+, ${carerName}$`));
      await checkPage(page, "person's record with carers");
    });
  });
