// End-to-end: article fields full of markup render as text in the page.
// Run against a server whose index holds the hostile document written by
// tests/e2e.rs (`NUTGRAF_URL=... node tests/e2e/hostile.test.mjs`).
import { chromium } from 'playwright-core';

const BASE = (process.env.NUTGRAF_URL || 'http://127.0.0.1:7700').replace(/\/+$/, '');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
let failed = false;
try {
  const page = await browser.newPage();
  const dialogs = [];
  page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
  await page.goto(`${BASE}/?q=SOCAR&outlet=${encodeURIComponent('<img src=x onerror=alert(2)>')}`);
  await page.waitForSelector('#results article.hit', { timeout: 15000 });
  // Expand context and similar paragraphs too: every path that renders text.
  await page.click('#results article.hit .context-toggle');
  await page.waitForSelector('#results .context .context-unit', { timeout: 15000 });
  await page.click('#results article.hit .similar-toggle');
  await page.waitForSelector('#results .similar p', { timeout: 15000 });
  await page.waitForTimeout(300);
  const report = await page.evaluate(() => ({
    injected: document.querySelectorAll('#results img, #results script, #results b, #facets img, main img').length,
    xss: window.__xss,
    title: document.querySelector('#results article.hit')?.textContent || '',
    similarShown: document.querySelectorAll('#results .similar p').length,
    links: [...document.querySelectorAll('#results a[href]')].map((a) => a.getAttribute('href')),
  }));
  const checks = [
    [report.injected === 0, 'no markup from the index became elements', `${report.injected} did`],
    [report.xss === undefined, 'no script ran', 'window.__xss was set'],
    [dialogs.length === 0, 'no alert opened', dialogs.join(', ')],
    [report.similarShown > 0, 'the similar paragraphs opened (their text is checked too)', 'nothing opened'],
    [report.title.includes('<script>'), 'the hostile title is shown as text', report.title.slice(0, 200)],
    [report.links.every((h) => /^(https?:|\/|\?|#)/.test(h)), 'every link is http(s) or the page', String(report.links)],
  ];
  for (const [ok, label, detail] of checks) {
    console.log(`${ok ? 'ok' : 'not ok'} - ${label}`);
    if (!ok) { failed = true; console.log(`  # ${detail}`); }
  }
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
