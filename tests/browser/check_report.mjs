// Open a fleetscope report's index.html in headless Chromium (Debian's package) and
// check that every chart rendered and that the page logged no errors; save a
// full-page screenshot.
//
//   node tests/browser/check_report.mjs REPORT_DIR SCREENSHOT.png
import { chromium } from 'playwright-core';
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';

const [reportDir, shot] = process.argv.slice(2);
if (!reportDir || !shot) {
  console.error('usage: node check_report.mjs REPORT_DIR SCREENSHOT.png');
  process.exit(2);
}
const expected = readdirSync(resolve(reportDir, 'charts')).filter((f) => f.endsWith('.png')).length;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const problems = [];
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  await page.goto('file://' + resolve(reportDir, 'index.html'), { waitUntil: 'load' });
  const charts = await page.$$eval('img.chart', (imgs) => imgs.map((i) => ({
    alt: i.alt, complete: i.complete, w: i.naturalWidth, h: i.naturalHeight,
    shown: i.getBoundingClientRect().width,
  })));
  if (charts.length !== expected) problems.push(`${charts.length} charts in the page, ${expected} PNG files in charts/`);
  for (const c of charts) {
    if (!c.complete || c.w !== 1000 || c.h !== 560 || c.shown < 300) {
      problems.push(`chart "${c.alt}" did not render (complete=${c.complete}, ${c.w}x${c.h}, shown ${c.shown}px wide)`);
    }
  }
  const tables = await page.$$eval('table', (t) => t.length);
  if (tables < 10) problems.push(`only ${tables} tables in the page`);
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`${charts.length} charts rendered, ${tables} tables, screenshot ${shot}`);
} finally {
  await browser.close();
}
if (problems.length) {
  for (const p of problems) console.error('FAIL ' + p);
  process.exit(1);
}
console.log('report OK in headless Chromium');
