// End-to-end test of the nutgraf web page in a real (headless) Chromium.
//
// Start a server first (`nutgraf serve --addr 127.0.0.1:7700`), then from
// the repository root:
//
//   cd tests/e2e && npm install && cd ../..
//   NUTGRAF_URL=http://127.0.0.1:7700 node tests/e2e/page.test.mjs
//
// Environment:
//   NUTGRAF_URL     the server (default http://127.0.0.1:7700)
//   CHROMIUM        the browser binary (default /usr/bin/chromium)
//   SCREENSHOT_DIR  where screenshots go (default target/e2e)
//   HEADED=1        show the browser window
//
// Prints `ok - step` / `not ok - step` lines and exits non-zero if any
// step fails.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const BASE = (process.env.NUTGRAF_URL || 'http://127.0.0.1:7700').replace(/\/+$/, '');
// A server on tests/fixtures/wire (a wire story reprinted by three
// outlets) for the trace view; its steps are skipped without one.
const WIRE = (process.env.NUTGRAF_WIRE_URL || '').replace(/\/+$/, '');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = path.resolve(process.env.SCREENSHOT_DIR || 'target/e2e');
const TIMEOUT = 15_000;

let failures = 0;
let count = 0;

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

async function step(name, fn) {
  count++;
  try {
    await fn();
    console.log(`ok ${count} - ${name}`);
  } catch (e) {
    failures++;
    console.log(`not ok ${count} - ${name}`);
    for (const line of String(e && e.stack ? e.stack : e).split('\n').slice(0, 6)) console.log(`  # ${line}`);
  }
}

/** Runs `action` and waits until the page has rendered the answer to the
 * /api/search request it causes (one whose parameters satisfy `match`). */
async function settled(page, action, match = () => true) {
  const response = page.waitForResponse((r) => {
    const u = new URL(r.url());
    return u.pathname === '/api/search' && match(u.searchParams);
  }, { timeout: TIMEOUT });
  await action();
  await response;
  await page.waitForFunction(
    () => document.querySelector('#results')?.getAttribute('aria-busy') === 'false',
    null, { timeout: TIMEOUT },
  );
}

const hitIds = (page) => page.$$eval('#results article.hit', (els) => els.map((e) => e.dataset.id));
const outlets = (page) => page.$$eval('#results article.hit .outlet', (els) => els.map((e) => e.textContent.trim()));
const pageInfo = (page) => page.textContent('#page-info');
// Every polite live region on the page (aria-live="polite" or an implicit one).
const politeRegions = (page) => page.$$eval(
  '[aria-live="polite"], [role="status"], [role="log"], output',
  (els) => els.filter((e) => e.getAttribute('aria-live') !== 'off' && e.getAttribute('aria-live') !== 'assertive').length,
);
const liveText = async (page) => {
  const texts = await page.$$eval('[aria-live="polite"], [role="status"]', (els) => els.map((e) => e.textContent));
  return texts.join(' | ');
};

/** The colour a stance gets, as [badge background, facet dot] per value. */
const stanceColours = (page) => page.evaluate(() => {
  const out = {};
  for (const dot of document.querySelectorAll('fieldset[data-facet="stance"] .facet-value[data-stance]')) {
    out[dot.dataset.stance] = { dot: getComputedStyle(dot, '::before').backgroundColor };
  }
  for (const badge of document.querySelectorAll('#results .stance[data-stance]')) {
    (out[badge.dataset.stance] ||= {}).badge = getComputedStyle(badge).backgroundColor;
  }
  return out;
});

/** Asserts that `values` each have a facet dot colour of their own (and a
 * badge colour of their own where a hit shows one). */
function assertDistinct(colours, values) {
  for (const v of values) assert(colours[v] && colours[v].dot, `no facet entry for stance ${v}: ${JSON.stringify(colours)}`);
  for (const kind of ['dot', 'badge']) {
    const seen = values.filter((v) => colours[v][kind]).map((v) => colours[v][kind]);
    assert(new Set(seen).size === seen.length, `stances share a ${kind} colour: ${JSON.stringify(colours)}`);
  }
  const grey = values.filter((v) => colours[v].dot === 'rgb(154, 163, 173)');
  assert(grey.length === 0, `stances left grey: ${grey.join(', ')}`);
}

if (!fs.existsSync(CHROMIUM)) {
  console.error(`Chromium not found at ${CHROMIUM} (set CHROMIUM=..., or apt-get install chromium)`);
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: !process.env.HEADED,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
const page = await context.newPage();
page.setDefaultTimeout(TIMEOUT);

// Script errors and Content-Security-Policy violations fail the run.
const problems = [];
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
page.on('console', (m) => {
  if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
});

let criticalIds = [];

try {
  await step('server answers and the page loads under its CSP', async () => {
    const res = await page.request.get(`${BASE}/`);
    assert(res.ok(), `GET / answered ${res.status()}`);
    assert(/text\/html/.test(res.headers()['content-type'] || ''), 'GET / is not text/html');
    await settled(page, () => page.goto(`${BASE}/`));
    assert(await page.isVisible('form#search-form input#q'), 'no search box');
    assert(await page.evaluate(() => document.activeElement?.id === 'q'), 'search box is not focused on load');
    assert(await page.isVisible('label[for="q"]'), 'search box has no label');
  });

  await step('search "Section 907": BESA Center and The New Arab hits with highlighted snippets', async () => {
    await page.fill('#q', 'Section 907');
    await settled(page, () => page.press('#q', 'Enter'), (p) => p.get('q') === 'Section 907');
    const out = await outlets(page);
    assert(out.length > 0, 'no hits');
    for (const o of out) assert(o === 'BESA Center' || o === 'The New Arab', `unexpected outlet ${JSON.stringify(o)}`);
    assert(out.includes('BESA Center') && out.includes('The New Arab'), `outlets seen: ${[...new Set(out)].join(', ')}`);
    const marks = await page.$$eval('#results article.hit', (hits) => hits.map((h) => [...h.querySelectorAll('.snippet mark')].map((m) => m.textContent)));
    marks.forEach((ms, i) => {
      assert(ms.length > 0, `hit ${i + 1} has no <mark> in its snippet`);
      for (const m of ms) assert(/section|907/i.test(m), `hit ${i + 1} marks ${JSON.stringify(m)}`);
    });
    const summary = await page.textContent('#summary');
    assert(/\d+\s+paragraphs?\s+match/i.test(summary), `summary reads ${JSON.stringify(summary)}`);
    assert(/q=Section(\+|%20)907/.test(page.url()), `address bar is ${page.url()}`);
    const first = page.locator('#results article.hit').first();
    assert(await first.locator('.stance').count() === 1, 'first hit has no stance badge');
    assert(/¶\s*\d+\s+of\s+\d+/.test(await first.textContent()), 'first hit has no "¶ N of M"');
    const links = await page.$$eval('#results article.hit a[target="_blank"]', (as) => as.map((a) => a.rel));
    for (const rel of links) assert(/noopener/.test(rel) && /noreferrer/.test(rel), `link rel is ${JSON.stringify(rel)}`);
    assert(await page.isVisible('#pager #page-info'), 'no page info');
  });

  await step('ranks are read by screen readers: text, not an aria-label on a span', async () => {
    const ranks = await page.$$eval('#results article.hit .rank', (els) => els.map((e) => ({
      text: e.textContent.trim(), label: e.getAttribute('aria-label'), visible: e.innerText.replace(/\s+/g, ' ').trim(),
    })));
    assert(ranks.length > 0, 'no ranks');
    ranks.forEach((r, i) => {
      assert(r.label === null, `rank ${i + 1} has aria-label ${JSON.stringify(r.label)}`);
      assert(r.text === `Result ${i + 1}`, `rank ${i + 1} reads ${JSON.stringify(r.text)}`);
    });
    const tree = await page.locator('#results article.hit').first().ariaSnapshot();
    assert(/Result 1\b/.test(tree), `the accessibility tree of the first hit has no "Result 1":\n${tree}`);
    const shown = await page.$eval('#results article.hit .rank', (e) => {
      const hidden = e.querySelector('.visually-hidden');
      return hidden ? e.textContent.replace(hidden.textContent, '').trim() : null;
    });
    assert(shown === '1', `the visible rank reads ${JSON.stringify(shown)}`);
  });

  await step('exactly one polite live region, and it announces the result count', async () => {
    const regions = await politeRegions(page);
    assert(regions === 1, `${regions} polite live regions`);
    const said = await liveText(page);
    const total = (await page.textContent('#summary strong')).trim();
    assert(new RegExp(`${total}\\s+paragraphs?\\s+match`).test(said), `the live region reads ${JSON.stringify(said)}`);
    assert(/page\s+1\s+of/i.test(said), `the live region does not give the page: ${JSON.stringify(said)}`);
    assert(!/ms\b/.test(said), `the live region reads the time taken: ${JSON.stringify(said)}`);
  });

  await step('tick stance "critical": only The New Arab, stance=critical in the address bar', async () => {
    const box = page.locator('fieldset[data-facet="stance"] input[type="checkbox"][value="critical"]');
    await settled(page, () => box.check(), (p) => p.getAll('stance').includes('critical'));
    const out = await outlets(page);
    assert(out.length > 0, 'no hits');
    for (const o of out) assert(o === 'The New Arab', `unexpected outlet ${JSON.stringify(o)}`);
    assert(/[?&]stance=critical(&|$)/.test(page.url()), `address bar is ${page.url()}`);
    assert(await box.isChecked(), 'the box is not ticked after the search');
    // Disjunctive counts: the other stance is still offered.
    const stances = await page.$$eval('fieldset[data-facet="stance"] input[type="checkbox"]', (els) => els.map((e) => e.value));
    assert(stances.length >= 2, `stance facet offers only ${stances.join(', ')}`);
    criticalIds = await hitIds(page);
  });

  await step('show context: neighbouring paragraphs expand in place, focus marked', async () => {
    const first = page.locator('#results article.hit').first();
    const id = await first.getAttribute('data-id');
    const toggle = first.locator('.context-toggle');
    await toggle.click();
    const ctx = first.locator('.context');
    await ctx.waitFor({ state: 'visible' });
    await first.locator('.context .context-unit').nth(1).waitFor();
    const units = await first.locator('.context .context-unit').count();
    assert(units > 1, `only ${units} context unit(s)`);
    const focus = first.locator('.context .context-unit.focus');
    assert(await focus.count() === 1, `${await focus.count()} focused units`);
    assert(await focus.getAttribute('data-id') === id, 'the focused unit is not the hit');
    assert(/hide/i.test(await toggle.textContent()), 'toggle does not offer "hide context"');
    assert(await toggle.getAttribute('aria-expanded') === 'true', 'toggle aria-expanded is not true');
    await toggle.click();
    await ctx.waitFor({ state: 'hidden' });
    assert(/show/i.test(await toggle.textContent()), 'toggle does not offer "show context" again');
  });

  let page1Ids = [];
  await step('paging a broad query: Next goes to page 2, Previous back, Back button works', async () => {
    const box = page.locator('fieldset[data-facet="stance"] input[type="checkbox"][value="critical"]');
    await settled(page, () => box.uncheck(), (p) => !p.getAll('stance').includes('critical'));
    assert(!/stance=critical/.test(page.url()), 'stance=critical still in the address bar');
    await page.fill('#q', 'Azerbaijan');
    await settled(page, () => page.press('#q', 'Enter'), (p) => p.get('q') === 'Azerbaijan');
    const info1 = await pageInfo(page);
    const m = info1.match(/page\s+1\s+of\s+([\d,]+)/i);
    assert(m && Number(m[1].replace(/,/g, '')) >= 2, `page info reads ${JSON.stringify(info1)} (need more than 10 hits)`);
    assert(await page.isDisabled('#prev'), 'Previous is enabled on page 1');
    assert(await page.isEnabled('#next'), 'Next is disabled on page 1');
    page1Ids = await hitIds(page);
    assert(page1Ids.length === 10, `${page1Ids.length} hits on page 1`);
    assert(await page.$eval('#results article.hit .rank', (e) => e.textContent.trim()) === 'Result 1', 'first rank is not 1');

    await settled(page, () => page.click('#next'), (p) => p.get('offset') === '10');
    assert(/page\s+2\b/i.test(await pageInfo(page)), `page info reads ${JSON.stringify(await pageInfo(page))}`);
    const page2Ids = await hitIds(page);
    assert(page2Ids.length > 0 && page2Ids[0] !== page1Ids[0], 'page 2 starts with the same hit');
    assert(/[?&]offset=10(&|$)/.test(page.url()), `address bar is ${page.url()}`);
    assert(await page.$eval('#results article.hit .rank', (e) => e.textContent.trim()) === 'Result 11', 'first rank on page 2 is not 11');
    assert(/page\s+2\b/i.test(await liveText(page)), `the live region reads ${JSON.stringify(await liveText(page))}`);

    await settled(page, () => page.click('#prev'), (p) => (p.get('offset') || '0') === '0');
    assert(/page\s+1\b/i.test(await pageInfo(page)), `page info reads ${JSON.stringify(await pageInfo(page))}`);
    assert(JSON.stringify(await hitIds(page)) === JSON.stringify(page1Ids), 'page 1 differs after Previous');

    await settled(page, () => page.goBack(), (p) => p.get('offset') === '10');
    assert(/page\s+2\b/i.test(await pageInfo(page)), 'Back did not return to page 2');
    assert(await page.inputValue('#q') === 'Azerbaijan', 'Back lost the query');
  });

  await step('shared link ?q=Section+907&stance=critical renders the same results without typing', async () => {
    await settled(page, () => page.goto(`${BASE}/?q=Section+907&stance=critical`), (p) => p.get('q') === 'Section 907');
    assert(await page.inputValue('#q') === 'Section 907', 'the search box does not show the query');
    assert(await page.isChecked('fieldset[data-facet="stance"] input[value="critical"]'), 'critical is not ticked');
    const ids = await hitIds(page);
    assert(ids.length > 0, 'no hits');
    assert(JSON.stringify(ids) === JSON.stringify(criticalIds), `hits ${ids.join(' ')} differ from ${criticalIds.join(' ')}`);
    for (const o of await outlets(page)) assert(o === 'The New Arab', `unexpected outlet ${JSON.stringify(o)}`);
  });

  await step('markup in the query is shown as text, never run', async () => {
    const evil = '"><img src=x onerror=window.__xss=1><script>window.__xss=1</script>';
    await settled(page, () => page.goto(`${BASE}/?q=${encodeURIComponent(evil)}`), (p) => p.get('q') === evil);
    await page.waitForFunction(() => {
      const s = document.querySelector('#summary');
      const e = document.querySelector('#error');
      return (s && s.textContent.trim() !== '') || (e && !e.hidden);
    });
    await page.waitForTimeout(300); // give any injected onerror a chance to fire
    assert(await page.evaluate(() => window.__xss) === undefined, 'window.__xss was set');
    const injected = await page.$$eval(
      '#results img, #summary img, #suggestions img, #error img, #results script, #summary script, #suggestions script, #error script',
      (els) => els.length,
    );
    assert(injected === 0, `${injected} injected element(s)`);
    const scripts = await page.$$eval('script', (els) => els.map((s) => s.getAttribute('src')));
    assert(scripts.length === 1 && scripts[0] === '/app.js', `scripts on the page: ${JSON.stringify(scripts)}`);
    assert(await page.inputValue('#q') === evil, 'the search box does not hold the query as typed');
  });

  await step('an API error is shown in the alert box', async () => {
    const long = 'a'.repeat(1200);
    await settled(page, () => page.goto(`${BASE}/?q=${long}`), (p) => p.get('q') === long);
    const err = page.locator('#error');
    await err.waitFor({ state: 'visible' });
    assert(await err.getAttribute('role') === 'alert', '#error is not role="alert"');
    assert((await err.textContent()).trim().length > 20, 'the error box has no message');
  });

  await step('"Did you mean" offers the server\'s whole corrected queries and runs one', async () => {
    const typo = 'Azerbaijn Israel';
    const api = await (await page.request.get(`${BASE}/api/search?q=${encodeURIComponent(typo)}`)).json();
    const wanted = [...new Set(api.suggestions.map((x) => x.trim()))].filter((x) => x && x !== typo);
    assert(wanted.length > 0 && wanted.every((x) => /\s/.test(x)), `the server suggests ${JSON.stringify(api.suggestions)}`);
    await settled(page, () => page.goto(`${BASE}/?q=${encodeURIComponent(typo)}`), (p) => p.get('q') === typo);
    const offered = await page.$$eval('#suggestions a.suggestion', (as) => as.map((a) => a.textContent));
    assert(JSON.stringify(offered) === JSON.stringify(wanted), `the page offers ${JSON.stringify(offered)}, the server ${JSON.stringify(wanted)}`);
    await settled(page, () => page.click('#suggestions a.suggestion'), (p) => p.get('q') === wanted[0]);
    assert(await page.inputValue('#q') === wanted[0], `the search box holds ${JSON.stringify(await page.inputValue('#q'))}`);
    assert((await hitIds(page)).length > 0, 'the suggested query found nothing');
  });

  await step('partial matches follow the full ones, each saying how many words it holds', async () => {
    const q = 'normalizing relations Saudi';
    await settled(page, () => page.goto(`${BASE}/?q=${encodeURIComponent(q)}`), (p) => p.get('q') === q);
    const notes = await page.$$eval('#results article.hit', (hits) => hits.map((h) => {
      const n = h.querySelector('.partial-note');
      return n ? n.textContent.trim() : null;
    }));
    assert(notes.length > 1, `${notes.length} hits`);
    assert(notes[0] === null, `the first hit is marked partial: ${notes[0]}`);
    const firstPartial = notes.findIndex((n) => n !== null);
    assert(firstPartial > 0, 'no partial match on the page');
    for (const n of notes.slice(firstPartial)) {
      assert(/^Holds [12] of the 3 words$/.test(n || ''), `a partial hit reads ${JSON.stringify(n)}`);
    }
  });

  await step('matches in captions are offered as a link, and the link shows them', async () => {
    await settled(page, () => page.goto(`${BASE}/?q=Wikimedia`), (p) => p.get('q') === 'Wikimedia');
    const notice = page.locator('#excluded');
    await notice.waitFor({ state: 'visible' });
    assert(/1 more in captions/.test(await notice.textContent()), `the notice reads ${JSON.stringify(await notice.textContent())}`);
    await settled(page, () => page.click('#excluded a.show-kind'), (p) => p.getAll('kind').includes('caption'));
    assert((await hitIds(page)).length === 1, 'the caption is not shown');
    assert(await page.isHidden('#excluded'), 'the notice stays when captions are searched');
  });

  await step('stances get distinct colours: supportive and critical on the seeds', async () => {
    await settled(page, () => page.goto(`${BASE}/?q=Azerbaijan`), (p) => p.get('q') === 'Azerbaijan');
    const colours = await stanceColours(page);
    assertDistinct(colours, ['supportive', 'critical']);
    assert(colours.supportive.badge, 'no supportive badge on the first page');
  });

  await step('stances get distinct colours: a vocabulary beyond supportive and critical', async () => {
    // The seeds hold two stances; the index's vocabulary may hold any
    // (AllSides: left, center, right). The answers are the server's, with
    // more stance values added to their stance counts and hits.
    const more = ['neutral', 'left', 'center', 'right'];
    const p2 = await context.newPage();
    p2.on('pageerror', (e) => problems.push(`page error (stances): ${e.message}`));
    const widen = async (route) => {
      const res = await route.fetch();
      const data = await res.json();
      more.forEach((v, i) => { data.facets.stance[v] = i + 1; });
      (data.hits || []).forEach((hit, i) => { if (i < more.length) hit.stance = more[i]; });
      await route.fulfill({ response: res, json: data });
    };
    await p2.route((u) => u.pathname === '/api/facets' || u.pathname === '/api/search', widen);
    await settled(p2, () => p2.goto(`${BASE}/?q=Azerbaijan`), (p) => p.get('q') === 'Azerbaijan');
    const colours = await stanceColours(p2);
    const all = ['supportive', 'critical', ...more];
    assertDistinct(colours, all);
    for (const v of more) assert(colours[v].badge, `no ${v} badge on the page`);
    // Tones follow the vocabulary's sorted order, not the counts.
    const tones = await p2.$$eval('fieldset[data-facet="stance"] .facet-value', (els) =>
      Object.fromEntries(els.map((e) => [e.dataset.stance, e.dataset.tone])));
    const sorted = [...all].sort();
    for (const v of all) assert(tones[v] === String(sorted.indexOf(v)), `stance ${v} has tone ${tones[v]}: ${JSON.stringify(tones)}`);
    await p2.close();
  });

  await step('the pager stops at the server\'s offset cap', async () => {
    // The server accepts offsets up to 10,000 and refuses more.
    const atCap = await page.request.get(`${BASE}/api/search?q=Azerbaijan&offset=10000`);
    assert(atCap.status() === 200, `offset 10000 answered ${atCap.status()}`);
    const past = await page.request.get(`${BASE}/api/search?q=Azerbaijan&offset=10010`);
    assert(past.status() === 400, `offset 10010 answered ${past.status()}`);
    // The seeds have too few hits to reach it: the server's first page,
    // answered as if from a query with 50,000 hits at the offset asked.
    const p2 = await context.newPage();
    p2.on('pageerror', (e) => problems.push(`page error (pager): ${e.message}`));
    const offsets = [];
    await p2.route((u) => u.pathname === '/api/search', async (route) => {
      const asked = new URL(route.request().url());
      const offset = Number(asked.searchParams.get('offset'));
      offsets.push(offset);
      asked.searchParams.set('offset', '0');
      const res = await route.fetch({ url: asked.href });
      const data = await res.json();
      data.total_hits = 50000;
      data.offset = offset;
      await route.fulfill({ response: res, json: data });
    });
    await settled(p2, () => p2.goto(`${BASE}/?q=Azerbaijan&offset=9990`), (p) => p.get('offset') === '9990');
    assert(/page\s+1,000\s+of\s+1,001\b/i.test(await pageInfo(p2)), `page info reads ${JSON.stringify(await pageInfo(p2))}`);
    assert(await p2.isEnabled('#next'), 'Next is disabled before the cap');
    await settled(p2, () => p2.click('#next'), (p) => p.get('offset') === '10000');
    const info = await pageInfo(p2);
    assert(/page\s+1,001\s+of\s+1,001\b/i.test(info), `page info reads ${JSON.stringify(info)}`);
    assert(/stop/i.test(info), `page info does not say the pages stop: ${JSON.stringify(info)}`);
    assert(await p2.isDisabled('#next'), 'Next is enabled at the cap');
    assert(await p2.$eval('#results article.hit .rank', (e) => e.textContent.trim()) === 'Result 10001', 'first rank at the cap is not 10001');
    assert(offsets.every((o) => o <= 10000), `the page asked for offsets ${offsets.join(', ')}`);
    await p2.close();
  });

  await step('the timeline draws a bar per month, stacked by stance, and says what no bar holds', async () => {
    await settled(page, () => page.goto(`${BASE}/?q=Azerbaijan`), (p) => p.get('q') === 'Azerbaijan' && p.get('histogram') === 'auto');
    await page.locator('#timeline').waitFor({ state: 'visible' });
    const api = await (await page.request.get(`${BASE}/api/search?q=Azerbaijan&histogram=auto&limit=1`)).json();
    const bars = await page.$$eval('#chart g.bucket', (gs) => gs.map((g) => [g.dataset.start, Number(g.dataset.count)]));
    const expected = api.histogram.buckets.map((b) => [b.start, b.count]);
    assert(JSON.stringify(bars) === JSON.stringify(expected), `bars ${JSON.stringify(bars)} against ${JSON.stringify(expected)}`);
    assert(bars.length >= 2, `${bars.length} bars`);
    const stacked = await page.$$eval('#chart g.bucket', (gs) => gs.map((g) => g.querySelectorAll('rect.bar').length));
    assert(stacked.some((n) => n >= 2), `no bar is stacked by stance: ${stacked}`);
    const note = await page.textContent('#chart-note');
    assert(new RegExp(`${api.histogram.imprecise} dated more coarsely than a month`).test(note), `the note reads ${JSON.stringify(note)}`);
  });

  await step('a click on a bar, or a drag across bars, sets the date range in the address', async () => {
    const hit = page.locator('#chart g.bucket rect.bucket-hit');
    const first = await hit.nth(0).boundingBox();
    const second = await hit.nth(1).boundingBox();
    const starts = await page.$$eval('#chart g.bucket', (gs) => gs.map((g) => g.dataset.start));
    await settled(page, async () => {
      await page.mouse.move(second.x + second.width / 2, second.y + second.height / 2);
      await page.mouse.down();
      await page.mouse.up();
    }, (p) => p.get('since') === starts[1]);
    assert(new URL(page.url()).searchParams.get('until') === starts[1], `address bar is ${page.url()}`);
    assert((await page.$$('#chart g.bucket')).length === 1, 'the chart still shows other months');
    assert(await page.isVisible('#clear-dates'), 'no way to clear the dates');
    await settled(page, () => page.goBack(), (p) => !p.get('since'));
    await page.locator('#chart g.bucket').nth(1).waitFor();
    await settled(page, async () => {
      await page.mouse.move(first.x + 2, first.y + first.height / 2);
      await page.mouse.down();
      await page.mouse.move(second.x + second.width / 2, second.y + second.height / 2, { steps: 4 });
      await page.mouse.up();
    }, (p) => p.get('since') === starts[0]);
    assert(new URL(page.url()).searchParams.get('until') === starts[1], `address bar is ${page.url()}`);
  });

  await step('the date fields set and clear the range from the keyboard', async () => {
    await settled(page, () => page.goto(`${BASE}/?q=Azerbaijan`), (p) => p.get('q') === 'Azerbaijan');
    await page.fill('#since-input', '2025-03-01');
    await page.fill('#until-input', '2025-03-31');
    await settled(page, () => page.press('#until-input', 'Enter'), (p) => p.get('until') === '2025-03-31');
    const u = new URL(page.url()).searchParams;
    assert(u.get('since') === '2025-03-01', `address bar is ${page.url()}`);
    const bars = await page.$$eval('#chart g.bucket', (gs) => gs.map((g) => g.dataset.start));
    assert(JSON.stringify(bars) === '["2025-03"]', `bars ${JSON.stringify(bars)}`);
    await page.focus('#clear-dates');
    await settled(page, () => page.keyboard.press('Enter'), (p) => !p.get('since') && !p.get('until'));
    assert(!/since=|until=/.test(page.url()), `address bar is ${page.url()}`);
  });

  await step('the share toggle asks for shares and the CSV link holds the numbers drawn', async () => {
    await settled(page, () => page.click('#chart-share'), (p) => p.get('normalize') === 'true');
    assert(await page.getAttribute('#chart-share', 'aria-pressed') === 'true', 'the toggle is not pressed');
    const titles = await page.$$eval('#chart g.bucket title', (ts) => ts.map((t) => t.textContent));
    assert(titles.every((t) => /% of [\d,]+/.test(t)), `bar titles ${JSON.stringify(titles)}`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#chart-csv')]);
    assert(download.suggestedFilename() === 'nutgraf-timeline.csv', `the file is named ${download.suggestedFilename()}`);
    const csv = fs.readFileSync(await download.path(), 'utf8');
    const lines = csv.trim().split(/\r\n/);
    assert(/^start,count,stance: /.test(lines[0]) && /,all,share$/.test(lines[0]), `CSV head ${JSON.stringify(lines[0])}`);
    const api = await (await page.request.get(`${BASE}/api/search?q=Azerbaijan&histogram=auto&normalize=true&limit=1`)).json();
    for (const b of api.histogram.buckets) {
      assert(lines.some((l) => l.startsWith(`${b.start},${b.count},`) && l.endsWith(`,${b.all},${b.share}`)), `no CSV line for ${JSON.stringify(b)}: ${csv}`);
    }
    await settled(page, () => page.click('#chart-share'), (p) => !p.get('normalize'));
  });

  await step('Trace lists every copy in place, the first marked, a near copy\'s changes marked', async () => {
    assert(WIRE, 'NUTGRAF_WIRE_URL is not set: the Rust test starts that server');
    await settled(page, () => page.goto(`${WIRE}/?q=premiums`), (p) => p.get('q') === 'premiums');
    const first = page.locator('#results article.hit').first();
    const id = await first.getAttribute('data-id');
    await first.locator('button.trace-toggle').click();
    const box = first.locator('.trace');
    await box.locator('.trace-copy').first().waitFor();
    const api = await (await page.request.get(`${WIRE}/api/trace/${encodeURIComponent(id)}`)).json();
    assert(api.copies.length === 3, `the API traces ${api.copies.length} copies`);
    assert((await box.locator('.trace-head').textContent()).trim() === api.summary, 'the summary differs from the API');
    const shown = await box.locator('.trace-copy').evaluateAll((lis) => lis.map((li) => li.dataset.id));
    assert(JSON.stringify(shown) === JSON.stringify(api.copies.map((c) => c.id)), `copies ${shown}`);
    assert(/first known/.test(await box.locator('.trace-copy.first').textContent()), 'the first is not marked');
    assert(/2019-10 \(month only\)/.test(await box.textContent()), 'a month-only date is not said');
    const removed = await box.locator('.trace-changes del').allTextContents();
    const added = await box.locator('.trace-changes ins').allTextContents();
    assert(removed.includes('communities') && added.includes('towns'), `changes: -${removed} +${added}`);
    const links = await box.locator('a.trace-link').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    assert(links.length === 3 && links.every((l) => /^https:\/\/example\.org\//.test(l)), `links ${links}`);
    assert(await first.locator('button.trace-toggle').getAttribute('aria-expanded') === 'true', 'the button does not say it is open');
    await first.locator('button.trace-toggle').click();
    assert(await box.isHidden(), 'the trace does not close');
  });

  await step('copies are folded by default, each folded hit names the other outlets, and the toggle unfolds them', async () => {
    await settled(page, () => page.goto(`${WIRE}/?q=premiums`), (p) => p.get('q') === 'premiums' && p.get('collapse') === 'true');
    assert(await page.locator('#fold-copies').isChecked(), 'folding is not on by default');
    const folded = await hitIds(page);
    assert(folded.length === 1, `folded hits ${folded}`);
    const note = (await page.locator('#results article.hit .copies-note').first().textContent()).trim();
    assert(/^\+2 copies in /.test(note), `copies note: ${note}`);
    assert(/distinct, copies folded/.test(await page.textContent('#summary')), 'the summary does not say copies are folded');
    await settled(page, () => page.locator('#fold-copies').uncheck(), (p) => !p.has('collapse'));
    assert(new URL(page.url()).searchParams.get('collapse') === 'false', `address ${page.url()}`);
    const all = await hitIds(page);
    assert(all.length === 3, `unfolded hits ${all}`);
    assert(await page.locator('#results .copies-note').count() === 0, 'an unfolded page still notes copies');
    await settled(page, () => page.goBack(), (p) => p.get('collapse') === 'true');
    assert(await page.locator('#fold-copies').isChecked(), 'going back does not fold again');
  });

  await step('screenshots of a results page (desktop and phone)', async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    await settled(page, () => page.goto(`${BASE}/?q=Section+907`), (p) => p.get('q') === 'Section 907');
    await page.locator('#results article.hit').first().waitFor();
    await page.screenshot({ path: path.join(SHOTS, 'results.png'), fullPage: true });

    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
    const p2 = await phone.newPage();
    p2.on('pageerror', (e) => problems.push(`page error (phone): ${e.message}`));
    await settled(p2, () => p2.goto(`${BASE}/?q=Section+907`), (p) => p.get('q') === 'Section 907');
    const overflow = await p2.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert(overflow <= 1, `page is ${overflow}px wider than a phone screen`);
    const facetsTop = await p2.$eval('#facets', (e) => e.getBoundingClientRect().top);
    const resultsTop = await p2.$eval('#results', (e) => e.getBoundingClientRect().top);
    assert(facetsTop < resultsTop, 'on a phone the filters are not above the results');
    await p2.screenshot({ path: path.join(SHOTS, 'results-phone.png'), fullPage: true });
    await phone.close();
    console.log(`  # saved ${path.join(SHOTS, 'results.png')} and results-phone.png`);
  });

  await step('no script errors or Content-Security-Policy violations', async () => {
    assert(problems.length === 0, problems.join('\n'));
  });
} finally {
  await browser.close();
}

console.log(`1..${count}`);
if (failures) {
  console.log(`# ${failures} of ${count} failed`);
  process.exit(1);
}
console.log(`# all ${count} passed`);
