// End-to-end walk through the adjudication console in a real browser (Debian's chromium via
// playwright-core; no browser is ever downloaded). Started by tests/console_browser.rs, which
// prepares the lake, the users and the running console, and passes:
//   BASE_URL, FIRST_USER, SECOND_USER, PASSWORD, SCREENSHOTS (a folder), CHROMIUM (optional)
// Steps: log in, open the queue, open the oldest case, see the minutiae overlay, claim,
// decide "duplicate + fraud", log out, log in as the second adjudicator, claim, confirm.
// Prints one JSON line with what it saw; exits non-zero on the first failed expectation.
import { chromium } from 'playwright-core';
import path from 'node:path';

const env = (k) => { const v = process.env[k]; if (!v) throw new Error(`${k} not set`); return v; };
const base = env('BASE_URL');
const shots = env('SCREENSHOTS');
const password = env('PASSWORD');
const expect = (cond, what) => { if (!cond) throw new Error(`expectation failed: ${what}`); };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
  headless: true,
});
const result = {};
let page;
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  page = await context.newPage();
  const shot = (name) => page.screenshot({ path: path.join(shots, name), fullPage: true });

  async function login(user) {
    await page.goto(`${base}/queue`);
    expect(page.url().endsWith('/login'), `logged-out user is sent to the login page (got ${page.url()})`);
    await page.fill('#username', user);
    await page.fill('#password', password);
    await Promise.all([page.waitForURL('**/queue'), page.click('#login')]);
  }

  // 1. Log in and see the queue.
  await login(env('FIRST_USER'));
  const rows = await page.locator('#queue tr.case-row').count();
  expect(rows > 0, 'the queue lists cases');
  result.queue_rows = rows;
  await shot('01-queue.png');

  // 2. Open the oldest case and see the overlay.
  await Promise.all([page.waitForURL('**/cases/*'), page.locator('a.case-link').first().click()]);
  const caseUrl = page.url();
  result.case_url = caseUrl;
  await page.locator('svg.overlay').first().waitFor();
  const pairs = await page.locator('svg.overlay line.pair').count();
  expect(pairs > 0, 'the overlay joins paired minutiae');
  result.overlay_pairs = pairs;
  const photos = await page.locator('img.photo').evaluateAll((imgs) => imgs.map((i) => i.naturalWidth));
  expect(photos.length >= 2 && photos.every((w) => w > 0), `photos load (${photos})`);
  await shot('02-case.png');

  // 3. Claim and decide: duplicate, fraud, with a comment.
  await Promise.all([page.waitForURL(/\?msg=claim$/), page.click('#claim')]);
  await page.check('input[name=outcome][value=duplicate]');
  await page.check('#fraud');
  await page.fill('#comment', 'Same ten fingers under two NIKs; photo matches.');
  await Promise.all([page.waitForURL(/\?msg=decide$/), page.click('#decide')]);
  expect((await page.textContent('#case-state')).trim() === 'pending_confirmation', 'decision waits for a second person');
  expect(await page.locator('#confirm').count() === 0, 'the decider is not offered confirmation');
  await shot('03-decided.png');

  // 4. Log out; log in as the second adjudicator, claim, confirm.
  await Promise.all([page.waitForURL('**/login'), page.click('#logout')]);
  await login(env('SECOND_USER'));
  await page.goto(caseUrl);
  await Promise.all([page.waitForURL(/\?msg=claim$/), page.click('#claim')]);
  await page.fill('#confirmation-comment', 'Agreed: fraud duplicate.');
  await Promise.all([page.waitForURL(/\?msg=confirm$/), page.click('#confirm')]);
  const state = (await page.textContent('#case-state')).trim();
  expect(state === 'decided', `the case is decided (got ${state})`);
  const decision = (await page.textContent('#decisions td.decision-state')).trim();
  expect(decision === 'final', `the decision is final (got ${decision})`);
  await shot('04-confirmed.png');
  result.state = state;
  console.log(JSON.stringify(result));
} catch (e) {
  if (page) {
    await page.screenshot({ path: path.join(shots, 'failure.png'), fullPage: true }).catch(() => {});
    console.error(`failed at ${page.url()}:\n${(await page.textContent('body').catch(() => '')).slice(0, 2000)}`);
  }
  throw e;
} finally {
  await browser.close();
}
