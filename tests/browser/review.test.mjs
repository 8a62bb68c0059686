// review.test.mjs - a CPA review reminder from queueing to clearing, in a
// real browser: Debian's chromium driven by playwright-core against the
// running stack at CPA_BASE_URL.  A care coordinator (coord.north) gets a
// person of her own (a referral she accepts through the JSON API with the
// page's session and CSRF token, so no other test's people are touched),
// raises their level of care to enhanced on the episode page, which brings
// the review forward to within 28 days, and sees that on the person's
// reviews page.  The review's due date is then moved to tomorrow in the
// database, so that the coordinator's "2 days before" step has passed: the
// stack's own cpa-remindd, woken by the change (NOTIFY cpa_due), queues the
// reminder within seconds, and the header's "Inbox (N)" count goes up.  She
// opens the inbox from the header, finds the reminder, follows its link to
// the person's reviews, opens the due review, tries to record it with the
// date held missing (the NHS error summary names the field), then records
// it (attendees, outcome continue, the person's experience answers).  The
// review shows as held, the next one is due by the enhanced policy (three
// months), the inbox no longer lists the reminder, the reminder is cleared
// in the database and the header's unread count has fallen.  axe-core checks every
// page visited for serious or critical accessibility violations, and a
// listener checks that the Content-Security-Policy is not violated.
// Run from the repository root: node --test tests/browser/
//
// Needs (set by ./dev test): CPA_BASE_URL, CPA_DEMO_LOGINS (the line of
// coord.north is used) and CPA_PG_SUPER_DSN (a libpq conninfo of the
// stack's database as superuser, used by psql for the due date and the
// final check); the stack's cpa-remindd must be running.  Without the
// variables the test fails saying so.
//
// The set-up shared with the other browser tests is in lib.mjs.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  stackFromEnv, launchBrowser, withPage, checkPage, signIn, goto, postFrom,
  errorSummary, fieldError, ownPerson, uniqueFamilyName,
} from './lib.mjs';

const TIMEOUT = 180_000;
const COORDINATOR = 'coord.north';
const COORDINATOR_NAME = 'Aisha Rahman';
const TEAM = 'Riverside Community Mental Health Team';
const GIVEN = 'Tobenna';
const PSQL = '/usr/lib/postgresql/15/bin/psql';
// How long cpa-remindd may take to queue the reminder once woken.
const REMINDER_WAIT_MS = 30_000;

// What the coordinator records at the review.
const OTHERS = 'Dr Okonjo (GP) and an advocate from Mind';
const NOTES = 'Mood steadier since the medication change; wants to try volunteering';
const ANSWERS = {
  exp_involved: 'yes',
  exp_choice: 'partly',
  exp_knows_plan: 'yes',
  exp_knows_medication: 'no',
  exp_knows_complain: 'declined',
};
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July',
  'August', 'September', 'October', 'November', 'December'];

let base;		// CPA_BASE_URL without a trailing slash
let coordinator;	// { username, password } of coord.north
let superDsn;		// CPA_PG_SUPER_DSN
let browser;

before(async () => {
  ({ base, login: coordinator } = stackFromEnv({ username: COORDINATOR }));
  superDsn = process.env.CPA_PG_SUPER_DSN;
  if (!superDsn)
    throw new Error('CPA_PG_SUPER_DSN is not set: it names the test stack\'s database ' +
      '(./dev test sets it)');
  browser = await launchBrowser(base);
});

after(async () => {
  if (browser)
    await browser.close();
});

// One SQL statement as the stack's superuser; its rows as arrays of
// strings (psql's unaligned output, fields split on tabs).
async function sql(statement) {
  const { stdout } = await promisify(execFile)(PSQL, ['-X', '-q', '-A', '-t',
    '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-d', superDsn, '-c', statement],
  { timeout: 15_000 });
  return stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
}

// An id from the API as a number that may go into SQL text.
function sqlId(v, what) {
  const n = Number(v);
  assert.ok(Number.isSafeInteger(n) && n > 0, `${what} is an id: ${v}`);
  return n;
}

// Today in the UK ("YYYY-MM-DD"): the database's current_date (its
// timezone is Europe/London).
function ukToday() {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London',
    year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
}

const pad = (n) => String(n).padStart(2, '0');

function plusDays(day, n) {
  const [y, m, d] = day.split('-').map(Number);
  const t = new Date(Date.UTC(y, m - 1, d + n));
  return `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
}

// PostgreSQL's date + n months: the same day, or the month's last day when
// it has fewer.
function plusMonths(day, n) {
  const [y, m, d] = day.split('-').map(Number);
  const k = (m - 1) + n;
  const ny = y + Math.floor(k / 12);
  const nm = (k % 12) + 1;
  const last = new Date(Date.UTC(ny, nm, 0)).getUTCDate();
  return `${ny}-${pad(nm)}-${pad(Math.min(d, last))}`;
}

// A date as the pages write it: "3 March 2026".
function dateText(day) {
  const [y, m, d] = day.split('-').map(Number);
  return `${d} ${MONTHS[m - 1]} ${y}`;
}

// A new person of the coordinator's own (see ownPerson in lib.mjs), with
// ids that may go into SQL text: { personId, episodeId, family }.
async function ownCase(page) {
  const family = uniqueFamilyName('Obi');
  const { personId, episodeId } = await ownPerson(page, TEAM, {
    given_name: GIVEN, family_name: family,
    reason: 'Low mood and poor sleep since losing his job',
  });
  return {
    personId: sqlId(personId, 'the person'),
    episodeId: sqlId(episodeId, 'the episode'),
    family,
  };
}

// Clicks link and waits for the page at path.
async function follow(page, link, path) {
  await Promise.all([page.waitForURL(`${base}${path}`), link.click()]);
  await page.waitForLoadState('load');
}

// The unread count in the header's inbox link ("Inbox (N)"), checked
// against its words for screen readers (": N unread").
async function headerCount(page, where) {
  const link = page.locator('header #app-inbox-link');
  assert.equal(await link.count(), 1, `${where}: the header has the inbox link`);
  assert.ok(await link.isVisible(), `${where}: the inbox link is visible`);
  const shown = (await link.locator('span[aria-hidden="true"]').textContent()).trim();
  const m = /^\((\d+)\)$/.exec(shown);
  assert.ok(m, `${where}: the inbox link shows "(N)", not "${shown}"`);
  assert.match((await link.innerText()).replace(/\s+/g, ' '), new RegExp(`^Inbox \\(${m[1]}\\)`),
    `${where}: the link reads "Inbox (${m[1]})"`);
  assert.equal((await link.locator('.nhsuk-u-visually-hidden').textContent()).trim(),
    `: ${m[1]} unread`, `${where}: screen readers hear the same count`);
  return Number(m[1]);
}

// The value of the summary list row whose key is key.
async function rowValue(scope, key) {
  const row = scope.locator('.nhsuk-summary-list__row')
    .filter({ has: scope.page().locator('dt', { hasText: new RegExp(`^${key}$`) }) });
  assert.equal(await row.count(), 1, `one "${key}" row`);
  return (await row.locator('dd').innerText()).replace(/\s+/g, ' ').trim();
}

// The inbox card of the reminder that links to path (none or one).
const reminderCard = (page, path) => page.locator('main .nhsuk-card')
  .filter({ has: page.locator(`h2 a[href="${path}"]`) });

const holdForm = (page, id) => page.locator(`form[action="/reviews/${id}/hold"]`);

// Everything the hold form asks but the date held, which it fills in
// itself (today).
async function fillHold(page, id) {
  const form = holdForm(page, id);
  await form.getByRole('group', { name: 'The person' })
    .getByLabel('Attended', { exact: true }).check();
  await form.getByRole('group', { name: 'A carer' })
    .getByLabel('Did not attend', { exact: true }).check();
  await form.getByRole('group', { name: 'The care coordinator' })
    .getByLabel('Attended', { exact: true }).check();
  await form.getByLabel('Anyone else who attended (optional)').fill(OTHERS);
  await form.getByRole('group', { name: 'Outcome' })
    .getByLabel('Continue at the same level', { exact: true }).check();
  await form.getByLabel('Notes (optional)').fill(NOTES);
  for (const [name, value] of Object.entries(ANSWERS))
    await form.locator(`input[name="${name}"][value="${value}"]`).check();
  await form.getByRole('group', { name: 'Overall, how satisfied are you with your care?' })
    .getByLabel('4', { exact: true }).check();
}

// Asserts the hold form shows what fillHold chose.
async function assertHold(page, id, when) {
  const form = holdForm(page, id);
  assert.equal(await form.count(), 1, `${when}: the review can still be recorded`);
  assert.ok(await form.locator('#attended_user').isChecked(), `${when}: the person attended`);
  assert.ok(await form.locator('#attended_carer-no').isChecked(), `${when}: no carer`);
  assert.ok(await form.locator('#attended_coordinator').isChecked(),
    `${when}: the coordinator attended`);
  assert.equal(await form.locator('#attended_others').inputValue(), OTHERS, `${when}: others`);
  assert.ok(await form.locator('input[name="outcome"][value="continue"]').isChecked(),
    `${when}: outcome continue`);
  assert.equal(await form.locator('#notes').inputValue(), NOTES, `${when}: notes`);
  for (const [name, value] of Object.entries(ANSWERS))
    assert.ok(await form.locator(`input[name="${name}"][value="${value}"]`).isChecked(),
      `${when}: ${name} ${value}`);
  assert.ok(await form.locator('input[name="exp_satisfaction"][value="4"]').isChecked(),
    `${when}: satisfaction 4`);
}

test('a coordinator sees a review reminder, records the review and the reminder clears',
  { timeout: TIMEOUT }, async () => {
    await withPage(browser, 'review', async (page) => {
      await signIn(page, base, coordinator);
      await checkPage(page, 'home page');
      const person = await ownCase(page);
      const reviewsPath = `/service-users/${person.personId}/reviews`;
      const fullName = `${GIVEN} ${person.family}`;

      // From the person's record to the episode; raise the level.
      await goto(page, base, `/service-users/${person.personId}`, "person's record");
      await checkPage(page, "person's record");
      await follow(page, page.locator(`main a[href="/episodes/${person.episodeId}"]`),
        `/episodes/${person.episodeId}`);
      assert.equal(await rowValue(page.locator('main'), 'Level of care'), 'Standard');
      await checkPage(page, 'episode page');
      const levelForm = page.locator(`form[action="/episodes/${person.episodeId}/level"]`);
      await levelForm.getByLabel('New level').selectOption('enhanced');
      await levelForm.getByLabel('Reason').fill('Two missed appointments and rising risk');
      let resp = await postFrom(page, `/episodes/${person.episodeId}/level`,
        levelForm.getByRole('button', { name: 'Change level' }));
      assert.equal(resp.status(), 303, 'POST /episodes/{id}/level');
      await page.waitForURL(`${base}/episodes/${person.episodeId}`);
      assert.equal(await page.locator('.nhsuk-error-summary').count(), 0);
      assert.equal(await rowValue(page.locator('main'), 'Level of care'), 'Enhanced');
      await checkPage(page, 'episode page after the level change');

      // The review came forward to within 28 days, for that reason.
      const changedOn = ukToday();
      await goto(page, base, reviewsPath, "person's reviews");
      const nextCard = page.locator('main h2:text-is("Next review") + .nhsuk-card');
      let card = await nextCard.innerText();
      assert.ok(card.includes(`Due by ${dateText(plusDays(changedOn, 28))}`),
        `the review is due 28 days after the level change: ${card}`);
      assert.ok(card.includes('Why it is due then: Level of care changed'), card);
      assert.equal(await rowValue(page.locator('main'), 'Level of care'), 'Enhanced CPA');
      await checkPage(page, "person's reviews after the level change");
      const before = await headerCount(page, 'before the reminder');

      // Due tomorrow: the coordinator's "2 days before" step has passed.
      const moved = await sql('UPDATE cpa_review SET due_date =' +
        " (now() AT TIME ZONE 'Europe/London')::date + 1, version = version + 1" +
        ` WHERE episode_id = ${person.episodeId} AND status = 'due'` +
        ' RETURNING id, due_date');
      assert.equal(moved.length, 1, 'the episode has one review due');
      const reviewId = sqlId(moved[0][0], 'the review');
      const dueOn = moved[0][1];

      // cpa-remindd queues the reminder; the header count goes up.
      const deadline = Date.now() + REMINDER_WAIT_MS;
      let count = before;
      for (;;) {
        await page.reload();
        count = await headerCount(page, 'waiting for the reminder');
        if (count > before || Date.now() > deadline)
          break;
        await page.waitForTimeout(500);
      }
      assert.ok(count > before, `within ${REMINDER_WAIT_MS / 1000} s the header count ` +
        `rose above ${before} (is the stack's cpa-remindd running?)`);
      card = await nextCard.innerText();
      assert.ok(card.includes(`Due by ${dateText(dueOn)}`), `the review is due tomorrow: ${card}`);
      await checkPage(page, "person's reviews with the reminder queued");

      // The inbox, from the header, lists the reminder as new.
      await follow(page, page.locator('header #app-inbox-link'), '/inbox');
      assert.equal(await page.locator('h1').innerText(), 'Inbox');
      let reminder = reminderCard(page, reviewsPath);
      assert.equal(await reminder.count(), 1, 'the inbox lists the reminder once');
      assert.equal((await reminder.locator('h2').innerText()).replace(/\s+/g, ' ').trim(),
        `New CPA review due: ${fullName}`);
      assert.equal(await rowValue(reminder, 'Due'), dateText(dueOn));
      assert.equal(await rowValue(reminder, 'Team'), TEAM);
      assert.match(await rowValue(reminder, 'Sent to you'), /^as care coordinator, /);
      const ack = await reminder.locator('form[action$="/acknowledge"]').getAttribute('action');
      const reminderId = sqlId(/^\/reminders\/(\d+)\/acknowledge$/.exec(ack)?.[1],
        'the reminder');
      await checkPage(page, 'inbox with the reminder');

      // Its link leads to the person's reviews, and on to the due review.
      await follow(page, reminder.locator(`h2 a[href="${reviewsPath}"]`), reviewsPath);
      await checkPage(page, "person's reviews from the inbox");
      await follow(page, nextCard.getByRole('link', { name: 'Record this review' }),
        `/reviews/${reviewId}`);
      assert.equal(await rowValue(page.locator('main'), 'Status'), 'Due');
      assert.equal(await rowValue(page.locator('main'), 'Due by'),
        `${dateText(dueOn)} (Level of care changed)`);
      const today = await holdForm(page, reviewId).locator('#held_on').inputValue();
      assert.match(today, /^\d{4}-\d{2}-\d{2}$/, 'the date held defaults to a date');
      const nextDue = plusMonths(today, 3);
      assert.ok((await page.locator('#next_due_date-hint').innerText())
        .includes(`by ${dateText(nextDue)} for a review held today`),
      'the hint gives the enhanced policy date, three months on');
      await checkPage(page, 'review to record');

      // Recording it without the date held is refused, naming the field.
      await fillHold(page, reviewId);
      await holdForm(page, reviewId).locator('#held_on').fill('');
      resp = await postFrom(page, `/reviews/${reviewId}/hold`,
        holdForm(page, reviewId).getByRole('button', { name: 'Record the review' }));
      assert.equal(resp.status(), 422, 'POST /reviews/{id}/hold without the date held');
      const summary = await errorSummary(page);
      const links = summary.locator('a');
      assert.equal(await links.count(), 1, 'the summary lists one problem');
      assert.equal(await links.first().getAttribute('href'), '#held_on',
        'the summary links to the date held');
      const problem = (await links.first().innerText()).trim();
      assert.equal(problem, 'Enter date held', 'the summary names the missing field');
      assert.equal((await page.locator('label[for="held_on"]').innerText()).trim(),
        'Date held', 'the linked field is labelled Date held');
      const byField = fieldError(page, '#held_on');
      assert.equal(await byField.count(), 1, 'one error message by the date held');
      assert.ok((await byField.innerText()).includes(problem),
        'the message by the field is the summary\'s');
      await assertHold(page, reviewId, 'after the refused hold');
      assert.equal(await rowValue(page.locator('main'), 'Status'), 'Due',
        'the refused hold recorded nothing');
      await checkPage(page, 'refused hold');
      await links.first().click();
      await page.waitForFunction(() => document.activeElement &&
        document.activeElement.id === 'held_on', null, { timeout: 5000 })
        .catch(() => assert.fail('the summary link did not focus the date held'));

      // With the date, the review is recorded.
      await holdForm(page, reviewId).locator('#held_on').fill(today);
      resp = await postFrom(page, `/reviews/${reviewId}/hold`,
        holdForm(page, reviewId).getByRole('button', { name: 'Record the review' }));
      assert.equal(resp.status(), 303, 'POST /reviews/{id}/hold');
      await page.waitForURL(`${base}${reviewsPath}`);
      assert.equal(await page.locator('.nhsuk-error-summary').count(), 0);
      card = await nextCard.innerText();
      assert.ok(card.includes(`Due by ${dateText(nextDue)}`),
        `the next review is due by the enhanced policy: ${card}`);
      assert.ok(card.includes('Why it is due then: Regular review'), card);
      const held = page.locator('main table tbody tr');
      assert.equal(await held.count(), 1, 'one review held');
      assert.deepEqual((await held.locator('td').allInnerTexts()).map((t) => t.trim()),
        [dateText(today), 'Continue at the same level', dateText(nextDue), COORDINATOR_NAME]);
      await checkPage(page, "person's reviews after the hold");

      await follow(page, held.locator(`a[href="/reviews/${reviewId}"]`), `/reviews/${reviewId}`);
      const main = page.locator('main');
      assert.equal((await page.locator('h1').innerText()).replace(/\s+/g, ' ').trim(),
        `${fullName} - CPA review held ${dateText(today)}`);
      assert.equal(await rowValue(main, 'Status'), 'Held');
      assert.equal(await rowValue(main, 'Outcome'), 'Continue at the same level');
      assert.equal(await rowValue(main, 'Next review by'), dateText(nextDue));
      assert.equal(await rowValue(main, 'Who attended'),
        `The person: yes A carer: no The care coordinator: yes Others: ${OTHERS}`);
      assert.equal(await rowValue(main, "The person's experience"),
        'Felt involved in planning: Yes Had a choice: Partly ' +
        'Knows they have a written plan: Yes Knows about their medication: No ' +
        'Knows how to complain: Declined to answer Overall satisfaction: 4 out of 5');
      assert.equal(await rowValue(main, 'Notes'), NOTES);
      assert.match(await rowValue(main, 'Recorded by'), new RegExp(`^${COORDINATOR_NAME}, `));
      assert.equal(await holdForm(page, reviewId).count(), 0, 'a held review is not recorded again');
      await checkPage(page, 'held review');

      // The reminder is gone from the inbox and cleared (not acknowledged),
      // and the header count fell: it counts unread reminders, so opening
      // the inbox already took this one off; clearing keeps it off.
      await follow(page, page.locator('header #app-inbox-link'), '/inbox');
      reminder = reminderCard(page, reviewsPath);
      assert.equal(await reminder.count(), 0, 'the inbox no longer lists the reminder');
      assert.equal(await page.locator(`form[action="/reminders/${reminderId}/acknowledge"]`)
        .count(), 0, 'nor any form of it');
      const after = await headerCount(page, 'after the review was held');
      assert.ok(after < count, `the header count fell from ${count} to ${after}`);
      await checkPage(page, 'inbox after the hold');
      const cleared = await sql('SELECT cleared_at IS NOT NULL, acknowledged_at IS NULL' +
        ` FROM reminder WHERE id = ${reminderId}`);
      assert.deepEqual(cleared, [['t', 't']],
        'holding the review cleared the reminder (not an acknowledgement)');
    });
  });
