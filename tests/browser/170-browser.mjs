// 170-browser.mjs: the web pages in headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core over CDP), as an uploader and a reviewer use them: sign in by email (the link
// is read from the mail that reached the loopback SMTP server), upload with the progress bar,
// status until awaiting review, request changes (message in the chat), a new revision, accept
// (with the acknowledgement), the collection page, an invalid package's problems with their
// locations, sign-out. Screenshots of every page go to ARTIFACTS. Any page error or CSP
// violation fails the run. Started by tests/http/170-browser.sh, which passes everything in env.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`missing env ${k}`);
  return v;
};
const BASE = env('BASE'), MAILDIR = env('MAILDIR'), ART = env('ARTIFACTS');
const GOOD_ZIP = env('GOOD_ZIP'), BAD_ZIP = env('BAD_ZIP'), REFUSED_ZIP = env('REFUSED_ZIP'), PW = env('PLAYWRIGHT_CORE');
const UP_EMAIL = env('UP_EMAIL'), REV_EMAIL = env('REV_EMAIL');
const { chromium } = createRequire(import.meta.url)(PW);
fs.mkdirSync(ART, { recursive: true });

const results = {};
let step = 'start';
const log = (...a) => console.log(`[170] ${step}:`, ...a);
function assert(cond, msg) {
  if (!cond) throw new Error(`assertion failed at ${step}: ${msg}`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The newest mail to `to` whose Subject matches, not one of `seen`; its sign-in link.
async function signinLink(to, seen) {
  const re = new RegExp(`${BASE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/signin/(sl_[A-Za-z0-9_-]{43})`);
  for (let i = 0; i < 300; i++) {
    const dir = path.join(MAILDIR, 'new');
    const files = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
    for (const f of files) {
      const text = fs.readFileSync(path.join(dir, f), 'utf8');
      if (!new RegExp(`^To: ${to}`, 'mi').test(text) || !/^Subject: .*sign-in link/mi.test(text)) continue;
      const m = text.match(re);
      if (m && !seen.has(m[1])) { seen.add(m[1]); return m[0]; }
    }
    await sleep(100);
  }
  throw new Error(`no sign-in mail to ${to} in 30 s`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
});
const problems = [];
async function newPage(label, viewport) {
  const ctx = await browser.newContext({ viewport: viewport || { width: 1200, height: 900 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(30000);
  page.on('pageerror', (e) => problems.push(`${label}: page error: ${e.message}`));
  page.on('console', (m) => {
    const t = m.text();
    if (/Content Security Policy|Refused to/i.test(t)) problems.push(`${label}: CSP: ${t}`);
  });
  return page;
}
async function shot(page, name) {
  await page.screenshot({ path: path.join(ART, `${name}.png`), fullPage: true });
}
const text = (page, sel) => page.locator(sel).innerText();
async function waitState(page, want, seconds) {
  await page.waitForFunction((w) => {
    const e = document.getElementById('state-name');
    return e && e.textContent === w;
  }, want, { timeout: seconds * 1000 });
}
const seen = new Set();

async function signIn(page, email, label) {
  await page.goto(BASE + '/');
  await page.getByLabel('Sign in by email').fill(email);
  await page.getByRole('button', { name: 'Send link' }).click();
  await page.waitForFunction(() => /mailed/.test(document.getElementById('signin-msg').textContent));
  const link = await signinLink(email, seen);
  await page.goto(link);
  await page.waitForFunction(() => /Signed in as/.test(document.getElementById('signin-result').textContent));
  await shot(page, `signin-${label}`);
  assert(new URL(page.url()).pathname === '/', 'the link stays in the address bar: ' + page.url());
  await page.waitForSelector('#who');
  await page.goto(BASE + '/');
  await page.waitForSelector('#who');
  return link;
}

async function upload(page, zip, id, name) {
  await page.goto(BASE + '/' + (id ? '?id=' + encodeURIComponent(id) : ''));
  await page.setInputFiles('#package', zip);
  const size = fs.statSync(zip).size;
  await page.getByRole('button', { name: 'Upload', exact: true }).click();
  await page.waitForFunction(() => {
    const p = document.getElementById('progress');
    return p && p.value === 100 && /\(100 %\)/.test(document.getElementById('progress-text').textContent);
  });
  const t = await text(page, '#progress-text');
  assert(/ MiB of .* MiB \(100 %\)/.test(t), 'progress text: ' + t);
  log('progress', t, 'for', size, 'bytes');
  await shot(page, name);
  await page.waitForURL(/\/status\//);
  const newId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop());
  await page.waitForSelector('#upload-done:not([hidden])');
  assert(/100 %/.test(await text(page, '#upload-done')), 'status page upload notice');
  return newId;
}

try {
  // --- the uploader signs in by email
  step = 'uploader sign-in';
  const up = await newPage('uploader');
  await up.goto(BASE + '/');
  await up.waitForSelector('#signin-form');
  await up.waitForSelector('#need-signin:not([hidden])');
  await shot(up, 'upload-signed-out');
  const upLink = await signIn(up, UP_EMAIL, 'uploader');
  fs.writeFileSync(path.join(ART, 'uploader-link.txt'), upLink + '\n');
  assert(/uploader/.test(await text(up, '#who')), 'a new address is an uploader: ' + (await text(up, '#who')));
  assert(await up.isHidden('#need-signin'), 'still asks to sign in');
  assert((await up.locator('nav a', { hasText: 'Review' }).count()) === 0, 'an uploader is offered the review page');

  // --- the id field is checked live and offers a suggestion
  step = 'id check';
  await up.fill('#concept-id', 'Not_An_Id');
  await up.waitForFunction(() => /✗/.test(document.getElementById('id-check').textContent));
  await up.waitForSelector('#use-suggestion:not([hidden])');
  await shot(up, 'upload-id-check');
  await up.click('#use-suggestion');
  const suggested = await up.inputValue('#concept-id');
  assert(/^[a-z]+(-[a-z]+)+$/.test(suggested), 'suggested id ' + suggested);
  await up.waitForFunction(() => /is free/.test(document.getElementById('id-check').textContent));

  // --- upload through the form: the progress bar reaches 100 %, the status page follows
  step = 'upload';
  await up.setInputFiles('#package', GOOD_ZIP);
  // every text the progress line shows, to see the bar move and only forward
  await up.evaluate(() => {
    window.progressSeen = [];
    new MutationObserver(() => window.progressSeen.push(document.getElementById('progress').value))
      .observe(document.getElementById('progress-text'), { childList: true, characterData: true, subtree: true });
  });
  // loopback sends 4 MB in one go: throttle the upload (CDP) so the bar has steps to show
  const cdp = await up.context().newCDPSession(up);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions',
    { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 3 * 1024 * 1024 });
  await up.getByRole('button', { name: 'Upload', exact: true }).click();
  await up.waitForFunction(() => { const v = document.getElementById('progress').value; return v > 20 && v < 90; });
  await shot(up, 'upload-in-progress');
  await up.waitForFunction(() => document.getElementById('progress').value === 100 &&
    /\(100 %\)/.test(document.getElementById('progress-text').textContent));
  await shot(up, 'upload-100');
  const seenValues = await up.evaluate(() => window.progressSeen);
  log('progress values seen', JSON.stringify(seenValues));
  await cdp.send('Network.emulateNetworkConditions',
    { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  assert(seenValues.some((v) => v > 0 && v < 100) && seenValues.at(-1) === 100 &&
    seenValues.every((v, i) => i === 0 || v >= seenValues[i - 1]), 'progress values ' + JSON.stringify(seenValues));
  await up.waitForURL(/\/status\//);
  const ID = decodeURIComponent(new URL(up.url()).pathname.split('/').pop());
  assert(ID === suggested, `uploaded as ${ID}, not the chosen id ${suggested}`);
  results.id = ID;
  log('uploaded as', ID);
  step = 'status to awaiting review';
  await waitState(up, 'awaiting review', 180);
  await shot(up, 'status-awaiting-review');
  const steps = await up.locator('.steps li').allInnerTexts();
  assert(steps.length === 6 && /awaiting review/.test(steps[3]), 'steps: ' + steps.join(' | '));
  assert(await up.locator('.steps li.done').count() === 3, 'three steps done');
  const dyn = await text(up, '.tests');
  assert(/torchscript/.test(dyn) && /max difference/.test(dyn) && /tolerance/.test(dyn) && /worst element/.test(dyn),
    'dynamic test numbers: ' + dyn.slice(0, 400));
  assert(/pytorch_state_dict/.test(dyn), 'state-dict test listed');
  assert(await up.locator('img.cover').count() >= 1, 'no cover thumbnail');
  assert(/uploaded/.test(await text(up, '.events')), 'events');

  // --- the reviewer signs in (an existing reviewer keeps the role) and requests changes
  step = 'reviewer sign-in';
  const rev = await newPage('reviewer');
  await signIn(rev, REV_EMAIL, 'reviewer');
  assert(/reviewer/.test(await text(rev, '#who')), 'reviewer role');
  step = 'review queue';
  await rev.getByRole('link', { name: 'Review' }).click();
  await rev.waitForSelector(`tr[data-id="${ID}"]`);
  const row = await text(rev, `tr[data-id="${ID}"]`);
  assert(/passed/.test(row) && /failed/.test(row) && /\d+ (s|min)/.test(row), 'queue row: ' + row);
  await shot(rev, 'review-queue');
  await rev.getByRole('button', { name: `Open ${ID}` }).click();
  await rev.waitForSelector('#changes-text');
  assert(await rev.isVisible('#ack'), 'no acknowledgement checkbox although a dynamic test failed');
  await shot(rev, 'review-draft');
  step = 'request changes';
  await rev.getByRole('button', { name: 'Request changes' }).click(); // empty: refused in the page
  assert(await rev.locator('#chat-messages li').count() === 0, 'chat not empty');
  const MSG = 'Please add the architecture file to the package.';
  await rev.getByLabel(/What should change/).fill(MSG);
  await rev.getByRole('button', { name: 'Request changes' }).click();
  await waitState(rev, 'changes requested', 30);
  await rev.waitForFunction((m) => (document.getElementById('chat-messages') || {}).textContent?.includes(m), MSG);
  assert((await rev.locator('#changes-form').count()) === 0, 'request changes offered again in changes requested');
  assert((await rev.locator('#accept').count()) === 1, 'accept not offered in changes requested');
  await shot(rev, 'review-changes-requested');

  // --- the uploader sees the message, answers in the chat, uploads a new revision
  step = 'uploader reads chat';
  await up.goto(`${BASE}/status/${ID}`);
  await waitState(up, 'changes requested', 30);
  await up.waitForFunction((m) => document.getElementById('chat-messages').textContent.includes(m), MSG);
  await up.getByLabel('Message').fill('Done: new revision coming.');
  await up.getByRole('button', { name: 'Send' }).click();
  await up.waitForFunction(() => document.getElementById('chat-messages').textContent.includes('new revision coming'));
  await shot(up, 'status-changes-requested');
  step = 're-upload';
  await up.click('#new-revision');
  await up.waitForURL(/\?id=/);
  assert((await up.inputValue('#concept-id')) === ID, 'the id is prefilled');
  await up.waitForFunction(() => /New revision of .* you maintain it/.test(document.getElementById('id-check').textContent));
  const id2 = await upload(up, GOOD_ZIP, ID, 'upload-revision-100');
  assert(id2 === ID, 'revision went to ' + id2);
  await waitState(up, 'awaiting review', 180);
  assert(/Revision\s*2/.test(await text(up, '.rdf')), 'revision 2 shown');

  // --- the reviewer accepts (acknowledging the failed test); the draft is published
  step = 'accept';
  await rev.goto(`${BASE}/review#${ID}`);
  await rev.waitForSelector('#accept');
  await rev.getByRole('button', { name: 'Accept' }).click(); // without the acknowledgement: refused in the page
  await rev.waitForFunction(() => /tick the acknowledgement/.test(document.querySelector('.actions .notice').textContent));
  await rev.check('#ack');
  await rev.getByRole('button', { name: 'Accept' }).click();
  await rev.getByRole('button', { name: /^Publish version/ }).click(); // the confirmation in the page
  await rev.waitForFunction(() => /accepted/.test(document.getElementById('review-msg').textContent));
  await shot(rev, 'review-accepted');
  step = 'published';
  await up.goto(`${BASE}/status/${ID}`);
  await waitState(up, 'published', 120);
  await shot(up, 'status-published');

  // --- the collection page: the card, filters by type and by text
  step = 'collection';
  let found = false;
  for (let i = 0; i < 60 && !found; i++) {
    await up.goto(`${BASE}/collection`);
    await up.waitForFunction(() => /resources/.test(document.getElementById('count').textContent));
    found = (await up.locator(`li.rcard[data-id="${ID}"]`).count()) === 1;
    if (!found) await sleep(500);
  }
  assert(found, 'the published resource is not on the collection page');
  const card = await text(up, `li.rcard[data-id="${ID}"]`);
  assert(card.includes('Multi-tensor') && card.includes('model') && card.includes('segmentation'), 'card: ' + card);
  assert(/DOI|no DOI yet/.test(card), 'no DOI badge');
  await up.selectOption('#f-type', 'model');
  await up.fill('#f-q', 'segmentation ' + ID);
  await up.waitForFunction(() => /^1 of/.test(document.getElementById('count').textContent));
  await up.fill('#f-q', 'no-such-resource-anywhere');
  await up.waitForFunction(() => /^0 of/.test(document.getElementById('count').textContent));
  await up.fill('#f-q', '');
  await shot(up, 'collection');

  // --- an invalid package: its problems with their locations (RDF path, line, column)
  step = 'invalid package';
  // the page's check finds the missing file before sending and keeps Upload disabled; sent
  // anyway (as a script would), the draft fails static validation with the same problem
  await up.goto(BASE + '/');
  await up.setInputFiles('#package', BAD_ZIP);
  await up.waitForSelector('#check-problems li.problem.error');
  const pre = await up.locator('#check-problems li.problem.error').allInnerTexts();
  assert(pre.some((p) => /bioimageio\.yaml:\d+/.test(p) && /unet2d\.py' is not in the package/.test(p)), 'pre-check: ' + pre.join(' | '));
  assert(await up.locator('#upload-btn').isDisabled(), 'Upload enabled for a package that fails the check');
  await shot(up, 'upload-invalid-100');
  const BAD = await up.evaluate(async () => {
    const fd = new FormData();
    const f = document.getElementById('package').files[0];
    fd.append('package', f, f.name);
    const r = await fetch('/api/v1/uploads', { method: 'POST', body: fd, headers: { Authorization: 'Bearer ' + localStorage.getItem('bo_token') } });
    return (await r.json()).id;
  });
  await up.goto(`${BASE}/status/${encodeURIComponent(BAD)}`);
  await up.waitForSelector('#problems li', { timeout: 120000 });
  const probs = await up.locator('#problems li.problem.error').allInnerTexts();
  assert(probs.some((p) => /weights\.pytorch_state_dict\.architecture\.source line \d+, column \d+: .*not in the package/.test(p)),
    'problems: ' + probs.join(' | '));
  // it goes back to the uploader at once: "changes requested", the errors in the state line
  await up.waitForFunction(() => document.getElementById('state-name')?.textContent === 'changes requested',
    null, { timeout: 60000 });
  const stateLine = await up.locator('#state').innerText();
  assert(/static validation failed with 1 error/.test(stateLine) && /\d+:\d+\s+weights\.pytorch_state_dict\.architecture\.source/.test(stateLine),
    'the state line does not say what to fix: ' + stateLine);
  await shot(up, 'status-invalid');
  results.invalid = BAD;

  // --- a package with two RDF problems is refused in the page before sending: the check lists
  // each problem once, in the page's words, with no "null", and nothing is sent
  step = 'refusal box';
  await up.goto(BASE + '/');
  await up.setInputFiles('#package', REFUSED_ZIP);
  await up.waitForSelector('#check-problems li.problem.error');
  const box = await up.locator('#check-box').innerText();
  const refused = await up.locator('#check-problems li.problem.error').allInnerTexts();
  assert(!/null/.test(box), 'the check says null: ' + box);
  assert(!/'errors'/.test(box), 'API wording in the check: ' + box);
  assert(refused.length === 2 && new Set(refused).size === 2, 'problems not listed once each: ' + refused.join(' | '));
  assert(/license/.test(refused.join(' ')) && /name/.test(refused.join(' ')), 'problems: ' + refused.join(' | '));
  assert(await up.locator('#upload-btn').isDisabled(), 'Upload enabled for a refused package');
  assert(await up.locator('#progress-box').isHidden(), 'a progress bar beside a refusal');
  await shot(up, 'upload-refused');

  // --- phone width: the pages fit
  step = 'phone width';
  const phone = await newPage('phone', { width: 375, height: 740 });
  for (const [p, name] of [[`/status/${BAD}`, 'phone-status'], ['/collection', 'phone-collection'], ['/', 'phone-upload']]) {
    await phone.goto(BASE + p);
    await phone.waitForLoadState('networkidle');
    const over = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert(over <= 0, `${p} is ${over}px wider than a phone`);
    await shot(phone, name);
  }

  // --- keyboard: the skip link and the sign-in field are reachable by Tab
  step = 'keyboard';
  await phone.goto(BASE + '/');
  await phone.keyboard.press('Tab');
  assert((await phone.evaluate(() => document.activeElement.className)) === 'skip', 'first Tab is not the skip link');

  // --- sign-out revokes the session token
  step = 'sign-out';
  const tok = await up.evaluate(() => localStorage.getItem('bo_token'));
  assert(/^bo_/.test(tok || ''), 'no session token in localStorage');
  await up.goto(BASE + '/');
  await up.getByRole('button', { name: 'Sign out' }).click();
  await up.waitForSelector('#signin-form');
  assert((await up.evaluate(() => localStorage.getItem('bo_token'))) === null, 'token kept after sign-out');
  const r = await fetch(BASE + '/api/v1/me', { headers: { Authorization: 'Bearer ' + tok } });
  assert(r.status === 401, 'the session token still works after sign-out: ' + r.status);

  assert(problems.length === 0, 'page errors / CSP violations:\n' + problems.join('\n'));
  fs.writeFileSync(path.join(ART, 'result.json'), JSON.stringify(results, null, 2));
  log('ok', JSON.stringify(results));
} catch (e) {
  console.error(`[170] FAILED at ${step}: ${e.stack || e}`);
  if (problems.length) console.error(problems.join('\n'));
  for (const ctx of browser.contexts()) {
    for (const p of ctx.pages()) {
      try { await p.screenshot({ path: path.join(ART, `failure-${step.replace(/\W+/g, '-')}-${ctx.pages().indexOf(p)}.png`), fullPage: true }); } catch (_) { /* closed */ }
    }
  }
  await browser.close();
  process.exit(1);
}
await browser.close();
