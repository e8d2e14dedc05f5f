// 172-detail-page.mjs: the detail page (/collection/{id}) of a published model in headless
// Chromium — documentation rendered from hostile Markdown with nothing of the attack left
// (no script, iframe, object, form, svg; no on… or style attributes; no javascript: href;
// nothing ran; raw HTML is shown as text) while headings, lists, code and the relative image render; covers with alt
// text; authors with ORCID; maintainers by name, never email; license; tags as filter
// links; versions with DOI links; citation; a download link that gives a zip. Then the
// collection: sort by name / newest (in the URL), the empty result and its clear button,
// a tag link; the published status page; an unknown id; the HTML 404 a browser gets.
// Any page error or CSP violation fails the run. Started by tests/http/172-detail-page.sh.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`missing env ${k}`);
  return v;
};
const BASE = env('BASE'), ART = env('ARTIFACTS'), PW = env('PLAYWRIGHT_CORE');
const MID = env('MID'), DA = env('DA'), DZ = env('DZ');
const { chromium } = createRequire(import.meta.url)(PW);
fs.mkdirSync(ART, { recursive: true });

let step = 'start';
const log = (...a) => console.log(`[172] ${step}:`, ...a);
function assert(cond, msg) {
  if (!cond) throw new Error(`assertion failed at ${step}: ${msg}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
});
const problems = [];
async function newPage(label, viewport) {
  const ctx = await browser.newContext({ viewport: viewport || { width: 1200, height: 900 }, acceptDownloads: true });
  const page = await ctx.newPage();
  page.setDefaultTimeout(30000);
  page.on('pageerror', (e) => problems.push(`${label}: page error: ${e.message}`));
  page.on('console', (m) => {
    const t = m.text();
    if (/Content Security Policy|Refused to/i.test(t)) problems.push(`${label}: CSP: ${t}`);
  });
  page.on('dialog', (d) => { problems.push(`${label}: a dialog opened: ${d.message()}`); d.dismiss(); });
  return page;
}
const shot = (page, name) => page.screenshot({ path: path.join(ART, `${name}.png`), fullPage: true });
const text = (page, sel) => page.locator(sel).innerText();
const order = (page) => page.$$eval('li.rcard', (ls) => ls.map((l) => l.dataset.id));

try {
  // --- the detail page
  step = 'detail';
  const p = await newPage('detail');
  await p.goto(`${BASE}/collection/${MID}`);
  await p.waitForSelector('#doc-body h1');
  await p.waitForFunction(() => document.querySelector('#doc-body img')?.complete);
  assert((await text(p, '#name')) === 'Multi-tensor', 'name: ' + (await text(p, '#name')));
  assert((await text(p, '#rid')) === MID, 'id');
  assert((await text(p, '.ident')).includes('model'), 'type');
  assert((await text(p, '#description')) === 'Multi tensor', 'description');

  // normal Markdown renders: heading, list, code, bold, the relative image from /files/
  const doc = p.locator('#doc-body');
  assert((await doc.locator('h1').innerText()) === 'Multi-tensor UNet', 'markdown heading');
  assert((await doc.locator('ul > li').count()) === 2, 'markdown list');
  assert((await doc.locator('pre code').innerText()).includes('print("code block")'), 'markdown code block');
  assert((await doc.locator('strong').innerText()) === 'two inputs', 'markdown bold');
  const img = await doc.locator('img').evaluate((i) => ({ src: i.src, w: i.naturalWidth, alt: i.alt }));
  assert(img.src === `${BASE}/files/${MID}/1/files/cover.jpg` && img.w > 0 && img.alt === 'the cover', 'relative image: ' + JSON.stringify(img));
  const rel = await doc.locator('a', { hasText: 'relative link' }).evaluate((a) => ({ href: a.href, rel: a.rel }));
  assert(rel.href === `${BASE}/files/${MID}/1/files/test_input_0.npy`, 'relative link: ' + rel.href);
  assert(rel.rel === 'noopener noreferrer nofollow', 'link rel: ' + rel.rel);

  // the hostile part: nothing ran, nothing survived
  const attack = await p.evaluate(() => {
    const d = document.getElementById('doc-body');
    const all = [...d.querySelectorAll('*')];
    return {
      pwned: window.__pwned || null,
      bad: d.querySelectorAll('script, iframe, object, embed, form, input, svg, style, link, meta').length,
      on: all.filter((e) => [...e.attributes].some((a) => /^on/i.test(a.name))).map((e) => e.outerHTML),
      style: all.filter((e) => e.hasAttribute('style')).length,
      js: all.filter((e) => /^\s*javascript:/i.test(e.getAttribute('href') || '') || /^\s*javascript:/i.test(e.getAttribute('src') || '')).length,
      hrefs: [...d.querySelectorAll('a[href]')].map((a) => a.href),
      clickMe: [...d.querySelectorAll('a')].filter((a) => a.textContent === 'click me').map((a) => a.getAttribute('href')),
      imgs: [...d.querySelectorAll('img')].map((i) => i.getAttribute('src')),
    };
  });
  log(JSON.stringify(attack));
  assert(attack.bad === 0, 'dangerous elements survived');
  assert(attack.on.length === 0, 'on* attributes survived: ' + attack.on.join(' '));
  assert(attack.style === 0, 'style attributes survived');
  assert(attack.js === 0, 'javascript: URLs survived');
  assert(attack.hrefs.every((h) => /^(https?:|mailto:)/.test(h)), 'hrefs: ' + attack.hrefs.join(' '));
  assert(attack.clickMe.every((h) => h === null), 'the javascript: link kept an href');
  assert(attack.imgs.length === 1, 'the onerror image survived as an image: ' + attack.imgs.join(' '));
  // raw HTML is shown as text, never parsed: the attack is visible and inert
  const docText = await doc.innerText();
  assert(docText.includes('<script>window.__pwned') && docText.includes('<iframe src="https://example.org/">') &&
    docText.includes('onerror='), 'raw HTML is not shown as text');
  await doc.getByText('styled paragraph').first().hover();
  assert(docText.includes('click me') && docText.includes('x'), 'the javascript: links\' text is gone');
  for (const a of await doc.locator('a', { hasText: /^(click me|x)$/ }).all()) await a.click(); // no href left: nothing happens
  await p.waitForTimeout(300);
  assert(p.url() === `${BASE}/collection/${MID}`, 'a click navigated to ' + p.url());
  assert(!(await p.evaluate(() => window.__pwned)), 'something ran: ' + (await p.evaluate(() => window.__pwned)));

  // covers, authors, maintainers, license, tags, versions, citation
  const cover = await p.locator('#covers img').first().evaluate((i) => ({ alt: i.alt, w: i.naturalWidth }));
  assert(cover.alt === 'Cover 1 of Multi-tensor', 'cover alt: ' + cover.alt);
  await p.waitForFunction(() => document.querySelector('#covers img')?.naturalWidth > 0);
  const authors = await text(p, '#authors');
  assert(authors.includes('Constantin Pape') && authors.includes('EMBL Heidelberg'), 'authors: ' + authors);
  assert(await p.locator('#authors a[href="https://orcid.org/0000-0001-6562-7187"]').count() === 1, 'ORCID link');
  const maint = await text(p, '#maintainers');
  assert(maint.includes('Mia Maintainer'), 'maintainers: ' + maint);
  assert(!(await p.content()).includes('mia.secret@example.org'), 'a maintainer email is on the page');
  assert((await text(p, '#license-id')) === 'CC-BY-4.0', 'license');
  const tagHref = await p.locator('#tags a.tag', { hasText: 'zebra-tag' }).getAttribute('href');
  assert(tagHref === '/collection?q=zebra-tag', 'tag link: ' + tagHref);
  const v1 = p.locator('#versions li[data-version="1"]');
  assert(/v1\s+\d{4}-\d{2}-\d{2}/.test(await v1.innerText()), 'version with date: ' + (await v1.innerText()));
  const vdoi = await v1.locator('a.doi-link').getAttribute('href');
  assert(/^https:\/\/doi\.org\/10\.5072\/zenodo\.\d+$/.test(vdoi), 'version DOI link: ' + vdoi);
  const cite = await text(p, '#citation');
  assert(cite.includes('training library') && cite.includes('architecture'), 'cite entries: ' + cite);
  assert(await p.locator('#citation a[href="https://doi.org/10.5281/zenodo.5108853"]').count() === 1, 'cite DOI link');
  const citeThis = await p.locator('#cite-this a').getAttribute('href');
  assert(/^https:\/\/doi\.org\/10\.5072\/zenodo\.\d+$/.test(citeThis) && citeThis !== vdoi, 'concept DOI: ' + citeThis);
  assert((await p.locator('#rdf-link').getAttribute('href')).endsWith(`/files/${MID}/1/files/rdf.yaml`), 'rdf.yaml link');
  // the download link gives the zip
  const [dl] = await Promise.all([p.waitForEvent('download'), p.click('#download')]);
  const zipPath = path.join(ART, 'download.zip');
  await dl.saveAs(zipPath);
  const zip = fs.readFileSync(zipPath);
  assert(zip.length > 1000 && zip.subarray(0, 4).toString('binary') === 'PK\x03\x04', 'the download is not a zip');
  assert(dl.suggestedFilename() === `${MID}-1.zip`, 'download name: ' + dl.suggestedFilename());
  await shot(p, 'detail');

  // --- the collection: title links, sort, empty result, tag links
  step = 'collection';
  const c = await newPage('collection');
  await c.goto(`${BASE}/collection`);
  await c.waitForFunction(() => /^3 of 3/.test(document.getElementById('count').textContent));
  assert(JSON.stringify(await order(c)) === JSON.stringify([DA, MID, DZ]), 'by name: ' + (await order(c)));
  assert(await c.locator('#f-sort option[value="downloads"]').isDisabled(), 'downloads sort is offered without counts');
  assert(await c.locator('#sort-note').isVisible(), 'no note why downloads is disabled');
  await c.selectOption('#f-sort', 'newest');
  const newest = await order(c);
  assert(JSON.stringify(newest) === JSON.stringify([DA, DZ, MID]), 'newest first: ' + newest);
  assert(new URL(c.url()).searchParams.get('sort') === 'newest', 'sort not in the URL: ' + c.url());
  await shot(c, 'collection-newest');
  await c.reload();
  await c.waitForFunction(() => /^3 of 3/.test(document.getElementById('count').textContent));
  assert((await c.locator('#f-sort').inputValue()) === 'newest', 'sort not restored from the URL');
  assert(JSON.stringify(await order(c)) === JSON.stringify(newest), 'order after reload');
  // the title is a link to the detail page
  const href = await c.locator(`li.rcard[data-id="${MID}"] h2 a`).getAttribute('href');
  assert(href === `/collection/${MID}`, 'title link: ' + href);
  // empty result
  await c.fill('#f-q', 'nothing-matches-this');
  await c.waitForFunction(() => !document.getElementById('empty').hidden);
  assert((await text(c, '#empty')).includes('No resource matches “nothing-matches-this”.'), 'empty text: ' + (await text(c, '#empty')));
  assert((await c.locator('li.rcard').count()) === 0, 'cards shown for an empty result');
  await shot(c, 'collection-empty');
  await c.click('#clear-filter');
  await c.waitForFunction(() => /^3 of 3/.test(document.getElementById('count').textContent));
  assert(await c.locator('#empty').isHidden(), 'the empty notice stayed');
  // a tag link filters (in the page, and the URL says so)
  await c.locator(`li.rcard[data-id="${DA}"] a.tag`, { hasText: 'detail-test' }).click();
  await c.waitForFunction(() => /^2 of 3/.test(document.getElementById('count').textContent));
  assert(JSON.stringify((await order(c)).sort()) === JSON.stringify([DA, DZ].sort()), 'tag filter: ' + (await order(c)));
  assert(new URL(c.url()).searchParams.get('q') === 'detail-test', 'tag not in the URL');
  await shot(c, 'collection-tag');
  // the detail page's tag link lands on the filtered collection
  await c.goto(`${BASE}/collection?q=zebra-tag`);
  await c.waitForFunction(() => /^1 of 3/.test(document.getElementById('count').textContent));
  assert(JSON.stringify(await order(c)) === JSON.stringify([MID]), 'zebra-tag filter');

  // --- the published status page: versions, DOIs, links
  step = 'status';
  const s = await newPage('status');
  await s.goto(`${BASE}/status/${MID}`);
  await s.waitForSelector('#published-versions');
  assert((await text(s, '#state-name')) === 'published', 'state');
  assert(/^https:\/\/doi\.org\/10\.5072\//.test(await s.locator('#concept-doi a').getAttribute('href')), 'concept DOI on the status page');
  const sv = await text(s, '#published-versions');
  assert(/v1\s+\d{4}-\d{2}-\d{2}\s+DOI 10\.5072\/zenodo\.\d+/.test(sv), 'status versions: ' + sv);
  assert((await s.locator('#detail-link').getAttribute('href')) === `/collection/${MID}`, 'detail link');
  assert((await s.locator('#new-revision').getAttribute('href')) === `/?id=${MID}`, 'new revision link');
  await shot(s, 'status-published');
  await s.click('#detail-link');
  await s.waitForSelector('#doc-body h1');

  // --- an unknown id; a 404 a browser navigates to
  step = 'unknown';
  await s.goto(`${BASE}/collection/no-such-resource`);
  await s.waitForSelector('#not-found');
  assert((await text(s, 'h1')) === 'No resource no-such-resource', 'unknown id heading: ' + (await text(s, 'h1')));
  await shot(s, 'detail-unknown');
  const resp = await s.goto(`${BASE}/api/v1/resources/no-such-resource`);
  assert(resp.status() === 404 && resp.headers()['content-type'].startsWith('text/html'), 'browser 404: ' + resp.headers()['content-type']);
  assert((await text(s, 'h1')) === 'Resource not found', '404 heading');
  assert((await text(s, '.problem-detail')).includes("no resource 'no-such-resource'"), '404 detail');
  await shot(s, 'problem-404');

  // --- phone width
  step = 'phone';
  const ph = await newPage('phone', { width: 375, height: 740 });
  await ph.goto(`${BASE}/collection/${MID}`);
  await ph.waitForSelector('#doc-body h1');
  const overflow = await ph.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert(overflow <= 1, 'the detail page scrolls sideways on a phone: ' + overflow);
  await shot(ph, 'phone-detail');

  assert(problems.length === 0, 'page problems:\n' + problems.join('\n'));
  log('all checks passed');
} catch (e) {
  console.error(e.stack || String(e));
  if (problems.length) console.error('page problems:\n' + problems.join('\n'));
  await browser.close();
  process.exit(1);
}
await browser.close();
