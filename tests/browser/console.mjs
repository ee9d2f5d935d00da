// End-to-end walk through the adjudication console in a real browser (Debian's chromium via
// playwright-core; no browser is ever downloaded). Started by tests/console_browser.rs, which
// prepares the lake, the users and the running console, and passes:
//   BASE_URL, FIRST_USER, SECOND_USER, SUPERVISOR, PASSWORD, SCREENSHOTS (a folder),
//   CHROMIUM (optional)
// Steps: log in, open the queue, open the oldest case, see the minutiae overlay and the fused
// score with its threshold, claim, decide "duplicate + fraud", log out, log in as the second
// adjudicator, claim, confirm; log in as a supervisor, open the overview (map of Indonesia and
// charts), follow a province to its filtered queue; switch to English and see the queue, the
// case and the overview again. Every page is in Bahasa Indonesia until the switch. No request
// may answer 404 (the favicon included).
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
  const missing = [];
  page.on('response', (r) => { if (r.status() === 404) missing.push(r.url()); });
  const lang = () => page.getAttribute('html', 'lang');
  const text = async (sel) => (await page.textContent(sel)).trim();
  const dataState = (sel) => page.getAttribute(sel, 'data-state');

  async function login(user) {
    await page.goto(`${base}/queue`);
    expect(page.url().endsWith('/login'), `logged-out user is sent to the login page (got ${page.url()})`);
    await page.fill('#username', user);
    await page.fill('#password', password);
    await Promise.all([page.waitForURL('**/queue'), page.click('#login')]);
  }

  // 1. Log in and see the queue, in Bahasa Indonesia.
  await login(env('FIRST_USER'));
  const rows = await page.locator('#queue tr.case-row').count();
  expect(rows > 0, 'the queue lists cases');
  result.queue_rows = rows;
  expect((await lang()) === 'id', 'the console speaks Bahasa Indonesia by default');
  expect((await text('h1')) === 'Antrean kasus', `Indonesian queue title (got ${await text('h1')})`);
  expect((await text('#nav-queue')) === 'Antrean kasus', 'Indonesian navigation');
  const zone = await page.locator('#queue tr.case-row td').nth(4).textContent();
  expect(/\d{2}:\d{2} (WIB|WITA|WIT) \(.*UTC\)/.test(zone), `times in the site's zone and UTC (got ${zone})`);
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
  // Numbers for people: the fused score to one decimal (decimal comma) beside its threshold.
  const scoreId = await text('.fused-score');
  expect(/^\d+,\d$/.test(scoreId), `score to one decimal in Indonesian (got ${scoreId})`);
  const thresholdId = await text('.threshold');
  expect(/ambang ganda ≥ \d+,\d/.test(thresholdId), `threshold beside the score (got ${thresholdId})`);
  result.score_id = scoreId;
  result.threshold_id = thresholdId;
  const hd = await page.locator('td.iris-hd').first().getAttribute('data-hd');
  expect(hd === null || (Number(hd) >= 0 && Number(hd) <= 0.5), `iris as a fractional Hamming distance (got ${hd})`);
  const region = await text('#case-region');
  expect(/\d{2} [A-Z]/.test(region), `region names beside codes (got ${region})`);
  expect((await text('#history-title')) === 'Riwayat NIK', 'Indonesian case page');
  await shot('02-case.png');

  // 3. Claim and decide: duplicate, fraud, with a comment.
  await Promise.all([page.waitForURL(/\?msg=claim$/), page.click('#claim')]);
  await page.check('input[name=outcome][value=duplicate]');
  await page.check('#fraud');
  await page.fill('#comment', 'Same ten fingers under two NIKs; photo matches.');
  await Promise.all([page.waitForURL(/\?msg=decide$/), page.click('#decide')]);
  expect((await dataState('#case-state')) === 'pending_confirmation', 'decision waits for a second person');
  expect((await text('#case-state')) === 'Menunggu konfirmasi', 'the state in Bahasa Indonesia');
  expect((await text('#msg')).startsWith('Berhasil'), 'the action reports success in Bahasa Indonesia');
  expect(await page.locator('#confirm').count() === 0, 'the decider is not offered confirmation');
  await shot('03-decided.png');

  // 4. Log out; log in as the second adjudicator, claim, confirm.
  await Promise.all([page.waitForURL('**/login'), page.click('#logout')]);
  await login(env('SECOND_USER'));
  await page.goto(caseUrl);
  await Promise.all([page.waitForURL(/\?msg=claim$/), page.click('#claim')]);
  await page.fill('#confirmation-comment', 'Agreed: fraud duplicate.');
  await Promise.all([page.waitForURL(/\?msg=confirm$/), page.click('#confirm')]);
  const state = await dataState('#case-state');
  expect(state === 'decided', `the case is decided (got ${state})`);
  const decision = await dataState('#decisions td.decision-state');
  expect(decision === 'final', `the decision is final (got ${decision})`);
  await shot('04-confirmed.png');
  result.state = state;

  // 5. A supervisor's overview: the map of Indonesia and the charts, each linked to its queue.
  await Promise.all([page.waitForURL('**/login'), page.click('#logout')]);
  await login(env('SUPERVISOR'));
  await Promise.all([page.waitForURL('**/overview'), page.click('#nav-overview')]);
  const paths = await page.locator('svg#map a.province path').count();
  expect(paths >= 30, `the map draws the provinces (got ${paths})`);
  result.province_paths = paths;
  expect(await page.locator('svg#per-day a.bar-opened rect').count() === 14, '14 days of opened cases');
  expect(await page.locator('svg#queue-age a.bar-age').count() === 5, 'five age buckets');
  expect((await text('h1')) === 'Ikhtisar', 'Indonesian overview');
  await shot('05-overview.png');
  // Follow the province with the most open cases (any, if none is open) to its queue.
  const provinces = await page.locator('svg#map a.province').evaluateAll((as) =>
    as.map((a) => ({ code: a.dataset.code, open: Number(a.dataset.open), href: a.getAttribute('href') })));
  provinces.sort((a, b) => b.open - a.open);
  // A point of the map where the province itself is what a click hits (islands leave sea
  // inside a province's box).
  let target = null;
  let point = null;
  for (const p of provinces) {
    point = await page.evaluate((code) => {
      const path = document.querySelector(`svg#map a.province[data-code="${code}"] path`);
      path.scrollIntoView();
      const r = path.getBoundingClientRect();
      for (let i = 1; i < 24; i++) for (let j = 1; j < 24; j++) {
        const x = r.left + (r.width * i) / 24, y = r.top + (r.height * j) / 24;
        if (document.elementFromPoint(x, y) === path) return { x, y };
      }
      return null;
    }, p.code);
    if (point) { target = p; break; }
  }
  expect(target, 'some province can be clicked on the map');
  expect(target.href === `/queue?province=${target.code}`, `a province links to its queue (${target.href})`);
  await Promise.all([
    page.waitForURL(`**/queue?province=${target.code}`),
    page.mouse.click(point.x, point.y),
  ]);
  const filtered = await page.locator('#queue tr.case-row').count();
  expect(filtered === target.open, `the filtered queue lists the province's ${target.open} open cases (got ${filtered})`);
  expect((await text('#queue-filter')).includes(target.code), 'the queue says which province it shows');
  result.followed_province = target;
  await shot('06-queue-province.png');

  // 6. Switch to English: the same pages, in English.
  await page.goto(`${base}/queue`);
  await page.click('#lang-en');
  await page.waitForSelector('html[lang=en]');
  expect(page.url().endsWith('/queue'), `the switch comes back to the page (got ${page.url()})`);
  expect((await lang()) === 'en', 'the switch turns the console to English');
  expect((await text('h1')) === 'Case queue', `English queue title (got ${await text('h1')})`);
  await shot('07-queue-en.png');
  await page.goto(caseUrl);
  const scoreEn = await text('.fused-score');
  expect(/^\d+\.\d$/.test(scoreEn), `score to one decimal in English (got ${scoreEn})`);
  const thresholdEn = await text('.threshold');
  expect(/duplicate threshold ≥ \d+\.\d/.test(thresholdEn), `threshold beside the score (got ${thresholdEn})`);
  expect((await text('#history-title')) === 'NIK history', 'English case page');
  expect((await text('#case-state')) === 'Decided', 'the state in English');
  result.score_en = scoreEn;
  await shot('08-case-en.png');
  await page.goto(`${base}/overview`);
  expect((await text('h1')) === 'Overview', 'English overview');
  await shot('09-overview-en.png');
  // The choice stays after logging out and in again (a cookie of this browser).
  await Promise.all([page.waitForURL('**/login'), page.click('#logout')]);
  expect((await text('h1')) === 'Log in', 'the login page keeps the language');
  // Back to Bahasa Indonesia.
  await page.click('#lang-id');
  await page.waitForSelector('html[lang=id]');
  expect((await text('h1')) === 'Masuk', 'and switches back');

  // 7. The icon is served, and nothing the pages asked for was missing.
  for (const icon of ['/favicon.ico', '/favicon.svg']) {
    const r = await page.request.get(`${base}${icon}`);
    expect(r.status() === 200, `${icon} is served (got ${r.status()})`);
  }
  expect(await page.locator('link[rel=icon]').count() === 1, 'pages name their icon');
  expect(missing.length === 0, `no request answered 404: ${missing.join(', ')}`);
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
