// dashboard.test.mjs - a district manager's dashboards, in a real browser:
// Debian's chromium driven by playwright-core against the running stack at
// CPA_BASE_URL.  The summaries are refreshed first (dash_refresh, as
// cpa-remindd does, through psql as the stack's superuser).  dm.north
// (district manager of Riverside) signs in, opens the dashboard from the
// home page's link (or at /dashboard when the home page has none), follows
// the link to Riverside's district dashboard and sees its charts (SVG,
// each with a title that names it for screen readers) and tables, and the
// figures as of the refresh; follows a team's link to the team dashboard,
// then a care coordinator's link to the people behind a figure, and sees
// a list of people, each a link to their record, which opens.  axe-core
// checks every page visited for serious or critical accessibility
// violations, and a listener checks that the Content-Security-Policy is
// not violated.
// Run from the repository root: node --test tests/browser/
//
// Needs (set by ./dev test): CPA_BASE_URL, CPA_DEMO_LOGINS (the line of
// dm.north is used) and CPA_PG_SUPER_DSN.  Without them the test fails
// saying so.
//
// The set-up shared with the other browser tests is in lib.mjs.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { stackFromEnv, launchBrowser, withPage, checkPage, signIn, goto }
  from './lib.mjs';

const TIMEOUT = 120_000;
const MANAGER = 'dm.north';
const DISTRICT = 'Riverside';
const PSQL = '/usr/lib/postgresql/15/bin/psql';

let base;	// CPA_BASE_URL without a trailing slash
let manager;	// { username, password } of dm.north
let superDsn;	// CPA_PG_SUPER_DSN
let browser;

before(async () => {
  ({ base, login: manager } = stackFromEnv({ username: MANAGER }));
  superDsn = process.env.CPA_PG_SUPER_DSN;
  if (!superDsn)
    throw new Error('CPA_PG_SUPER_DSN is not set: run through "./dev test"');
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
  { timeout: 30_000 });
  return stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
}

// The main content's text with white space collapsed.
async function mainText(page) {
  return (await page.locator('main').innerText()).replace(/\s+/g, ' ');
}

// Clicks link (a locator) and waits for the page it opens, which must
// answer 200; what names it.
async function follow(page, link, what) {
  const href = await link.getAttribute('href');
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'GET' &&
      r.request().resourceType() === 'document'),
    link.click(),
  ]);
  await page.waitForLoadState('load');
  assert.equal(resp.status(), 200, `GET ${href} (${what})`);
  return href;
}

// Every chart of the page is an SVG with a non-empty <title>, and there is
// at least one; and at least one table with a header row.
async function checkChartsAndTables(page, what) {
  const charts = page.locator('main svg');
  const n = await charts.count();
  assert.ok(n > 0, `${what}: no chart`);
  for (let i = 0; i < n; i++) {
    const title = charts.nth(i).locator('title').first();
    assert.equal(await title.count(), 1, `${what}: chart ${i + 1} has no <title>`);
    assert.ok((await title.textContent()).trim().length > 0,
      `${what}: chart ${i + 1} has an empty <title>`);
  }
  assert.ok(await page.locator('main table th').count() > 0, `${what}: no table`);
}

test('a district manager goes from the district to a coordinator\'s people',
  { timeout: TIMEOUT }, async () => {
    const out = await sql("SELECT dash_refresh(now(), interval '0')::text");
    assert.match(out[0][0], /"refreshed"/, 'the summaries were refreshed');
    const [[districtId]] = await sql(
      `SELECT d.id FROM district d JOIN site s ON s.id = d.site_id
        WHERE s.code = 'north' AND d.name = '${DISTRICT}'`);

    await withPage(browser, 'dashboard', async (page) => {
      await signIn(page, base, manager);
      const home = page.locator('main a[href="/dashboard"]');
      if (await home.count() > 0)
        await follow(page, home.first(), 'the dashboard from the home page');
      else
        await goto(page, base, '/dashboard', 'dashboard');
      assert.equal(new URL(page.url()).pathname, '/dashboard');
      await checkChartsAndTables(page, 'the manager\'s dashboard');
      await checkPage(page, 'the manager\'s dashboard');

      // Riverside, the one district dm.north manages.
      const districtLink = page.locator(`main a[href^="/dashboard/districts/${districtId}"]`);
      assert.ok(await districtLink.count() > 0, 'a link to the district');
      await follow(page, districtLink.first(), 'the district dashboard');
      assert.equal(new URL(page.url()).pathname, `/dashboard/districts/${districtId}`);
      assert.match(await mainText(page), new RegExp(DISTRICT));
      await checkChartsAndTables(page, 'the district dashboard');
      await checkPage(page, 'the district dashboard');

      // A team of the district.
      const teamLink = page.locator('main a[href^="/dashboard/teams/"]');
      assert.ok(await teamLink.count() > 0, 'links to the district\'s teams');
      const teamHref = await follow(page, teamLink.first(), 'a team dashboard');
      const teamPath = new URL(teamHref, base).pathname;
      assert.match(teamPath, /^\/dashboard\/teams\/\d+$/);
      await checkChartsAndTables(page, 'the team dashboard');
      await checkPage(page, 'the team dashboard');

      // A care coordinator's people behind a figure.
      const people = page.locator(
        `main a[href^="${teamPath}/people?"][href*="coordinator="]`);
      assert.ok(await people.count() > 0, 'links to a coordinator\'s people');
      const peopleHref = await follow(page, people.first(), 'the drill-down');
      const url = new URL(page.url());
      assert.equal(url.pathname, `${teamPath}/people`);
      assert.ok(url.searchParams.get('figure'), `a figure in ${peopleHref}`);
      const records = page.locator('main a[href^="/service-users/"]');
      assert.ok(await records.count() > 0, 'the list has people');
      const name = (await records.first().innerText()).trim();
      assert.ok(name.length > 0, 'a person is named');
      await checkPage(page, 'the drill-down');

      await follow(page, records.first(), 'a person\'s record');
      assert.match(new URL(page.url()).pathname, /^\/service-users\/\d+/);
      await checkPage(page, 'the person\'s record');
    });
  });
