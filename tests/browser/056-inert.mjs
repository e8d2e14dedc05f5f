// 056-inert.mjs: uploaded files served by /files/ do not run on our origin, in a real
// Chromium (Debian's, driven by playwright-core): the SVG with a script is a download, not
// a page; the HTML page shows as text and its script never runs. Started by
// tests/http/056-inert-files.sh with BASE, ID, PLAYWRIGHT_CORE and CHROMIUM in env.
import { createRequire } from 'node:module';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`missing env ${k}`);
  return v;
};
const BASE = env('BASE'), ID = env('ID');
const { chromium } = createRequire(import.meta.url)(env('PLAYWRIGHT_CORE'));
const browser = await chromium.launch({
  executablePath: env('CHROMIUM'),
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
});
let failed = 0;
const check = (ok, msg) => { console.log(`${ok ? 'ok' : 'NOT OK'} ${msg}`); if (!ok) failed++; };
try {
  const ctx = await browser.newContext({ acceptDownloads: true });
  const page = await ctx.newPage();
  // a script that ran would call this API on our origin: count such requests
  let apiCalls = 0;
  page.on('request', (rq) => { if (rq.url().includes('/api/v1/me')) apiCalls++; });
  const files = `${BASE}/files/${ID}/draft/files`;
  // the SVG: a download (attachment), never rendered as a document of our origin
  const dl = page.waitForEvent('download', { timeout: 10000 }).then(() => true, () => false);
  await page.goto(`${files}/evil.svg`).catch(() => {});
  check(await dl, 'evil.svg is a download, not a page');
  // the HTML: shown as text, the script is text too
  await page.goto(`${files}/page.html`);
  const text = await page.evaluate(() => document.body ? document.body.innerText : '');
  check(text.includes('<script>alert(document.cookie)</script>'), 'page.html shows as text');
  const scripts = await page.evaluate(() => document.scripts.length);
  check(scripts === 0, `page.html has no script element (${scripts})`);
  // even opened as an image inside one of our pages, the SVG's script cannot run
  await page.goto(`${BASE}/collection`);
  await page.evaluate((u) => new Promise((res) => {
    const img = document.createElement('img');
    img.onload = img.onerror = () => res();
    img.src = u;
    document.body.appendChild(img);
  }), `${files}/evil.svg`);
  await page.waitForTimeout(500);
  check(apiCalls === 0, `no script of an uploaded file called the API (${apiCalls} calls)`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
