// 171-review-page.mjs: the reviewer page and the draft view in headless Chromium (Debian's
// /usr/bin/chromium driven by playwright-core), signed in by a token put in localStorage.
// What reviewers complained about (issue 16), each checked: typed text, focus and
// selection survive a poll that re-rendered after another client's chat message (review
// page and status page); Open moves focus to the draft's heading, #id opens a draft, Back
// returns; the evidence comes before the decision; Accept asks in the page (no
// window.confirm) and Cancel accepts nothing; drafts in changes requested are listed; the
// byte-identical hint; the validation error's line highlighted in the uploaded RDF; only a
// small status line is aria-live; steps not by colour only; the queue keeps rows and cells at
// 390 px. Any page error or CSP violation fails the run. Started by tests/http/171-review-page.sh.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`missing env ${k}`);
  return v;
};
const BASE = env('BASE'), ART = env('ARTIFACTS'), PW = env('PLAYWRIGHT_CORE');
const REV = env('REV_TOKEN'), UP = env('UP_TOKEN');
const A = env('A_ID'), B = env('B_ID'), C = env('C_ID'), D = env('D_ID'), D_LINE = Number(env('D_LINE'));
const { chromium } = createRequire(import.meta.url)(PW);
fs.mkdirSync(ART, { recursive: true });

let step = 'start';
const log = (...a) => console.log(`[171] ${step}:`, ...a);
function assert(cond, msg) {
  if (!cond) throw new Error(`assertion failed at ${step}: ${msg}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
});
const problems = [];
async function newPage(label, viewport, tok) {
  const ctx = await browser.newContext({ viewport: viewport || { width: 1200, height: 900 } });
  await ctx.addInitScript((t) => localStorage.setItem('bo_token', t), tok || REV);
  const page = await ctx.newPage();
  page.setDefaultTimeout(30000);
  page.on('pageerror', (e) => problems.push(`${label}: page error: ${e.message}`));
  page.on('console', (m) => {
    const t = m.text();
    if (/Content Security Policy|Refused to/i.test(t)) problems.push(`${label}: CSP: ${t}`);
  });
  // native dialogs (window.confirm/alert) are not how the page asks
  page.on('dialog', (d) => { problems.push(`${label}: a native ${d.type()} dialog: ${d.message()}`); d.dismiss(); });
  return page;
}
const shot = (page, name) => page.screenshot({ path: path.join(ART, `${name}.png`), fullPage: true });
const active = (page) => page.evaluate(() => (document.activeElement ? document.activeElement.id || document.activeElement.tagName : ''));
async function chat(id, text) {
  const r = await fetch(`${BASE}/api/v1/resources/${encodeURIComponent(id)}/draft/chat`, {
    method: 'POST', headers: { Authorization: 'Bearer ' + UP, 'Content-Type': 'application/json' }, body: JSON.stringify({ text }),
  });
  assert(r.status === 201, 'chat post: HTTP ' + r.status);
}
const waitChat = (page, text) => page.waitForFunction((t) => (document.getElementById('chat-messages') || {}).textContent?.includes(t),
  text, { timeout: 30000 });
const draftId = (page) => page.evaluate(() => (document.querySelector('.draft') || {}).dataset?.id || '');

try {
  const rev = await newPage('reviewer');
  step = 'queue';
  await rev.goto(BASE + '/review');
  await rev.waitForSelector(`#queue tr[data-id="${A}"]`);
  // drafts in changes requested are listed in their own table, with since when
  await rev.waitForSelector(`#waiting tr[data-id="${B}"]`);
  const wrow = await rev.locator(`#waiting tr[data-id="${B}"]`).innerText();
  assert(/ago/.test(wrow) && /Test up/.test(wrow), 'changes-requested row: ' + wrow);
  assert(/Changes requested — waiting for the uploader/.test(await rev.locator('#waiting-h').innerText()), 'waiting heading');
  assert((await rev.locator(`#queue tr[data-id="${B}"]`).count()) === 0, 'a changes-requested draft in the queue');
  // relative times carry the absolute time
  const t0 = rev.locator('#waiting time.rel').first();
  assert(/UTC/.test(await t0.getAttribute('title')), 'no absolute time in the title');
  assert(/UTC/.test(await t0.locator('.visually-hidden').textContent()), 'absolute time for screen readers');
  await shot(rev, 'review-queue');

  step = 'open moves focus';
  await rev.getByRole('button', { name: `Open ${A}` }).click();
  await rev.waitForSelector('#changes-text');
  await rev.waitForFunction(() => document.activeElement && document.activeElement.id === 'draft-h');
  assert((await draftId(rev)) === A, 'the draft shown is ' + (await draftId(rev)));
  assert(new URL(rev.url()).hash === '#' + A, 'hash ' + rev.url());
  const top = await rev.evaluate(() => document.getElementById('draft-h').getBoundingClientRect().top);
  assert(top >= -2 && top < 200, 'the heading is not scrolled into view: top ' + top);

  step = 'evidence before decision';
  const order = await rev.evaluate(() => ['val-sec', 'dyn-sec', 'diff-sec', 'rdftext-sec', 'decision']
    .map((id) => { const e = document.getElementById(id); return e ? [...document.querySelectorAll('*')].indexOf(e) : -1; }));
  assert(order.every((x) => x >= 0) && order.every((x, i) => i === 0 || x > order[i - 1]), 'section order ' + order);

  step = 'accessibility of the view';
  const live = await rev.evaluate(() => [...document.querySelectorAll('main [aria-live]')].map((e) => e.id));
  assert(live.length === 1 && live[0] === 'state-live', 'aria-live on ' + live);
  const stepsText = await rev.locator('.steps').innerText();
  assert(/✓/.test(stepsText), 'no check mark on done steps: ' + stepsText);
  assert((await rev.locator('.steps li.done .visually-hidden', { hasText: '(done)' }).count()) >= 1, 'no (done) cue');
  assert((await rev.locator('.steps li.current .visually-hidden', { hasText: '(current step)' }).count()) === 1, 'no (current step) cue');
  // Accept and Request changes look different
  const styles = await rev.evaluate(() => ['accept', 'request-changes'].map((id) => getComputedStyle(document.getElementById(id)).backgroundColor));
  assert(styles[0] !== styles[1], 'Accept and Request changes have the same background ' + styles);

  step = 'typed text survives a poll';
  await rev.fill('#changes-text', 'Half-written note about the');
  await rev.fill('#chat-text', 'A reply I am still writing');
  await rev.evaluate(() => {
    document.getElementById('changes-text').dataset.mark = 'kept';
    document.getElementById('chat-text').dataset.mark = 'kept';
    const t = document.getElementById('chat-text');
    t.focus();
    t.setSelectionRange(2, 7);
  });
  await shot(rev, 'review-draft-typed');
  await chat(A, 'Uploader here: the images are 16-bit.');
  await waitChat(rev, 'the images are 16-bit'); // the 10 s poll re-rendered the messages
  const after = await rev.evaluate(() => {
    const c = document.getElementById('chat-text'), r = document.getElementById('changes-text');
    return { chat: c.value, changes: r.value, marks: c.dataset.mark + r.dataset.mark, active: document.activeElement.id,
      sel: [c.selectionStart, c.selectionEnd] };
  });
  assert(after.chat === 'A reply I am still writing', 'chat text: ' + after.chat);
  assert(after.changes === 'Half-written note about the', 'request-changes text: ' + after.changes);
  assert(after.marks === 'keptkept', 'the textareas were replaced');
  assert(after.active === 'chat-text', 'focus moved to ' + after.active);
  assert(after.sel[0] === 2 && after.sel[1] === 7, 'selection ' + after.sel);
  // once more with the focus in the request-changes field
  await rev.focus('#changes-text');
  await chat(A, 'Second message from the uploader.');
  await waitChat(rev, 'Second message from the uploader');
  assert((await active(rev)) === 'changes-text', 'focus moved to ' + (await active(rev)));
  assert((await rev.inputValue('#changes-text')) === 'Half-written note about the', 'request-changes text lost');
  await shot(rev, 'review-after-poll');

  step = 'accept asks first';
  await rev.getByRole('button', { name: 'Accept' }).click();
  const dlg = rev.locator('#accept-confirm');
  await dlg.waitFor({ state: 'visible' });
  const q = await dlg.innerText();
  assert(q.includes(`Publish ${A} as version 1?`) && /cannot be undone/.test(q), 'confirmation: ' + q);
  await shot(rev, 'accept-confirm');
  await rev.getByRole('button', { name: 'Cancel' }).click();
  await dlg.waitFor({ state: 'hidden' });
  assert((await active(rev)) === 'accept', 'focus after cancel: ' + (await active(rev)));
  await rev.waitForTimeout(1500);
  const st = await (await fetch(`${BASE}/api/v1/resources/${A}/draft`)).json();
  assert(st.state === 'awaiting review', 'cancel accepted: ' + st.state);
  assert((await rev.locator('#state-name').innerText()) === 'awaiting review', 'page state after cancel');
  assert((await rev.inputValue('#changes-text')) === 'Half-written note about the', 'typed text lost after cancel');
  await shot(rev, 'accept-cancelled');

  step = 'back returns';
  await rev.getByRole('button', { name: `Open ${B}` }).click();
  await rev.waitForFunction((b) => document.querySelector('.draft')?.dataset.id === b && document.activeElement.id === 'draft-h', B);
  // B waits for its uploader: no request-changes form
  await rev.waitForSelector('#accept');
  assert((await rev.locator('#changes-form').count()) === 0, 'request changes offered in changes requested');
  await rev.goBack();
  await rev.waitForFunction((a) => document.querySelector('.draft')?.dataset.id === a && document.activeElement.id === 'draft-h', A);
  assert(new URL(rev.url()).hash === '#' + A, 'back: ' + rev.url());
  await rev.goBack();
  await rev.waitForFunction(() => !document.querySelector('.draft') && document.activeElement.id === 'queue-h');
  await rev.goForward();
  await rev.waitForFunction((a) => document.querySelector('.draft')?.dataset.id === a, A);

  step = 'typed #id, identical revision';
  await rev.evaluate((c) => { location.hash = '#' + c; }, C);
  await rev.waitForFunction((c) => document.querySelector('.draft')?.dataset.id === c && document.activeElement.id === 'draft-h', C);
  await rev.waitForSelector('#identical-hint');
  const hint = await rev.locator('#identical-hint').innerText();
  assert(hint.includes('This revision is byte-identical to published version 1'), 'hint: ' + hint);
  const diffText = await rev.locator('#diff-sec').innerText();
  assert(/Against published version 1/.test(diffText) && /Against revision 1/.test(diffText), 'diff section: ' + diffText);
  await shot(rev, 'review-identical');

  step = 'error line highlighted';
  await rev.goto(`${BASE}/review#${D}`);
  await rev.waitForSelector(`#rdf-line-${D_LINE}.err-line`);
  const line = rev.locator(`#rdf-line-${D_LINE}`);
  assert(/error on this line/.test(await line.innerText().catch(() => '') + await line.locator('.visually-hidden').textContent()), 'no hidden cue');
  assert((await rev.locator('#rdf-line-1').count()) === 1, 'no line 1');
  // the problem links to its line; following it keeps the draft open and focuses the line
  const link = rev.locator(`#val-sec a.line-link[href="#rdf-line-${D_LINE}"]`).first();
  assert((await link.count()) === 1, 'no link from the problem to its line');
  await link.click();
  await rev.waitForFunction((n) => document.activeElement.id === 'rdf-line-' + n, D_LINE);
  assert((await draftId(rev)) === D, 'following the line link changed the draft to ' + (await draftId(rev)));
  // no re-run and no accept after a failed static validation
  assert((await rev.locator('#rerun').count()) === 0, 'Re-run offered after a failed static validation');
  assert((await rev.locator('#accept').count()) === 0, 'Accept offered after a failed static validation');
  // the RDF text is text: markup in it would not become elements
  assert((await rev.locator('ol.rdf-text li code *').count()) === 0, 'elements inside the RDF text');
  // the draft's README is rendered (marked + DOMPurify), from our origin
  await rev.waitForSelector('#draft-doc h1');
  const h1 = await rev.locator('#draft-doc h1').first().innerText();
  assert(/U-Net 2d Nuclei Broad Example/.test(h1), 'draft documentation heading: ' + h1);
  assert((await rev.locator('#doc-sec').count()) === 1 && (await rev.locator('#compat-sec').count()) === 1,
    'no Documentation or Partner tools section');
  await shot(rev, 'review-error-line');
  await line.scrollIntoViewIfNeeded();
  await rev.locator('#rdftext-sec').screenshot({ path: path.join(ART, 'review-rdf-section.png') });

  step = 'phone width';
  const phone = await newPage('phone', { width: 390, height: 844 });
  await phone.goto(BASE + '/review');
  await phone.waitForSelector(`#queue tr[data-id="${A}"]`);
  const queue = phone.locator('#queue');
  const rows = await queue.getByRole('row').count();
  assert(rows >= 2, 'rows at 390 px: ' + rows);
  const cells = await queue.getByRole('row', { name: new RegExp(A) }).getByRole('cell').count();
  assert(cells === 6, 'cells in the row at 390 px: ' + cells);
  assert((await queue.getByRole('columnheader').count()) === 6, 'column headers at 390 px');
  const label = await phone.evaluate((a) => getComputedStyle(document.querySelector(`#queue tr[data-id="${a}"] td`), '::before').content, A);
  assert(/Draft/.test(label), 'no label per cell: ' + label);
  const over = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert(over <= 0, `the queue is ${over}px wider than the phone`);
  await shot(phone, 'phone-queue');

  step = 'status page keeps typed text';
  const up = await newPage('uploader', null, UP);
  await up.goto(`${BASE}/status/${A}`);
  await up.waitForSelector('#chat-text');
  assert((await up.evaluate(() => document.getElementById('draft').hasAttribute('aria-live'))) === false, 'aria-live on the whole view');
  await up.fill('#chat-text', 'Typing on the status page');
  await up.evaluate(() => { document.getElementById('chat-text').dataset.mark = 'kept'; });
  await up.focus('#chat-text');
  const r = await fetch(`${BASE}/api/v1/resources/${A}/draft/chat`, {
    method: 'POST', headers: { Authorization: 'Bearer ' + REV, 'Content-Type': 'application/json' },
    body: JSON.stringify({ text: 'Reviewer: thanks, looking.' }),
  });
  assert(r.status === 201, 'reviewer chat: ' + r.status);
  await waitChat(up, 'thanks, looking');
  const s = await up.evaluate(() => { const t = document.getElementById('chat-text'); return [t.value, t.dataset.mark, document.activeElement.id]; });
  assert(s[0] === 'Typing on the status page' && s[1] === 'kept' && s[2] === 'chat-text', 'status page: ' + s);
  await shot(up, 'status-after-poll');

  assert(problems.length === 0, 'page errors / CSP violations / native dialogs:\n' + problems.join('\n'));
  log('ok');
} catch (e) {
  console.error(`[171] FAILED at ${step}: ${e.stack || e}`);
  if (problems.length) console.error(problems.join('\n'));
  for (const ctx of browser.contexts()) {
    for (const p of ctx.pages()) {
      try { await p.screenshot({ path: path.join(ART, `failure-${step.replace(/\W+/g, '-')}-${ctx.pages().indexOf(p)}.png`), fullPage: true }); } catch (_) { /* closed */ }
    }
  }
  process.exitCode = 1;
} finally {
  await browser.close();
}
