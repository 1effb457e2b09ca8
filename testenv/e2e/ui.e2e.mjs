// End-to-end test of the admins' page at /ui/, in headless Chromium driven by playwright-core.
//
//   BASE_URL=http://127.0.0.1:8000 CHROMIUM=/usr/bin/chromium OUT_DIR=out node ui.e2e.mjs
//
// The service must run in demo mode on fresh demo data (cmd/recordingsd/ui_e2e_test.go starts
// it). Each step is printed; the first failure stops the run with exit code 1, after a
// screenshot of the page as it was (failure.png). Screenshots of the main states go to OUT_DIR.

import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const BASE = (process.env.BASE_URL || 'http://127.0.0.1:8000').replace(/\/$/, '');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const OUT = process.env.OUT_DIR || 'out';
const ACCOUNT = process.env.DEMO_ACCOUNT || '1ce10f31b0f81aa21480280c9a144e2d';
// The demo's token is a freshly minted Kazoo JWT: ask the page's own configuration for it.
const TOKEN = process.env.DEMO_TOKEN || (await (await fetch(`${BASE}/ui/config.json`)).json()).demo_token;
const TIMEZONE = 'America/New_York';

mkdirSync(OUT, { recursive: true });
const started = Date.now();
let step = '';
let page;

const log = (...a) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s]`, ...a);

async function shot(name, fullPage = true) {
  const text = await page.evaluate(() => document.body.innerText);
  assert.doesNotMatch(text, /\b(undefined|null|NaN|\[object Object\])\b/, 'no rendering slip on the page');
  const path = join(OUT, `${name}.png`);
  await page.screenshot({ path, fullPage });
  log(`  screenshot ${path}`);
}

async function run(name, fn) {
  step = name;
  log(`STEP ${name}`);
  await fn();
}

// The ids and data-* of the table's rows, in order.
const rows = () => page.$$eval('#rows tr', (trs) => trs.map((tr) => ({
  id: tr.dataset.id,
  start: Number(tr.dataset.start),
  state: tr.dataset.state,
  text: tr.innerText,
})));

// waitListed waits until a listing has finished and the page shows its outcome.
async function waitListed() {
  await page.waitForFunction(() => document.getElementById('table').getAttribute('aria-busy') === 'false'
    && ['ok', 'empty', 'error'].includes(document.getElementById('state').dataset.kind));
}

async function api(method, path, body) {
  const res = await fetch(`${BASE}${path}`, {
    method,
    headers: { 'X-Auth-Token': TOKEN, 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

// Playwright gives the browser a fresh, empty profile (--user-data-dir) of its own.
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--autoplay-policy=no-user-gesture-required', '--mute-audio',
  ],
});
const version = browser.version();
log(`browser: Chromium ${version} (${CHROMIUM})`);

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: TIMEZONE, locale: 'en-US', acceptDownloads: true });
  page = await context.newPage();
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));

  // Every audio request and its answer, as the browser saw them.
  const audio = [];
  page.on('response', async (res) => {
    const req = res.request();
    if (!/\/recordings\/[^/?]+\?/.test(req.url()) || !req.url().includes('accept=audio')) return;
    const headers = await req.allHeaders();
    audio.push({ url: req.url(), range: headers.range || '', status: res.status(), contentRange: (await res.allHeaders())['content-range'] || '' });
  });

  await run('sign-in page: the demo token is prefilled', async () => {
    await page.goto(`${BASE}/ui/`);
    await page.locator('#signin').waitFor();
    assert.equal(await page.inputValue('#token'), TOKEN);
    assert.equal(await page.inputValue('#signin-account'), ACCOUNT);
    await shot('01-sign-in');
  });

  await run('a wrong token is refused and said so', async () => {
    await page.fill('#token', 'not-a-token');
    await page.click('#signin-submit');
    await page.locator('#signin-error').waitFor();
    const text = await page.textContent('#signin-error');
    assert.match(text, /refused the token/);
    assert.match(text, /401/);
    await shot('02-token-refused');
  });

  await run('sign in with the demo token: the last 7 days, newest first', async () => {
    await page.fill('#token', TOKEN);
    await page.click('#signin-submit');
    await page.locator('#app').waitFor();
    await waitListed();
    assert.ok(!page.url().includes(TOKEN), `the page URL ${page.url()} carries the token`);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('recordingsd.token')), TOKEN);
    assert.equal(await page.evaluate(() => localStorage.getItem('recordingsd.account')), ACCOUNT);
    const from = await page.inputValue('#from');
    const to = await page.inputValue('#to');
    assert.equal((Date.parse(to) - Date.parse(from)) / 86400000, 6, `default window ${from}..${to}`);
    const r = await rows();
    for (let i = 1; i < r.length; i++) assert.ok(r[i - 1].start >= r[i].start, 'newest first');
    log(`  ${r.length} recordings in the last 7 days`);
  });

  await run('live: a change made elsewhere shows at once, without a reload', async () => {
    await page.waitForFunction(() => document.getElementById('live').dataset.state === 'live');
    assert.equal((await page.textContent('#live')).trim(), '● Live');
    const target = (await rows()).find((r) => r.state === 'active');
    assert.ok(target, 'an active recording on the first page');
    const before = (await rows()).length;
    const r = await api('PATCH', `/v2/accounts/${ACCOUNT}/recordings/${target.id}`, { data: { soft_delete: {} } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    // soft-deleted recordings are hidden by default: the stream takes its row away
    await page.waitForFunction((id) => !document.querySelector(`#rows tr[data-id="${id}"]`), target.id, { timeout: 15000 });
    assert.equal((await rows()).length, before - 1);
    const back = await api('PATCH', `/v2/accounts/${ACCOUNT}/recordings/${target.id}`, { data: { soft_restore: {} } });
    assert.equal(back.status, 200, JSON.stringify(back.body));
    await page.click('#filters button[type=submit]');
    await waitListed();
    assert.ok((await rows()).some((x) => x.id === target.id), 'restored, it is listed again');
  });

  await run('live: a new recording arrives on top of the first page', async () => {
    // The demo writes no recordings of its own: this page's stream is given one recording.created,
    // shaped from a real recording with a new id, while the listing comes from the service.
    const first = (await rows())[0];
    const doc = (await api('GET', `/v2/accounts/${ACCOUNT}/recordings/${first.id}`)).body.data;
    const now = Math.floor(Date.now() / 1000) + 62167219200;
    const id = `${doc.id.slice(0, 7)}${'e2e0'.repeat(8)}`;
    const fresh = { ...doc, id, start: now - 30, caller_id_name: 'Live Arrival', soft_delete: undefined };
    const payload = { event_id: '0000000000000001-0000-00000000000000e2', event: 'recording.created', account_id: ACCOUNT,
      recording_id: id, occurred_at: now, data: fresh };
    const live = await browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: TIMEZONE, locale: 'en-US' });
    await live.route('**/recordings/events*', (route) => route.fulfill({
      status: 200,
      headers: { 'Content-Type': 'text/event-stream' },
      body: `: heartbeat\n\nid: ${payload.event_id}\nevent: ${payload.event}\ndata: ${JSON.stringify(payload)}\n\n`,
    }));
    const p2 = await live.newPage();
    await p2.goto(`${BASE}/ui/`);
    await p2.click('#signin-submit'); // the demo token is prefilled
    await p2.locator(`#rows tr.is-new[data-id="${id}"]`).waitFor({ timeout: 15000 });
    const top = await p2.$eval('#rows tr', (tr) => ({ id: tr.dataset.id, text: tr.innerText }));
    assert.equal(top.id, id, 'the arrival is the first row');
    assert.match(top.text, /Live Arrival/);
    assert.match(await p2.textContent('#summary'), /1 new since the page was listed/);
    const saved = page;
    page = p2;
    await shot('02b-live-arrival');
    page = saved;
    await live.close();
  });

  let page1;
  await run('90 days, 10 per page: a full first page across 31-day slices', async () => {
    await page.selectOption('#page-size', '10');
    await waitListed();
    await page.click('.presets button[data-days="90"]');
    await waitListed();
    page1 = await rows();
    assert.equal(page1.length, 10);
    for (let i = 1; i < page1.length; i++) assert.ok(page1[i - 1].start >= page1[i].start, 'newest first');
    assert.ok(page1.every((r) => r.state === 'active'));
    assert.equal(await page.isEnabled('#next'), true);
    assert.equal(await page.isEnabled('#prev'), false);
    const th = await page.textContent('thead');
    assert.ok(th.includes(TIMEZONE), `the start column names the time zone: ${th}`);
    await shot('03-list');
  });

  await run('page forward and back', async () => {
    await page.click('#next');
    await waitListed();
    const page2 = await rows();
    assert.equal(page2.length, 10, 'the demo has 20 visible recordings in 90 days');
    assert.ok(page2[0].start <= page1[page1.length - 1].start, 'page 2 is older than page 1');
    assert.equal(page2.filter((r) => page1.some((p) => p.id === r.id)).length, 0, 'no recording on both pages');
    assert.equal(await page.textContent('#page-label'), 'Page 2');
    assert.equal(await page.isEnabled('#next'), false, 'the window has no third page');
    await shot('04-page-2');
    await page.click('#prev');
    await waitListed();
    assert.deepEqual((await rows()).map((r) => r.id), page1.map((r) => r.id));
    assert.equal(await page.textContent('#page-label'), 'Page 1');
  });

  await run('loading state is visible while the API answers', async () => {
    let release;
    const held = new Promise((r) => { release = r; });
    await page.route('**/v2/accounts/*/recordings?*', async (route) => { await held; await route.continue(); });
    await page.click('#filters button[type=submit]');
    await page.waitForFunction(() => document.getElementById('state').dataset.kind === 'loading');
    assert.match(await page.textContent('#state'), /Loading recordings/);
    assert.equal(await page.getAttribute('#table', 'aria-busy'), 'true');
    assert.equal(await page.isEnabled('#next'), false, 'no paging while loading');
    await shot('04b-loading');
    release();
    await waitListed();
    await page.unroute('**/v2/accounts/*/recordings?*');
    assert.deepEqual((await rows()).map((r) => r.id), page1.map((r) => r.id));
  });

  await run('a reload of the tab keeps the session (session storage), not the URL', async () => {
    await page.reload();
    await page.locator('#app').waitFor();
    await waitListed();
    assert.equal((await rows()).length > 0, true);
    assert.ok(!page.url().includes(TOKEN));
    // The window is back to its default: show the 90 days again, 10 per page.
    await page.selectOption('#page-size', '10');
    await waitListed();
    await page.click('.presets button[data-days="90"]');
    await waitListed();
    assert.deepEqual((await rows()).map((r) => r.id), page1.map((r) => r.id));
  });

  await run('filter by direction, user and number', async () => {
    await page.selectOption('#direction', 'inbound');
    await waitListed();
    let r = await rows();
    assert.ok(r.length > 0 && r.every((x) => x.text.includes('inbound') && !x.text.includes('outbound')), 'inbound only');
    await page.selectOption('#direction', '');
    await waitListed();

    const owners = await page.$$eval('#owners option', (os) => os.map((o) => ({ id: o.value, label: o.label })));
    assert.ok(owners.length >= 2, `owners learned from the listing: ${JSON.stringify(owners)}`);
    await page.fill('#user', owners[0].id);
    await page.press('#user', 'Enter');
    await waitListed();
    r = await rows();
    assert.ok(r.length > 0, 'the user has recordings');
    const ownerCells = await page.$$eval('#rows td.owner .id', (els) => els.map((e) => e.title));
    assert.ok(ownerCells.every((o) => o === owners[0].id), 'every row is the user\'s');
    await page.fill('#user', '');
    await page.press('#user', 'Enter');
    await waitListed();

    // A number typed without its +, matched as caller or callee (two filtered streams, merged).
    const number = '+14155550101'; // Ada Lovelace: caller of her outbound calls, callee of inbound ones
    await page.fill('#number', number.slice(1));
    await page.press('#number', 'Enter');
    await waitListed();
    r = await rows();
    assert.ok(r.length > 0, 'the number has calls');
    assert.ok(r.every((x) => x.text.includes(number)), 'every row has the number');
    const dirs = new Set(r.map((x) => (x.text.includes('outbound') ? 'out' : 'in')));
    log(`  ${r.length} calls with ${number}, directions ${[...dirs].join('+')}`);
    assert.equal(dirs.size, 2, 'found as caller and as callee');
    for (let i = 1; i < r.length; i++) assert.ok(r[i - 1].start >= r[i].start, 'merged newest first');
    await shot('05-filtered');

    await page.fill('#number', '+10000000000');
    await page.press('#number', 'Enter');
    await waitListed();
    assert.equal(await page.getAttribute('#state', 'data-kind'), 'empty');
    assert.match(await page.textContent('#state'), /No recordings match/);
    await shot('06-empty');
    await page.fill('#number', '');
    await page.press('#number', 'Enter');
    await waitListed();
    assert.equal((await rows()).length, 10);
  });

  await run('play a recording and seek near its end (Range request, 206)', async () => {
    const first = (await rows())[0];
    await page.click(`#rows tr[data-id="${first.id}"] button.play`);
    await page.locator('#player').waitFor();
    const src = await page.getAttribute('#audio', 'src');
    assert.ok(src.includes('auth_token='), 'the token travels in the audio URL');
    assert.ok(!page.url().includes(TOKEN), 'and never in the page URL');
    await page.waitForFunction(() => {
      const a = document.getElementById('audio');
      return a.readyState >= 1 && Number.isFinite(a.duration) && a.duration > 0;
    });
    const duration = await page.$eval('#audio', (a) => a.duration);
    const seekedTo = await page.$eval('#audio', (a) => new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no seeked event')), 10000);
      a.addEventListener('seeked', () => { clearTimeout(t); resolve(a.currentTime); }, { once: true });
      a.currentTime = Math.max(0, a.duration - 0.6);
    }));
    assert.ok(seekedTo >= duration - 1.5, `seeked to ${seekedTo} of ${duration}`);
    const seekable = await page.$eval('#audio', (a) => (a.seekable.length ? a.seekable.end(a.seekable.length - 1) : 0));
    assert.ok(seekable >= duration - 0.1, `seekable to ${seekable} of ${duration}`);
    await page.$eval('#audio', (a) => a.play());
    await page.waitForFunction(() => document.getElementById('audio').ended || document.getElementById('audio').currentTime >= document.getElementById('audio').duration - 0.05, null, { timeout: 10000 });
    const ranged = audio.filter((a) => a.range && a.status === 206);
    log(`  audio requests: ${JSON.stringify(audio.map(({ range, status, contentRange }) => ({ range, status, contentRange })))}`);
    assert.ok(ranged.length > 0, 'the browser sent a Range request and got 206');
    assert.ok(ranged.every((a) => a.url.includes(first.id)));
    assert.ok((await page.getAttribute(`#rows tr[data-id="${first.id}"]`, 'class')).includes('is-playing'));
    await page.$eval('#audio', (a) => { a.currentTime = Math.max(0, a.duration - 1.2); });
    await shot('07-playing', false); // what the admin sees at 1280×800, the player docked below
    log(`  played ${first.id}: ${duration.toFixed(2)} s, seeked to ${seekedTo.toFixed(2)} s`);
  });

  await run('download a recording', async () => {
    const first = (await rows())[0];
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click(`#rows tr[data-id="${first.id}"] button.download`),
    ]);
    assert.match(download.suggestedFilename(), /\.mp3$/);
    const path = join(OUT, 'download.mp3');
    await download.saveAs(path);
    assert.ok(statSync(path).size > 5000, 'the audio came down');
    rmSync(path);
  });

  let gone;
  await run('soft delete two rows in bulk: they vanish', async () => {
    await page.click('#player-close');
    const before = await rows();
    gone = [before[1].id, before[2].id];
    for (const id of gone) await page.check(`#rows tr[data-id="${id}"] input[type=checkbox]`);
    assert.equal(await page.textContent('#bulk-count'), '2 selected');
    await page.click('#bulk-soft-delete');
    await page.locator('#notice.ok').waitFor();
    await waitListed();
    assert.match(await page.textContent('#notice'), /Soft-deleted 2 of 2 recordings/);
    const after = await rows();
    assert.equal(after.filter((r) => gone.includes(r.id)).length, 0, 'the two rows vanished');
    assert.equal(after.length, 10, 'the page refilled from older recordings');
    await shot('08-bulk-soft-deleted');
  });

  await run('show soft-deleted: they are back, marked', async () => {
    await page.check('#show-deleted');
    await waitListed();
    const r = await rows();
    for (const id of gone) {
      const row = r.find((x) => x.id === id);
      assert.ok(row, `${id} listed with soft-deleted ones`);
      assert.equal(row.state, 'soft-deleted');
    }
    await shot('09-show-soft-deleted');
  });

  await run('restore one', async () => {
    await page.click(`#rows tr[data-id="${gone[0]}"] button.restore`);
    await page.locator('#notice.ok').waitFor();
    await waitListed();
    assert.equal(await page.getAttribute(`#rows tr[data-id="${gone[0]}"]`, 'data-state'), 'active');
    assert.equal(await page.getAttribute(`#rows tr[data-id="${gone[1]}"]`, 'data-state'), 'soft-deleted');
  });

  await run('bulk restore shows per-row failures', async () => {
    // Another admin deletes one of the selected recordings behind the page's back.
    await page.check(`#rows tr[data-id="${gone[1]}"] input[type=checkbox]`);
    const other = (await rows()).find((x) => x.state === 'soft-deleted' && x.id !== gone[1]);
    assert.ok(other, 'the demo has soft-deleted recordings of its own');
    await page.check(`#rows tr[data-id="${other.id}"] input[type=checkbox]`);
    const del = await api('DELETE', `/v2/accounts/${ACCOUNT}/recordings/${other.id}`);
    assert.equal(del.status, 200);
    await page.click('#bulk-restore');
    await page.locator('#notice.error').waitFor();
    await waitListed();
    const text = await page.textContent('#notice');
    assert.match(text, /Restored 1 of 2 recordings\. 1 failed/);
    assert.ok(text.includes(other.id), 'the failure names the recording');
    assert.match(text, /not found/);
    assert.equal(await page.getAttribute(`#rows tr[data-id="${gone[1]}"]`, 'data-state'), 'active');
    await shot('10-bulk-failure');
  });

  await run('delete one, with a confirmation', async () => {
    await page.click(`#rows tr[data-id="${gone[0]}"] button.delete`);
    await page.locator('#confirm[open]').waitFor();
    assert.match(await page.textContent('#confirm-text'), /cannot be undone/);
    await shot('11-confirm-delete');
    await page.click('#confirm button[value="cancel"]');
    assert.ok(await page.$(`#rows tr[data-id="${gone[0]}"]`), 'cancel keeps it');
    assert.equal((await api('GET', `/v2/accounts/${ACCOUNT}/recordings/${gone[0]}`)).status, 200);
    await page.click(`#rows tr[data-id="${gone[0]}"] button.delete`);
    await page.locator('#confirm[open]').waitFor();
    await page.click('#confirm-delete');
    await page.locator('#notice.ok').waitFor();
    await waitListed();
    assert.match(await page.textContent('#notice'), /Deleted the recording/);
    assert.equal(await page.$(`#rows tr[data-id="${gone[0]}"]`), null, 'the row is gone');
    assert.equal((await api('GET', `/v2/accounts/${ACCOUNT}/recordings/${gone[0]}`)).status, 404);
  });

  await run('keyboard: Tab reaches a row\'s Play button, Enter plays', async () => {
    await page.uncheck('#show-deleted');
    await waitListed();
    await page.focus('#account');
    let reached = false;
    for (let i = 0; i < 80 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.matches('#rows tr:first-child button.play'));
    }
    assert.ok(reached, 'Play of the first row is reachable with Tab');
    await page.keyboard.press('Enter');
    await page.locator('#player').waitFor();
    await page.waitForFunction(() => document.getElementById('audio').readyState >= 1);
    const outline = await page.evaluate(() => {
      const b = document.querySelector('#rows tr:first-child button.play');
      b.focus();
      return getComputedStyle(b).outlineStyle;
    });
    assert.notEqual(outline, 'none', 'focus is visible');
    await page.click('#player-close');
  });

  await run('an error is shown and says what happened', async () => {
    await page.fill('#account', 'ffffffffffffffffffffffffffffffff');
    await page.press('#account', 'Enter');
    await waitListed();
    assert.equal(await page.getAttribute('#state', 'data-kind'), 'error');
    const text = await page.textContent('#state');
    assert.match(text, /Could not list the recordings: 404 .*there is no account ffffffffffffffffffffffffffffffff/);
    await shot('12-error');
    await page.fill('#account', ACCOUNT);
    await page.press('#account', 'Enter');
    await waitListed();
    assert.equal(await page.getAttribute('#state', 'data-kind'), 'ok');
  });

  await run('phone width: readable, no sideways scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.click(`#rows tr:first-child button.play`);
    await page.waitForFunction(() => document.getElementById('audio').readyState >= 1);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
    const visible = await page.isVisible('#rows tr:first-child button.delete');
    assert.ok(visible, 'row actions are on screen');
    await shot('13-phone', false);
    await page.$eval('#audio', (a) => a.pause());
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot('13-phone-top', false);
    await page.click('#player-close');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  await run('an expired token sends the admin back to sign in, saying so', async () => {
    // The server now refuses the tab's token (as when it expires): route its next requests
    // with a token the server does not know.
    await page.route('**/v2/**', (route) => route.continue({ headers: { ...route.request().headers(), 'x-auth-token': 'expired-token' } }));
    await page.click('#filters button[type=submit]');
    await page.locator('#signin').waitFor();
    const text = await page.textContent('#signin-error');
    assert.match(text, /refused the token \(401 invalid_credentials\)/);
    assert.match(text, /expired/);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('recordingsd.token')), null, 'the token is forgotten');
    await shot('14-token-expired');
    await page.unroute('**/v2/**');
  });

  await run('no errors in the browser console', async () => {
    // A refused token (401) and a missing account (404) are logged by Chromium as failed loads.
    const unexpected = consoleErrors.filter((e) => !/status of (401|404)/.test(e));
    assert.deepEqual(unexpected, []);
  });

  writeFileSync(join(OUT, 'browser-version.txt'), `Chromium ${version}\n`);
  log(`PASS: ${BASE}/ui/ in Chromium ${version}; screenshots in ${OUT}`);
} catch (err) {
  console.error(`FAIL in step "${step}": ${err.stack || err}`);
  try { if (page) await page.screenshot({ path: join(OUT, 'failure.png'), fullPage: true }); } catch { /* nothing more to show */ }
  process.exitCode = 1;
} finally {
  await browser.close();
}
