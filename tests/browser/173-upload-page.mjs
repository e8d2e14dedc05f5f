// 173-upload-page.mjs: the upload page's check before sending, its preview, the keyboard-only
// upload with milestone announcements, the maintainer's and a stranger's view of a new
// revision, and My uploads — in headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core). Users are signed in by putting their token into localStorage before the
// page loads. Any page error or CSP violation fails the run. Started by
// tests/http/173-upload-page.sh, which passes everything in env.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`missing env ${k}`);
  return v;
};
const BASE = env('BASE'), ART = env('ARTIFACTS'), PW = env('PLAYWRIGHT_CORE');
const FAIL_ZIP = env('FAIL_ZIP'), GOOD_ZIP = env('GOOD_ZIP');
const UP_TOKEN = env('UP_TOKEN'), OTHER_TOKEN = env('OTHER_TOKEN'), PUB_ID = env('PUB_ID');
const { chromium } = createRequire(import.meta.url)(PW);
fs.mkdirSync(ART, { recursive: true });

const results = {};
let step = 'start';
const log = (...a) => console.log(`[173] ${step}:`, ...a);
function assert(cond, msg) {
  if (!cond) throw new Error(`assertion failed at ${step}: ${msg}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
});
const problems = [];
// A page whose requests are recorded; token: signed in as that user (localStorage).
async function newPage(label, tok) {
  const ctx = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  if (tok) await ctx.addInitScript((t) => localStorage.setItem('bo_token', t), tok);
  const page = await ctx.newPage();
  page.setDefaultTimeout(30000);
  page.requests = [];
  page.on('request', (r) => page.requests.push(r.method() + ' ' + new URL(r.url()).pathname));
  page.on('pageerror', (e) => problems.push(`${label}: page error: ${e.message}`));
  page.on('console', (m) => {
    const t = m.text();
    if (/Content Security Policy|Refused to/i.test(t)) problems.push(`${label}: CSP: ${t}`);
  });
  return page;
}
const shot = (page, name) => page.screenshot({ path: path.join(ART, `${name}.png`), fullPage: true });
const text = (page, sel) => page.locator(sel).innerText();
const uploads = (page) => page.requests.filter((r) => r === 'POST /api/v1/uploads');

try {
  // --- a failing zip: its problems, with file and line, before anything is sent
  step = 'failing zip';
  const up = await newPage('maintainer', UP_TOKEN);
  // file chooser interception on from the start: enabled only by waitForEvent just before
  // Enter, it was once not yet on when the page (keydown on the drop zone, input.click(),
  // with user activation: the diagnostics below showed all three) opened the chooser
  const choosers = [];
  up.on('filechooser', (fc) => choosers.push(fc));
  await up.goto(BASE + '/');
  await up.waitForSelector('#who');
  await up.setInputFiles('#package', FAIL_ZIP);
  await up.waitForSelector('#check-problems li.problem.error');
  const probs = await up.locator('#check-problems li.problem.error').allInnerTexts();
  log(probs.join(' | '));
  assert(probs.length === 3 && new Set(probs).size === 3, 'each problem once: ' + probs.join(' | '));
  assert(probs.every((p) => /rdf\.yaml:\d+/.test(p) && /line \d+/.test(p)), 'file and line in every problem: ' + probs.join(' | '));
  assert(probs.some((p) => /license/.test(p) && /rdf\.yaml:5/.test(p)), 'the licence on line 5: ' + probs.join(' | '));
  assert(probs.some((p) => /name/.test(p)), 'the missing name: ' + probs.join(' | '));
  assert(probs.some((p) => /missing\.png/.test(p) && /not in the package/.test(p)), 'the missing cover: ' + probs.join(' | '));
  assert(await up.locator('#upload-btn').isDisabled(), 'Upload is enabled for a failing zip');
  assert(/problems to fix/.test(await text(up, '#check-status')), 'status: ' + await text(up, '#check-status'));
  assert(up.requests.includes('POST /api/v1/validate'), 'no validate request: ' + up.requests.join(', '));
  // the form cannot be sent around the disabled button either (Enter in the id field)
  await up.focus('#concept-id');
  await up.keyboard.press('Enter');
  await up.waitForTimeout(300);
  assert(uploads(up).length === 0, 'an upload was sent for a failing zip: ' + up.requests.join(', '));
  await shot(up, 'check-failed');

  // --- a passing zip chosen with the keyboard alone: Tab to the drop zone, Enter opens the
  // picker; the preview (name, authors, licence, a blob: cover); Tab to Upload, Enter
  step = 'keyboard upload';
  await up.goto(BASE + '/');
  await up.waitForSelector('#who');
  let onDrop = false;
  for (let i = 0; i < 20 && !onDrop; i++) {
    await up.keyboard.press('Tab');
    onDrop = await up.evaluate(() => document.activeElement && document.activeElement.id === 'drop');
  }
  assert(onDrop, 'Tab never reaches the drop zone');
  const role = await up.evaluate(() => {
    const d = document.activeElement;
    return { role: d.getAttribute('role'), outline: getComputedStyle(d).outlineStyle, name: d.getAttribute('aria-labelledby') };
  });
  assert(role.role === 'button' && role.outline !== 'none' && role.name, 'the drop zone is not a visible, named button: ' + JSON.stringify(role));
  // what the page saw of the key, reported if the chooser does not open (it once did not,
  // intermittently, without this round trip between the Tab loop and Enter)
  await up.evaluate(() => { window.__kd = []; document.addEventListener('keydown', (e) => window.__kd.push(e.key + '@' + (document.activeElement && document.activeElement.id)), true);
    document.getElementById('package').addEventListener('click', () => window.__kd.push('input-click'), true); });
  let chooser;
  try {
    choosers.length = 0;
    await up.keyboard.press('Enter');
    for (let i = 0; i < 150 && !choosers.length; i++) await up.waitForTimeout(100);
    if (!choosers.length) throw new Error('Enter on the drop zone opened no file chooser within 15 s');
    chooser = choosers[0];
  } catch (e) { log('no file chooser; keys, focus, activation: ' + JSON.stringify(await up.evaluate(() => [window.__kd, document.activeElement && document.activeElement.id, navigator.userActivation && navigator.userActivation.isActive]))); throw e; }
  await chooser.setFiles(GOOD_ZIP);
  await up.waitForFunction(() => /passed the check/.test(document.getElementById('check-status').textContent));
  await up.waitForSelector('#preview-covers img.cover');
  const pv = await text(up, '#preview-rdf');
  assert(/Keyboard dataset/.test(pv) && /Ada Keyboard/.test(pv) && /CC0-1\.0/.test(pv) && /dataset/.test(pv), 'preview: ' + pv);
  const img = await up.evaluate(() => {
    const i = document.querySelector('#preview-covers img.cover');
    return { src: i.src, alt: i.alt, w: i.naturalWidth };
  });
  assert(img.src.startsWith('blob:') && img.w > 0, 'cover: ' + JSON.stringify(img));
  assert(!/cover0\.png/.test(img.alt) && /Cover 1/.test(img.alt), 'cover alt text: ' + img.alt);
  assert(/pkg\/rdf\.yaml/.test(await text(up, '#check-status')), 'the RDF in its folder: ' + await text(up, '#check-status'));
  assert(uploads(up).length === 0, 'an upload before Upload was pressed');
  await shot(up, 'check-passed');
  // every announcement of the live region, and every value the bar takes
  await up.evaluate(() => {
    window.said = [];
    new MutationObserver(() => window.said.push(document.getElementById('progress-live').textContent))
      .observe(document.getElementById('progress-live'), { childList: true, characterData: true, subtree: true });
  });
  let onUpload = false;
  for (let i = 0; i < 10 && !onUpload; i++) {
    await up.keyboard.press('Tab');
    onUpload = await up.evaluate(() => document.activeElement && document.activeElement.id === 'upload-btn');
  }
  assert(onUpload, 'Tab never reaches Upload');
  assert(!(await up.locator('#upload-btn').isDisabled()), 'Upload disabled for a passing zip');
  await up.keyboard.press('Enter');
  await up.waitForFunction(() => /Accepted as/.test(document.getElementById('progress-live').textContent));
  const bar = await up.evaluate(() => {
    const b = document.getElementById('progress');
    return { now: b.getAttribute('aria-valuenow'), text: b.getAttribute('aria-valuetext'), live: document.getElementById('progress-text').getAttribute('aria-live') };
  });
  assert(bar.now === '100' && /100 %/.test(bar.text || '') && bar.live === null, 'the bar: ' + JSON.stringify(bar));
  const said = await up.evaluate(() => window.said);
  log('announced', JSON.stringify(said));
  assert(/started/.test(said[0]) && said.some((s) => /sent/.test(s)) && /Accepted as/.test(said[said.length - 1]),
    'milestones: ' + JSON.stringify(said));
  assert(said.length <= 7, 'more than the milestones were announced: ' + JSON.stringify(said));
  assert(uploads(up).length === 1, 'uploads sent: ' + uploads(up).length);
  await shot(up, 'keyboard-upload');
  await up.waitForURL(/\/status\//);
  results.keyboard = decodeURIComponent(new URL(up.url()).pathname.split('/').pop());
  log('uploaded as', results.keyboard);

  // --- a new revision: the maintainer is told so, without a suggestion; a stranger is warned
  step = 'revision';
  await up.goto(BASE + '/?id=' + encodeURIComponent(PUB_ID));
  await up.waitForFunction(() => /you maintain it/.test(document.getElementById('id-check').textContent));
  const mine = await text(up, '#id-check');
  assert(mine.includes('New revision of') && mine.includes(PUB_ID), 'maintainer: ' + mine);
  assert((await up.getAttribute('#id-check', 'class')) === 'ok', 'maintainer message style');
  await up.waitForTimeout(500);
  assert(await up.locator('#use-suggestion').isHidden(), 'the maintainer is offered another id');
  await shot(up, 'revision-maintainer');
  const other = await newPage('other', OTHER_TOKEN);
  await other.goto(BASE + '/?id=' + encodeURIComponent(PUB_ID));
  await other.waitForFunction(() => /must be one of its maintainers/.test(document.getElementById('id-check').textContent));
  await other.waitForSelector('#use-suggestion:not([hidden])');
  assert(/^Use .* instead$/.test(await text(other, '#use-suggestion')), 'suggestion: ' + await text(other, '#use-suggestion'));
  assert((await other.getAttribute('#id-check', 'class')) === 'warn', 'the stranger is not warned');
  await shot(other, 'revision-other');

  // --- My uploads: the draft just uploaded and the published resource, linked to their pages
  step = 'my uploads';
  await up.goto(BASE + '/');
  await up.getByRole('link', { name: 'My uploads' }).click();
  await up.waitForURL(/\/my$/);
  await up.waitForSelector('#my:not([hidden])');
  const drafts = await text(up, '#my-drafts');
  const res = await text(up, '#my-resources');
  log('drafts:', drafts.replace(/\n/g, ' / '), '; resources:', res.replace(/\n/g, ' / '));
  assert(await up.locator(`#my-drafts li[data-id="${results.keyboard}"]`).count() === 1, 'the draft is missing: ' + drafts);
  assert(/Keyboard dataset/.test(drafts) && /revision 1/.test(drafts) && /updated .* ago/.test(drafts), 'draft item: ' + drafts);
  assert(await up.locator(`#my-resources li[data-id="${PUB_ID}"]`).count() === 1, 'the resource is missing: ' + res);
  assert(/Published by the maintainer/.test(res) && /version \S+/.test(res) && /DOI|no DOI yet/.test(res), 'resource item: ' + res);
  const href = await up.getAttribute(`#my-resources li[data-id="${PUB_ID}"] a`, 'href');
  assert(href === '/status/' + PUB_ID, 'resource link: ' + href);
  assert((await up.getAttribute('nav a[href="/my"]', 'aria-current')) === 'page', 'nav link not current');
  await shot(up, 'my-uploads');
  const anon = await newPage('anonymous', null);
  await anon.goto(BASE + '/my');
  await anon.waitForSelector('#my-signin:not([hidden])');
  assert(await anon.locator('#my').isHidden(), 'lists shown signed out');
  assert(await anon.locator('nav a[href="/my"]').count() === 0, 'My uploads link signed out');
  await shot(anon, 'my-signed-out');

  assert(problems.length === 0, 'page errors or CSP violations:\n' + problems.join('\n'));
  fs.writeFileSync(path.join(ART, 'result.json'), JSON.stringify(results));
  console.log('[173] all browser checks passed');
} finally {
  await browser.close();
}
