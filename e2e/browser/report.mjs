// Opens the alliance report's HTML page in Debian's headless chromium through
// playwright-core, fails on any console error, page error or failed request, checks the
// charts are drawn (inline SVG with shapes of non-zero size), and saves a screenshot and
// a printed PDF. Usage: node report.mjs URL TOKEN OUTDIR. Prints a JSON summary.
import { chromium } from 'playwright-core';
import path from 'node:path';

const [url, token, outDir] = process.argv.slice(2);
if (!url || !token || !outDir) {
  console.error('usage: node report.mjs URL TOKEN OUTDIR');
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const problems = [];
try {
  const context = await browser.newContext({ extraHTTPHeaders: { Authorization: 'Bearer ' + token }, viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push('console error: ' + msg.text()); });
  page.on('pageerror', (err) => problems.push('page error: ' + err.message));
  page.on('requestfailed', (req) => problems.push('request failed: ' + req.url() + ' ' + (req.failure()?.errorText ?? '')));
  page.on('response', (res) => { if (res.status() >= 400) problems.push('HTTP ' + res.status() + ' for ' + res.url()); });
  const res = await page.goto(url, { waitUntil: 'load' });
  if (!res || res.status() !== 200) problems.push('the page answered ' + (res ? res.status() : 'nothing'));
  const charts = await page.$$eval('svg.chart', (svgs) => svgs.map((svg) => {
    const box = svg.getBoundingClientRect();
    const shapes = [...svg.querySelectorAll('rect.bar')].filter((r) => r.getBBox().width > 0 && r.getBBox().height > 0);
    return { label: svg.getAttribute('aria-label'), width: box.width, height: box.height, shapes: shapes.length, texts: svg.querySelectorAll('text').length };
  }));
  if (charts.length < 4) problems.push('expected at least 4 charts, found ' + charts.length);
  for (const c of charts) {
    // A chart of all-zero figures has no bar of non-zero size, but still its labels.
    if (c.width <= 0 || c.height <= 0 || (c.shapes === 0 && c.texts === 0)) problems.push('chart "' + c.label + '" is not drawn: ' + JSON.stringify(c));
  }
  const withBars = charts.filter((c) => c.shapes > 0).length;
  if (withBars < 4) problems.push('only ' + withBars + ' charts have bars drawn: ' + JSON.stringify(charts));
  const title = await page.title();
  const rows = await page.$$eval('tbody tr', (trs) => trs.length);
  await page.screenshot({ path: path.join(outDir, 'alliance-report.png'), fullPage: true });
  await page.emulateMedia({ media: 'print' });
  await page.pdf({ path: path.join(outDir, 'alliance-report.pdf'), format: 'A4', printBackground: true });
  console.log(JSON.stringify({ title, rows, charts, problems }));
} catch (err) {
  problems.push('driver: ' + (err && err.stack ? err.stack : err));
  console.log(JSON.stringify({ problems }));
} finally {
  await browser.close();
}
process.exit(problems.length === 0 ? 0 : 1);
