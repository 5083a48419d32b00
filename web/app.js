// nutgraf web page.
//
// Renders the JSON API in the browser. Every node is built with
// createElement / textContent / append: article text, titles, names and
// error messages never pass through an HTML parser, so nothing in the
// index can inject markup or script. The page runs under
// `Content-Security-Policy: default-src 'self'` (no inline script, no
// inline style, nothing from other hosts).
//
// The whole search state (q, filters, offset) lives in the address bar,
// so any search can be shared as a link and Back/Forward work.
'use strict';

(() => {
  const PAGE_SIZE = 10;
  // The deepest page start the server accepts (MAX_OFFSET in src/server/mod.rs):
  // the pager offers no page past it.
  const MAX_OFFSET = 10000;
  const CONTEXT = 2;
  const MORE_CONTEXT = 3;
  const SIMILAR_LIMIT = 5;
  const FACET_FIELDS = ['outlet', 'stance', 'author', 'genre', 'kind'];
  const SINGLE_FIELDS = ['since', 'until'];
  const FACET_VISIBLE = 8; // values shown before "Show all"
  // Stance colours: a fixed palette (tones 0..7 in app.css), given out in
  // the order of the index's stance vocabulary, so every corpus (supportive
  // and critical, or AllSides' left, center and right) gets distinct ones.
  const STANCE_TONES = 8;

  const encoder = new TextEncoder();
  const decoder = new TextDecoder();

  const $ = (sel) => document.querySelector(sel);
  const ui = {
    form: $('#search-form'),
    q: $('#q'),
    error: $('#error'),
    summary: $('#summary'),
    active: $('#active-filters'),
    relaxed: $('#relaxed'),
    excluded: $('#excluded'),
    suggestions: $('#suggestions'),
    results: $('#results'),
    resultsArea: $('#results-area'),
    pager: $('#pager'),
    prev: $('#prev'),
    next: $('#next'),
    pageInfo: $('#page-info'),
    facets: $('#facets'),
    clearFilters: $('#clear-filters'),
    live: $('#live'),
    timeline: $('#timeline'),
    chart: $('#chart'),
    chartShare: $('#chart-share'),
    chartCsv: $('#chart-csv'),
    chartFirst: $('#chart-first'),
    chartLast: $('#chart-last'),
    chartLegend: $('#chart-legend'),
    chartNote: $('#chart-note'),
    dateRange: $('#date-range'),
    sinceInput: $('#since-input'),
    untilInput: $('#until-input'),
    clearDates: $('#clear-dates'),
    foldCopies: $('#fold-copies'),
  };

  // ---------------------------------------------------------------- DOM

  /** Builds an element. Attribute values and children are data-safe:
   * strings become attributes via setAttribute or text nodes. */
  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const [key, value] of Object.entries(attrs)) {
        if (value === null || value === undefined || value === false) continue;
        if (key === 'class') node.className = value;
        else if (key === 'text') node.textContent = value;
        else if (key === 'hidden') node.hidden = true;
        else if (key === 'disabled') node.disabled = true;
        else node.setAttribute(key, value === true ? '' : String(value));
      }
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  /** Only http(s) addresses become links (never javascript: or data:). */
  function safeUrl(raw) {
    if (typeof raw !== 'string' || raw === '') return null;
    try {
      const u = new URL(raw, window.location.href);
      return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
    } catch (_) {
      return null;
    }
  }

  /** Appends `text` to `parent`, wrapping the [start, end) UTF-8 byte
   * ranges in <mark>. Bad, overlapping or out-of-range spans are clamped
   * or skipped. */
  function appendHighlighted(parent, text, highlights) {
    const str = typeof text === 'string' ? text : '';
    const bytes = encoder.encode(str);
    const spans = (Array.isArray(highlights) ? highlights : [])
      .filter((s) => Array.isArray(s) && s.length >= 2 && Number.isInteger(s[0]) && Number.isInteger(s[1]))
      .map(([a, b]) => [Math.max(0, a), Math.min(bytes.length, b)])
      .filter(([a, b]) => a < b)
      .sort((x, y) => x[0] - y[0] || y[1] - x[1]);
    // Join marks separated only by spaces ("Section 907" reads as one).
    const merged = [];
    for (const [start, end] of spans) {
      const last = merged[merged.length - 1];
      if (last && start >= last[1] && /^ *$/.test(decoder.decode(bytes.subarray(last[1], start)))) {
        last[1] = Math.max(last[1], end);
      } else if (last && start < last[1]) {
        last[1] = Math.max(last[1], end);
      } else {
        merged.push([start, end]);
      }
    }
    let pos = 0;
    for (const [start, end] of merged) {
      const a = Math.max(start, pos);
      if (a >= end) continue;
      if (a > pos) parent.append(document.createTextNode(decoder.decode(bytes.subarray(pos, a))));
      parent.append(h('mark', null, decoder.decode(bytes.subarray(a, end))));
      pos = end;
    }
    if (pos < bytes.length) parent.append(document.createTextNode(decoder.decode(bytes.subarray(pos))));
  }

  /** Maps a snippet's highlights onto the whole paragraph it came from,
   * when the snippet (minus leading/trailing ellipses) occurs in it. */
  function highlightsInFullText(full, snippet) {
    if (!snippet || typeof snippet.text !== 'string' || typeof full !== 'string') return [];
    let core = snippet.text;
    let lead = 0;
    const head = core.match(/^(?:…|\.\.\.)\s*/);
    if (head) {
      lead = encoder.encode(head[0]).length;
      core = core.slice(head[0].length);
    }
    const tail = core.match(/\s*(?:…|\.\.\.)$/);
    if (tail) core = core.slice(0, core.length - tail[0].length);
    if (!core) return [];
    const at = full.indexOf(core);
    if (at < 0) return [];
    const shift = encoder.encode(full.slice(0, at)).length - lead;
    const coreEnd = lead + encoder.encode(core).length;
    return (Array.isArray(snippet.highlights) ? snippet.highlights : [])
      .filter((s) => Array.isArray(s) && s[0] >= lead && s[1] <= coreEnd)
      .map(([a, b]) => [a + shift, b + shift]);
  }

  // ---------------------------------------------------------------- formatting

  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

  /** "2025-04" -> "Apr 2025", "2025-04-09" -> "9 Apr 2025"; else as given. */
  function formatDate(raw) {
    if (typeof raw !== 'string') return '';
    const m = raw.match(/^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/);
    if (!m) return raw;
    const month = m[2] ? MONTHS[Number(m[2]) - 1] : null;
    if (!month) return m[1];
    return m[3] ? `${Number(m[3])} ${month} ${m[1]}` : `${month} ${m[1]}`;
  }

  function formatTook(us) {
    if (typeof us !== 'number' || !Number.isFinite(us)) return '';
    if (us < 1000) return `${(us / 1000).toFixed(2)} ms`;
    if (us < 100000) return `${(us / 1000).toFixed(1)} ms`;
    return `${(us / 1e6).toFixed(2)} s`;
  }

  const plural = (n, one, many) => `${n.toLocaleString('en')} ${n === 1 ? one : many}`;

  function paragraphLabel(unit) {
    if (!Number.isInteger(unit.paragraph)) return '';
    return Number.isInteger(unit.paragraphs_in_doc) && unit.paragraphs_in_doc > 0
      ? `¶ ${unit.paragraph} of ${unit.paragraphs_in_doc}`
      : `¶ ${unit.paragraph}`;
  }

  function authorsOf(unit) {
    return Array.isArray(unit.authors) ? unit.authors.filter((a) => typeof a === 'string' && a) : [];
  }

  function citation(unit) {
    const parts = [];
    const authors = authorsOf(unit);
    if (authors.length) parts.push(authors.join(', ') + '.');
    if (unit.title) parts.push(`“${unit.title}.”`);
    const where = [unit.outlet, unit.published].filter(Boolean).join(', ');
    if (where) parts.push(where + '.');
    const para = Number.isInteger(unit.paragraph)
      ? `Paragraph ${unit.paragraph}${Number.isInteger(unit.paragraphs_in_doc) ? ` of ${unit.paragraphs_in_doc}` : ''}.`
      : '';
    if (para) parts.push(para);
    if (unit.url) parts.push(unit.url);
    parts.push(`[nutgraf ${unit.id}]`);
    return parts.join(' ');
  }

  // ---------------------------------------------------------------- state

  function emptyState() {
    const s = { q: '', offset: 0, unfold: false };
    for (const f of FACET_FIELDS) s[f] = [];
    for (const f of SINGLE_FIELDS) s[f] = '';
    return s;
  }

  function copyState(s) {
    const c = { q: s.q, offset: s.offset, unfold: s.unfold };
    for (const f of FACET_FIELDS) c[f] = s[f].slice();
    for (const f of SINGLE_FIELDS) c[f] = s[f];
    return c;
  }

  function stateFromLocation() {
    const p = new URLSearchParams(window.location.search);
    const s = emptyState();
    s.q = p.get('q') || '';
    for (const f of FACET_FIELDS) s[f] = [...new Set(p.getAll(f).filter((v) => v !== ''))];
    for (const f of SINGLE_FIELDS) s[f] = p.get(f) || '';
    const off = Number.parseInt(p.get('offset') || '0', 10);
    s.offset = Number.isFinite(off) && off > 0 ? off : 0;
    // Copies are folded unless the address says otherwise.
    s.unfold = p.get('collapse') === 'false';
    return s;
  }

  /** Query-string parameters; the page's own URL and the API share names. */
  function stateParams(s, forApi) {
    const p = new URLSearchParams();
    if (s.q || forApi) p.set('q', s.q);
    for (const f of FACET_FIELDS) for (const v of s[f]) p.append(f, v);
    for (const f of SINGLE_FIELDS) if (s[f]) p.set(f, s[f]);
    if (forApi) {
      p.set('limit', String(PAGE_SIZE));
      p.set('offset', String(s.offset));
      // The timeline above the hits: every search brings its histogram.
      p.set('histogram', 'auto');
      if (chartShare) p.set('normalize', 'true');
      if (!s.unfold) p.set('collapse', 'true');
    } else {
      if (s.unfold) p.set('collapse', 'false');
      if (s.offset > 0) p.set('offset', String(s.offset));
    }
    return p;
  }

  function pageUrl(s) {
    const qs = stateParams(s, false).toString();
    return qs ? `${window.location.pathname}?${qs}` : window.location.pathname;
  }

  function hasFilters(s) {
    return FACET_FIELDS.some((f) => s[f].length) || SINGLE_FIELDS.some((f) => s[f]);
  }

  let state = emptyState();
  let lastFacets = null; // facet counts from the last good answer
  let lastLeftOut = {}; // per facet, values the server did not list
  const expandedFacets = new Set();

  // ---------------------------------------------------------------- stances

  // The stance vocabulary, in tone order. The API lists stances by count,
  // not in the configured order, so the order is the whole index's stance
  // values sorted, read once from /api/facets; a value first seen later
  // (after the index is reopened) is appended, so tones never shift.
  const stances = [];

  function learnStances(values) {
    const fresh = values.filter((v) => typeof v === 'string' && !stances.includes(v));
    stances.push(...[...new Set(fresh)].sort());
  }

  /** The palette tone of a stance; past the palette, none (grey). */
  function stanceTone(value) {
    const i = stances.indexOf(value);
    return i >= 0 && i < STANCE_TONES ? String(i) : null;
  }

  const stanceVocabulary = getJson('/api/facets')
    .then((data) => learnStances(Object.keys((data.facets && data.facets.stance) || {})))
    .catch(() => {}); // without it, stances get tones as they are first seen

  // ---------------------------------------------------------------- API

  async function getJson(url, signal) {
    let res;
    try {
      res = await fetch(url, { signal, headers: { Accept: 'application/json' } });
    } catch (e) {
      if (e && e.name === 'AbortError') throw e;
      throw new Error('Could not reach the nutgraf server. Is `nutgraf serve` still running?');
    }
    const body = await res.text();
    let data = null;
    try {
      data = JSON.parse(body);
    } catch (_) {
      data = null;
    }
    if (!res.ok) {
      const msg = data && typeof data.error === 'string' && data.error
        ? data.error
        : `The server answered ${res.status}${res.statusText ? ' ' + res.statusText : ''}.`;
      throw new Error(msg);
    }
    if (data === null || typeof data !== 'object') {
      throw new Error('The server sent an answer that is not JSON.');
    }
    return data;
  }

  // ---------------------------------------------------------------- errors

  function showError(message) {
    clear(ui.error);
    ui.error.append(h('strong', null, 'Something went wrong: '), h('span', { class: 'error-message' }, message));
    ui.error.hidden = false;
  }

  function hideError() {
    clear(ui.error);
    ui.error.hidden = true;
  }

  // ---------------------------------------------------------------- search

  let searchSeq = 0;
  let inflight = null;

  async function runSearch(s, opts = {}) {
    const seq = ++searchSeq;
    if (inflight) inflight.abort();
    const ctrl = new AbortController();
    inflight = ctrl;
    ui.results.setAttribute('aria-busy', 'true');
    document.body.classList.add('is-loading');
    syncForm(s);
    document.title = s.q ? `${s.q} — nutgraf` : 'nutgraf — paragraph search';

    let data = null;
    let error = null;
    try {
      data = await getJson('/api/search?' + stateParams(s, true).toString(), ctrl.signal);
    } catch (e) {
      if (e && e.name === 'AbortError') return;
      error = e;
    }
    await stanceVocabulary;
    if (seq !== searchSeq) return;
    inflight = null;

    const focus = rememberFocus();
    if (error) {
      renderFailure(s, error);
    } else {
      hideError();
      render(s, data);
    }
    restoreFocus(focus, opts);
    document.body.classList.remove('is-loading');
    ui.results.setAttribute('aria-busy', 'false');
  }

  /** Starts a search for `s`, recording it in history. */
  function navigate(s, opts = {}) {
    state = copyState(s);
    const url = pageUrl(state);
    const here = window.location.pathname + window.location.search;
    if (url !== here) window.history.pushState(null, '', url);
    runSearch(state, opts);
  }

  function syncForm(s) {
    ui.foldCopies.checked = !s.unfold;
    // Reflect ticks at once, before the answer arrives.
    for (const box of ui.facets.querySelectorAll('input[type="checkbox"]')) {
      const field = box.closest('fieldset').dataset.facet;
      box.checked = s[field].includes(box.value);
    }
  }

  function renderFailure(s, error) {
    showError(error.message || String(error));
    clear(ui.summary);
    ui.summary.append(s.q
      ? h('span', null, 'The search for ', h('q', { class: 'query' }, s.q), ' failed: see the message above.')
      : 'The search failed: see the message above.');
    clear(ui.results);
    clear(ui.suggestions);
    ui.suggestions.hidden = true;
    ui.relaxed.hidden = true;
    ui.excluded.hidden = true;
    renderDownload(s, 0);
    ui.pager.hidden = true;
    ui.timeline.hidden = true;
    renderActiveFilters(s);
    renderFacets(lastFacets || {}, s);
  }

  function render(s, data) {
    const hits = Array.isArray(data.hits) ? data.hits : [];
    const total = Number.isFinite(data.total_hits) ? data.total_hits : hits.length;
    const offset = Number.isInteger(data.offset) ? data.offset : s.offset;
    if (data.facets && typeof data.facets === 'object') {
      lastFacets = data.facets;
      lastLeftOut = data.facets_left_out && typeof data.facets_left_out === 'object' ? data.facets_left_out : {};
      learnStances(Object.keys(data.facets.stance || {}));
    }
    learnStances(hits.map((hit) => hit.stance));

    renderSummary(s, data, total, offset, hits.length);
    renderActiveFilters(s);
    ui.relaxed.hidden = !(data.relaxed && hits.length > 0);
    renderExcluded(s, data.excluded_by_kind);
    renderDownload(s, total);
    renderSuggestions(s, data.suggestions);
    renderTimeline(s, data.histogram);

    clear(ui.results);
    if (hits.length === 0) {
      ui.results.append(emptyHelp(s, total));
    } else {
      const list = h('ol', { class: 'hit-list', start: offset + 1 });
      hits.forEach((hit, i) => list.append(h('li', null, renderHit(hit, offset + i + 1))));
      ui.results.append(list);
    }
    renderPager(total, offset);
    renderFacets(lastFacets || {}, s);
    announceCounts();
  }

  /** Says the result count (and page) in the page's one polite live
   * region; the time taken is left out as noise. */
  function announceCounts() {
    const said = [...ui.summary.childNodes]
      .filter((n) => !(n instanceof Element && n.classList.contains('took')))
      .map((n) => n.textContent)
      .join('');
    ui.live.textContent = ui.pager.hidden ? said : `${said}. ${ui.pageInfo.textContent}`;
  }

  /** Matches in kinds a search skips by default, each with a link that
   * shows them. */
  function renderExcluded(s, excluded) {
    clear(ui.excluded);
    const entries = excluded && typeof excluded === 'object'
      ? Object.entries(excluded).filter(([, n]) => Number.isInteger(n) && n > 0)
      : [];
    ui.excluded.hidden = entries.length === 0;
    entries.forEach(([kind, n], i) => {
      if (i > 0) ui.excluded.append(' · ');
      const link = h('a', { href: '#', class: 'show-kind' }, `${n.toLocaleString('en')} more in ${kind}s`);
      link.addEventListener('click', (event) => {
        event.preventDefault();
        const next = copyState(state);
        next.kind = [kind];
        next.offset = 0;
        navigate(next, { focusAfter: ui.q });
      });
      ui.excluded.append(link);
    });
    if (entries.length > 0) ui.excluded.append(', not searched by default');
  }

  /** "Download all N results": every match the count counts, as the
   * server's /api/export writes them (CSV, or JSON Lines), for the search
   * shown (the query and filters, not the page). */
  let downloadBox = null;
  function renderDownload(s, total) {
    if (!downloadBox) {
      downloadBox = h('p', { id: 'download', class: 'download' });
      ui.excluded.after(downloadBox);
    }
    clear(downloadBox);
    downloadBox.hidden = !(total > 0);
    if (downloadBox.hidden) return;
    const p = stateParams(s, true);
    p.delete('limit');
    p.delete('offset');
    const link = (format, text) => {
      p.set('format', format);
      return h('a', { href: '/api/export?' + p.toString(), download: '' }, text);
    };
    const what = total === 1 ? 'the 1 result' : `all ${total.toLocaleString('en')} results`;
    downloadBox.append(link('csv', `Download ${what}`), ' (CSV, for a spreadsheet; or ',
      link('jsonl', 'JSON Lines'), ')');
  }

  function renderSummary(s, data, total, offset, shown) {
    clear(ui.summary);
    const n = h('strong', null, total.toLocaleString('en'));
    const took = formatTook(data.took_us);
    const words = total === 1 ? ' paragraph' : ' paragraphs';
    if (s.q) {
      if (total === 0) {
        ui.summary.append('No paragraph matches ', h('q', { class: 'query' }, s.q));
      } else {
        ui.summary.append(n, words, total === 1 ? ' matches ' : ' match ', h('q', { class: 'query' }, s.q));
      }
    } else if (hasFilters(s)) {
      ui.summary.append(n, words, total === 1 ? ' matches' : ' match', ' the filters');
    } else {
      ui.summary.append('All ', n, words, ' in the index');
    }
    if (hasFilters(s) && s.q) ui.summary.append(' with the filters');
    const sources = data.sources;
    if (sources && Number.isInteger(sources.paragraphs) && sources.paragraphs < total) {
      ui.summary.append(h('span', { class: 'distinct' },
        ` · ${sources.paragraphs.toLocaleString('en')} distinct, copies folded`));
    }
    if (shown > 0) ui.summary.append(h('span', { class: 'range' }, ` · showing ${offset + 1}–${offset + shown}`));
    if (took) ui.summary.append(h('span', { class: 'took' }, ` · ${took}`));
  }

  function renderActiveFilters(s) {
    clear(ui.active);
    const chips = [];
    for (const f of [...FACET_FIELDS, ...SINGLE_FIELDS]) {
      const values = Array.isArray(s[f]) ? s[f] : (s[f] ? [s[f]] : []);
      for (const v of values) {
        const btn = h('button', {
          type: 'button',
          class: 'chip',
          'aria-label': `Remove filter ${f}: ${v}`,
          title: 'Remove this filter',
        }, h('span', { class: 'chip-field' }, `${f}:`), ' ', v, h('span', { class: 'chip-x', 'aria-hidden': 'true' }, ' ×'));
        btn.addEventListener('click', () => {
          const next = copyState(state);
          if (Array.isArray(next[f])) next[f] = next[f].filter((x) => x !== v);
          else next[f] = '';
          next.offset = 0;
          navigate(next, { focusAfter: ui.q });
        });
        chips.push(btn);
      }
    }
    ui.active.hidden = chips.length === 0;
    ui.clearFilters.hidden = chips.length === 0;
    if (chips.length) ui.active.append(h('span', { class: 'active-label' }, 'Filtered by'), ...chips);
  }

  function renderSuggestions(s, suggestions) {
    clear(ui.suggestions);
    const list = (Array.isArray(suggestions) ? suggestions : [])
      .filter((x) => typeof x === 'string' && x.trim());
    const queries = [];
    // The server suggests whole corrected queries, ready to run.
    for (const sug of list) {
      const q = sug.trim();
      if (q !== s.q && !queries.includes(q)) queries.push(q);
    }
    ui.suggestions.hidden = queries.length === 0;
    if (!queries.length) return;
    ui.suggestions.append('Did you mean: ');
    queries.forEach((q, i) => {
      const next = copyState(s);
      next.q = q;
      next.offset = 0;
      const a = h('a', { href: pageUrl(next), class: 'suggestion' }, q);
      a.addEventListener('click', (ev) => {
        if (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
        ev.preventDefault();
        ui.q.value = q; // the box shows the query that runs
        navigate(next, { focusAfter: ui.resultsArea });
      });
      if (i > 0) ui.suggestions.append(', ');
      ui.suggestions.append(a);
    });
    ui.suggestions.append('?');
  }

  function emptyHelp(s, total) {
    const box = h('div', { class: 'empty' });
    if (total > 0) {
      box.append(h('p', null, 'This page is past the last result.'));
      return box;
    }
    box.append(h('p', { class: 'empty-title' }, 'Nothing found.'));
    const tips = h('ul');
    if (hasFilters(s)) tips.append(h('li', null, 'Remove some filters: each one narrows the search.'));
    tips.append(
      h('li', null, 'Use fewer words, or join alternatives with ', h('code', null, 'OR'), '.'),
      h('li', null, 'Check the spelling, or allow a typo with ', h('code', null, 'word~1'), '.'),
      h('li', null, 'Match word beginnings with ', h('code', null, 'normali*'), '.'),
    );
    box.append(tips);
    return box;
  }

  // ---------------------------------------------------------------- hits

  function metaLine(unit, extraClass) {
    const meta = h('p', { class: 'meta' + (extraClass ? ' ' + extraClass : '') });
    const add = (node) => {
      if (!node) return;
      meta.append(node);
    };
    if (unit.outlet) add(h('span', { class: 'outlet' }, unit.outlet));
    const authors = authorsOf(unit);
    if (authors.length) add(h('span', { class: 'authors' }, authors.join(', ')));
    if (typeof unit.published === 'string' && unit.published) {
      add(h('time', { class: 'published', datetime: unit.published }, formatDate(unit.published)));
    }
    if (unit.stance) {
      add(h('span', {
        class: 'stance', 'data-stance': unit.stance, 'data-tone': stanceTone(unit.stance), title: 'Stance',
      }, unit.stance));
    }
    if (unit.genre) add(h('span', { class: 'genre' }, unit.genre));
    if (unit.kind && unit.kind !== 'body') add(h('span', { class: 'kind' }, unit.kind));
    const para = paragraphLabel(unit);
    if (para) {
      add(h('span', {
        class: 'para',
        title: `Paragraph ${unit.paragraph}${Number.isInteger(unit.paragraphs_in_doc) ? ' of ' + unit.paragraphs_in_doc : ''} in the article`,
      }, para));
    }
    return meta;
  }

  function titleNode(unit, tag, idAttr) {
    const url = safeUrl(unit.url);
    const title = unit.title || unit.doc_id || unit.id;
    const heading = h(tag, { class: 'title', id: idAttr });
    if (url) {
      heading.append(h('a', {
        href: url, target: '_blank', rel: 'noopener noreferrer', class: 'source-link',
      }, title, h('span', { class: 'visually-hidden' }, ' (original article, opens in a new tab)'),
      h('span', { class: 'ext', 'aria-hidden': 'true' }, ' ↗')));
    } else {
      heading.append(title);
    }
    return heading;
  }

  function renderHit(hit, rank) {
    const titleId = `hit-title-${rank}`;
    const art = h('article', { class: 'hit', 'data-id': hit.id, 'aria-labelledby': titleId });
    art.append(h('div', { class: 'hit-head' },
      // Read as "Result 3": an aria-label on a span is skipped by screen readers.
      h('span', { class: 'rank' }, h('span', { class: 'visually-hidden' }, 'Result '), String(rank)),
      metaLine(hit)));
    if (Number.isInteger(hit.copies) && hit.copies > 0) {
      // A folded cluster: the other hits carrying this paragraph.
      const outlets = Array.isArray(hit.copies_in) ? hit.copies_in.filter((o) => typeof o === 'string') : [];
      art.append(h('p', { class: 'copies-note' },
        `+${hit.copies} ${hit.copies === 1 ? 'copy' : 'copies'}`,
        outlets.length ? ` in ${outlets.join(', ')}` : ''));
    }
    if (Number.isInteger(hit.matched_words) && Number.isInteger(hit.query_words)) {
      art.classList.add('partial');
      art.append(h('p', { class: 'partial-note' },
        `Holds ${hit.matched_words} of the ${hit.query_words} words`));
    }
    art.append(titleNode(hit, 'h3', titleId));

    // Marks are built from `snippet.highlights` rather than from
    // `snippet.html`: the html would have to go through an HTML parser,
    // and article text reaches this page only as text nodes. The API keeps
    // `html` for clients that want it.
    const snippet = h('p', { class: 'snippet' });
    if (hit.snippet && typeof hit.snippet.text === 'string') {
      appendHighlighted(snippet, hit.snippet.text, hit.snippet.highlights);
    } else {
      snippet.append(hit.text || '');
    }
    art.append(snippet);

    const actions = h('div', { class: 'actions' });
    const ctxBtn = h('button', { type: 'button', class: 'context-toggle', 'aria-expanded': 'false' }, 'Show context');
    const simBtn = h('button', { type: 'button', class: 'similar-toggle', 'aria-expanded': 'false' }, 'Similar paragraphs');
    const traceBtn = h('button', { type: 'button', class: 'trace-toggle', 'aria-expanded': 'false' }, 'Trace');
    const citeBtn = h('button', { type: 'button', class: 'cite-copy' }, 'Copy citation');
    actions.append(ctxBtn, simBtn, traceBtn, citeBtn);
    const url = safeUrl(hit.url);
    if (url) {
      actions.append(h('a', {
        href: url, target: '_blank', rel: 'noopener noreferrer', class: 'source',
      }, 'Original article', h('span', { class: 'visually-hidden' }, ' (opens in a new tab)'),
      h('span', { class: 'ext', 'aria-hidden': 'true' }, ' ↗')));
    }
    art.append(actions);

    ctxBtn.addEventListener('click', () => toggleContext(art, hit, snippet, ctxBtn));
    simBtn.addEventListener('click', () => toggleSimilar(art, hit, simBtn));
    traceBtn.addEventListener('click', () => toggleTrace(art, hit, traceBtn));
    citeBtn.addEventListener('click', () => copyCitation(hit, citeBtn));
    return art;
  }

  // ---------------------------------------------------------------- context

  async function toggleContext(art, hit, snippet, btn) {
    let box = art.querySelector(':scope > .context');
    if (box && !box.hidden) {
      box.hidden = true;
      snippet.hidden = false;
      btn.textContent = 'Show context';
      btn.setAttribute('aria-expanded', 'false');
      return;
    }
    if (box && box.dataset.loaded === 'true') {
      box.hidden = false;
      snippet.hidden = true;
      btn.textContent = 'Hide context';
      btn.setAttribute('aria-expanded', 'true');
      return;
    }
    if (!box) {
      box = h('div', { class: 'context', id: `ctx-${art.getAttribute('aria-labelledby')}` });
      snippet.after(box);
      btn.setAttribute('aria-controls', box.id);
    }
    await loadContext(box, hit, snippet, btn, CONTEXT);
  }

  async function loadContext(box, hit, snippet, btn, context) {
    btn.disabled = true;
    box.setAttribute('aria-busy', 'true');
    box.hidden = false;
    if (!box.firstChild) box.append(h('p', { class: 'loading-note' }, 'Loading the paragraphs around it…'));
    try {
      const data = await getJson(`/api/units/${encodeURIComponent(hit.id)}?context=${context}`);
      const units = Array.isArray(data.units) ? data.units : [];
      clear(box);
      box.dataset.loaded = 'true';
      box.dataset.context = String(context);
      const first = units[0];
      if (first && first.paragraph > 1) {
        box.append(h('p', { class: 'context-edge' }, `… ${plural(first.paragraph - 1, 'paragraph', 'paragraphs')} before`));
      } else if (first) {
        box.append(h('p', { class: 'context-edge' }, 'Start of article'));
      }
      for (const u of units) {
        const isFocus = u.focus === true || u.id === hit.id;
        const unitNode = h('div', {
          class: 'context-unit' + (isFocus ? ' focus' : ''),
          'data-id': u.id,
          'aria-current': isFocus ? 'true' : null,
        });
        unitNode.append(h('span', { class: 'context-para' }, `¶ ${u.paragraph}`));
        const p = h('p', { class: 'context-text' });
        if (isFocus) appendHighlighted(p, u.text, highlightsInFullText(u.text, hit.snippet));
        else p.append(u.text || '');
        unitNode.append(p);
        box.append(unitNode);
      }
      const last = units[units.length - 1];
      const total = last && Number.isInteger(last.paragraphs_in_doc) ? last.paragraphs_in_doc : null;
      if (last && total && last.paragraph < total) {
        box.append(h('p', { class: 'context-edge' }, `… ${plural(total - last.paragraph, 'paragraph', 'paragraphs')} after`));
      } else if (last) {
        box.append(h('p', { class: 'context-edge' }, 'End of article'));
      }
      const whole = first && last && first.paragraph <= 1 && (!total || last.paragraph >= total);
      if (!whole) {
        const more = h('button', { type: 'button', class: 'context-more link-button' }, 'More context');
        more.addEventListener('click', async () => {
          await loadContext(box, hit, snippet, btn, context + MORE_CONTEXT);
          const again = box.querySelector('.context-more');
          (again || btn).focus();
        });
        box.append(more);
      }
      snippet.hidden = true;
      btn.textContent = 'Hide context';
      btn.setAttribute('aria-expanded', 'true');
    } catch (e) {
      clear(box);
      box.dataset.loaded = 'false';
      box.append(h('p', { class: 'inline-error', role: 'alert' }, `Could not load the context: ${e.message || e}`));
    } finally {
      btn.disabled = false;
      box.setAttribute('aria-busy', 'false');
    }
  }

  // ---------------------------------------------------------------- similar

  /** A box under a hit, filled from the API on first opening and then
   * shown and hidden in place by its button. */
  async function toggleBox(art, btn, o) {
    let box = art.querySelector(`:scope > .${o.cls}`);
    if (box && !box.hidden) {
      box.hidden = true;
      btn.setAttribute('aria-expanded', 'false');
      btn.textContent = o.show;
      return;
    }
    if (box && box.dataset.loaded === 'true') {
      box.hidden = false;
      btn.setAttribute('aria-expanded', 'true');
      btn.textContent = o.hide;
      return;
    }
    if (!box) {
      box = h('div', { class: o.cls, id: `${o.cls}-${art.getAttribute('aria-labelledby')}` });
      art.append(box);
      btn.setAttribute('aria-controls', box.id);
    }
    clear(box);
    box.hidden = false;
    box.append(h('p', { class: 'loading-note' }, o.loading));
    btn.disabled = true;
    try {
      const data = await getJson(o.url);
      clear(box);
      box.dataset.loaded = 'true';
      o.fill(box, data);
      btn.setAttribute('aria-expanded', 'true');
      btn.textContent = o.hide;
    } catch (e) {
      clear(box);
      box.append(h('p', { class: 'inline-error', role: 'alert' }, `${o.failed}: ${e.message || e}`));
    } finally {
      btn.disabled = false;
    }
  }

  function toggleSimilar(art, hit, btn) {
    return toggleBox(art, btn, {
      cls: 'similar',
      show: 'Similar paragraphs',
      hide: 'Hide similar',
      loading: 'Looking for paragraphs elsewhere that say much the same…',
      failed: 'Could not find similar paragraphs',
      url: `/api/similar/${encodeURIComponent(hit.id)}?limit=${SIMILAR_LIMIT}`,
      fill(box, data) {
        const hits = Array.isArray(data.hits) ? data.hits : [];
        const total = Number.isFinite(data.total_hits) ? data.total_hits : hits.length;
        const head = h('p', { class: 'similar-head' });
        if (hits.length === 0) {
          head.append('No paragraph in another article says much the same.');
        } else {
          head.append(h('strong', null, plural(total, 'paragraph', 'paragraphs')), ' elsewhere say much the same');
          if (total > hits.length) head.append(` (showing ${hits.length})`);
        }
        if (Array.isArray(data.words) && data.words.length) {
          head.append(h('span', { class: 'similar-words' }, ' · its telling words: ' + data.words.slice(0, 8).join(', ')));
        }
        box.append(head);
        if (hits.length) {
          const ol = h('ol', { class: 'similar-list' });
          for (const sh of hits) {
            const li = h('li', { class: 'similar-hit', 'data-id': sh.id });
            li.append(metaLine(sh, 'meta-small'), titleNode(sh, 'h4', null));
            const words = Array.isArray(data.words) ? data.words.length : 0;
            if (Number.isInteger(sh.shared_words) && words > 0) {
              li.append(h('p', { class: 'partial-note' }, `Shares ${sh.shared_words} of the ${words} words`));
            }
            const p = h('p', { class: 'snippet' });
            if (sh.snippet && typeof sh.snippet.text === 'string') appendHighlighted(p, sh.snippet.text, sh.snippet.highlights);
            else p.append(sh.text || '');
            li.append(p);
            ol.append(li);
          }
          box.append(ol);
        }
      },
    });
  }

  /** A date as precise as it is: "2019-10 (month only)". */
  function honestDate(copy) {
    if (!copy.published) return 'undated';
    if (copy.date_precision === 'month') return `${copy.published} (month only)`;
    if (copy.date_precision === 'year') return `${copy.published} (year only)`;
    return copy.published;
  }

  /** Every copy of a hit's paragraph in order of publication, the first
   * marked, each near copy's changes against it marked as removed and
   * added words. */
  function toggleTrace(art, hit, btn) {
    return toggleBox(art, btn, {
      cls: 'trace',
      show: 'Trace',
      hide: 'Hide trace',
      loading: 'Looking for every copy of this paragraph…',
      failed: 'Could not trace this paragraph',
      url: `/api/trace/${encodeURIComponent(hit.id)}`,
      fill(box, data) {
        box.append(h('p', { class: 'trace-head' }, h('strong', null, String(data.summary || ''))));
        const ol = h('ol', { class: 'trace-list' });
        for (const c of Array.isArray(data.copies) ? data.copies : []) {
          const li = h('li', { class: 'trace-copy' + (c.first ? ' first' : ''), 'data-id': c.id });
          const marks = [];
          if (c.first) marks.push('first known');
          if (c.may_be_earlier) marks.push('may be earlier');
          if (c.source) marks.push('this paragraph');
          marks.push(c.verbatim ? 'verbatim' : `near copy, ${Math.round((c.similarity || 0) * 100)}% shared`);
          li.append(h('p', { class: 'trace-when' },
            h('time', null, honestDate(c)), ' · ', c.outlet || '', ' · ',
            h('span', { class: 'stance', 'data-stance': c.stance, 'data-tone': stanceTone(c.stance) }, c.stance || ''),
            h('span', { class: 'trace-marks' }, ` · ${marks.join(' · ')}`)));
          const url = safeUrl(c.url);
          li.append(url
            ? h('a', { href: url, target: '_blank', rel: 'noopener noreferrer', class: 'trace-link' }, c.title || c.id,
              h('span', { class: 'visually-hidden' }, ' (opens in a new tab)'))
            : h('span', { class: 'trace-link' }, c.title || c.id));
          if (Array.isArray(c.changes) && c.changes.length) {
            const changed = h('p', { class: 'trace-changes' }, h('span', { class: 'visually-hidden' }, 'Changed against the first: '));
            for (const ch of c.changes) {
              changed.append(h(ch.change === 'removed' ? 'del' : 'ins', null, String(ch.words || '')), ' ');
            }
            li.append(changed);
          }
          ol.append(li);
        }
        box.append(ol);
      },
    });
  }


  // ---------------------------------------------------------------- citation

  async function copyCitation(unit, btn) {
    const text = citation(unit);
    let ok = false;
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        ok = true;
      }
    } catch (_) {
      ok = false;
    }
    if (!ok) {
      const ta = h('textarea', { class: 'offscreen', readonly: true, 'aria-hidden': 'true' });
      ta.value = text;
      document.body.append(ta);
      ta.select();
      try {
        ok = document.execCommand('copy');
      } catch (_) {
        ok = false;
      }
      ta.remove();
    }
    const art = btn.closest('.hit');
    let shown = art && art.querySelector(':scope > .citation');
    if (!ok && art) {
      // Could not copy: show the citation selected, ready for Ctrl+C.
      if (!shown) {
        shown = h('textarea', { class: 'citation', readonly: true, rows: '3', 'aria-label': 'Citation' });
        art.append(shown);
      }
      shown.value = text;
      shown.focus();
      shown.select();
      ui.live.textContent = 'Citation selected: press Ctrl+C to copy it.';
      return;
    }
    btn.textContent = 'Copied ✓';
    ui.live.textContent = 'Citation copied.';
    window.setTimeout(() => {
      btn.textContent = 'Copy citation';
    }, 1800);
  }

  // ---------------------------------------------------------------- pager

  function renderPager(total, offset) {
    if (total <= 0) {
      ui.pager.hidden = true;
      return;
    }
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    const reachable = Math.floor(MAX_OFFSET / PAGE_SIZE) + 1;
    const last = Math.min(pages, reachable);
    const page = Math.min(last, Math.floor(offset / PAGE_SIZE) + 1);
    ui.pager.hidden = false;
    ui.prev.disabled = offset <= 0;
    ui.next.disabled = offset + PAGE_SIZE >= total || offset + PAGE_SIZE > MAX_OFFSET;
    let info = `Page ${page.toLocaleString('en')} of ${last.toLocaleString('en')}`;
    if (pages > reachable) {
      const shown = (Math.floor(MAX_OFFSET / PAGE_SIZE) * PAGE_SIZE + PAGE_SIZE).toLocaleString('en');
      info += ` (pages stop at result ${shown}: add words or filters to reach the rest)`;
    }
    ui.pageInfo.textContent = info;
  }

  function goPage(delta) {
    const next = copyState(state);
    next.offset = Math.min(MAX_OFFSET, Math.max(0, state.offset + delta * PAGE_SIZE));
    navigate(next, { paged: true });
  }

  // ---------------------------------------------------------------- facets

  function facetEntries(counts) {
    if (!counts || typeof counts !== 'object') return [];
    return Object.entries(counts).filter(([, c]) => typeof c === 'number');
  }

  function renderFacets(facets, s) {
    const anyFacet = FACET_FIELDS.some((f) => facetEntries(facets[f]).length || s[f].length);
    ui.facets.hidden = !anyFacet;
    for (const field of FACET_FIELDS) {
      const fs = ui.facets.querySelector(`fieldset[data-facet="${field}"]`);
      if (!fs) continue;
      const list = fs.querySelector('.facet-list');
      const ticked = new Set(s[field]);
      const entries = facetEntries(facets[field]);
      const seen = new Set(entries.map(([v]) => v));
      for (const v of ticked) if (!seen.has(v)) entries.push([v, 0]);
      entries.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));

      const hideKind = field === 'kind' && entries.length <= 1 && ticked.size === 0;
      fs.hidden = entries.length === 0 || hideKind;
      clear(list);
      const oldMore = fs.querySelector('.facet-more');
      if (oldMore) oldMore.remove();
      const oldLeftOut = fs.querySelector('.facet-left-out');
      if (oldLeftOut) oldLeftOut.remove();
      if (fs.hidden) continue;

      const expanded = expandedFacets.has(field);
      let hiddenCount = 0;
      entries.forEach(([value, count], i) => {
        const isTicked = ticked.has(value);
        if (!expanded && i >= FACET_VISIBLE && !isTicked) {
          hiddenCount++;
          return;
        }
        const box = h('input', { type: 'checkbox', name: field, value });
        box.checked = isTicked;
        const label = h('label', { class: 'facet-item' + (count === 0 ? ' zero' : '') },
          box,
          h('span', {
            class: 'facet-value',
            'data-stance': field === 'stance' ? value : null,
            'data-tone': field === 'stance' ? stanceTone(value) : null,
          }, value),
          h('span', { class: 'facet-count' }, count.toLocaleString('en')));
        list.append(h('li', null, label));
      });
      if (hiddenCount > 0 || (expanded && entries.length > FACET_VISIBLE)) {
        const more = h('button', {
          type: 'button', class: 'facet-more link-button', 'data-field': field, 'aria-expanded': expanded ? 'true' : 'false',
        }, expanded ? 'Show fewer' : `Show all ${entries.length}`);
        fs.append(more);
      }
      const leftOut = Number(lastLeftOut[field]) || 0;
      if (leftOut > 0 && (expanded || hiddenCount === 0)) {
        fs.append(h('p', { class: 'facet-left-out' },
          `${leftOut.toLocaleString('en')} more not listed: narrow the search to see them`));
      }
    }
  }

  ui.facets.addEventListener('change', (ev) => {
    const box = ev.target;
    if (!(box instanceof HTMLInputElement) || box.type !== 'checkbox') return;
    const field = box.closest('fieldset').dataset.facet;
    if (!FACET_FIELDS.includes(field)) return;
    const next = copyState(state);
    const values = next[field].filter((v) => v !== box.value);
    if (box.checked) values.push(box.value);
    next[field] = values;
    next.offset = 0;
    navigate(next);
  });

  ui.facets.addEventListener('click', (ev) => {
    const btn = ev.target instanceof Element ? ev.target.closest('.facet-more') : null;
    if (!btn) return;
    const field = btn.dataset.field;
    if (expandedFacets.has(field)) expandedFacets.delete(field);
    else expandedFacets.add(field);
    renderFacets(lastFacets || {}, state);
    const again = ui.facets.querySelector(`.facet-more[data-field="${field}"]`);
    if (again) again.focus();
  });

  ui.clearFilters.addEventListener('click', () => {
    const next = emptyState();
    next.q = state.q;
    next.unfold = state.unfold;
    navigate(next, { focusAfter: ui.q });
  });

  // ---------------------------------------------------------------- timeline

  // Coverage over time: the histogram each search brings, drawn as bars
  // stacked by the split (stance), built node by node like the rest of the
  // page. Dragging across bars (or the two date fields) sets the since and
  // until filters, which go into the address like any other filter.
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const CHART_W = 600;
  const CHART_H = 100;
  let chartShare = false; // bars as counts, or as shares of all paragraphs
  let chartBuckets = []; // the buckets drawn, for drag selection
  let chartInterval = 'month';
  let chartCsvUrl = null;

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== null && v !== undefined) node.setAttribute(k, String(v));
    }
    for (const c of children) node.append(typeof c === 'string' ? document.createTextNode(c) : c);
    return node;
  }

  /** The last day a bucket covers, as `until` reads it: a month or a year
   * names itself; a week ends six days after its Monday. */
  function bucketEnd(interval, start) {
    if (interval !== 'week') return start;
    const d = new Date(`${start}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + 6);
    return d.toISOString().slice(0, 10);
  }

  function percent(share) {
    return `${(share * 100).toFixed(share < 0.01 ? 2 : 1)}%`;
  }

  /** One line per bucket: start, count, each split value, and with shares
   * the bucket's paragraphs in all and the share. */
  function timelineCsv(hist, by) {
    const quote = (v) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
    const head = ['start', 'count', ...hist.values.map((v) => `${hist.split}: ${v}`)];
    if (hist.normalized) head.push('all', 'share');
    const lines = [head.map(quote).join(',')];
    for (const b of hist.buckets) {
      const row = [b.start, String(b.count), ...hist.values.map((v) => String((b[by] || {})[v] || 0))];
      if (hist.normalized) row.push(String(b.all), String(b.share));
      lines.push(row.map(quote).join(','));
    }
    lines.push(`imprecise,${hist.imprecise}`, `undated,${hist.undated}`);
    return lines.join('\r\n') + '\r\n';
  }

  function renderTimeline(s, hist) {
    clear(ui.chart);
    const buckets = hist && Array.isArray(hist.buckets) ? hist.buckets : [];
    ui.sinceInput.value = s.since;
    ui.untilInput.value = s.until;
    ui.clearDates.hidden = !(s.since || s.until);
    ui.timeline.hidden = buckets.length === 0 && !(s.since || s.until);
    chartBuckets = buckets;
    chartInterval = hist ? hist.interval : 'month';
    ui.chartShare.setAttribute('aria-pressed', chartShare ? 'true' : 'false');
    if (buckets.length === 0) {
      clear(ui.chartLegend);
      ui.chartFirst.textContent = '';
      ui.chartLast.textContent = '';
      ui.chartNote.hidden = true;
      ui.chartCsv.hidden = true;
      return;
    }
    const by = `by_${hist.split}`;
    const values = Array.isArray(hist.values) ? hist.values : [];
    const tone = (v) => (hist.split === 'stance' ? stanceTone(v) : String(values.indexOf(v) % STANCE_TONES));
    const shares = chartShare && hist.normalized;
    const height = (b) => (shares ? b.share || 0 : b.count);
    const top = Math.max(...buckets.map(height)) || 1;
    const w = CHART_W / buckets.length;
    const gap = w > 4 ? 1 : 0;
    const summary = buckets.filter((b) => b.count > 0).length;
    const root = svg('svg', {
      viewBox: `0 0 ${CHART_W} ${CHART_H}`, preserveAspectRatio: 'none', role: 'img',
      'aria-label': `Matches by ${chartInterval}: ${buckets.length} bars from ${buckets[0].start} to ${buckets[buckets.length - 1].start}, ${summary} with matches`,
    });
    buckets.forEach((b, i) => {
      const parts = values.map((v) => [v, (b[by] || {})[v] || 0]).filter(([, n]) => n > 0);
      const said = parts.map(([v, n]) => `${v} ${n.toLocaleString('en')}`).join(', ');
      const label = `${b.start}: ${b.count.toLocaleString('en')}${shares ? ` (${percent(b.share || 0)} of ${(b.all || 0).toLocaleString('en')})` : ''}${said ? ` · ${said}` : ''}`;
      const g = svg('g', { class: 'bucket', 'data-start': b.start, 'data-count': b.count },
        svg('title', null, label),
        svg('rect', { class: 'bucket-hit', x: i * w, y: 0, width: w, height: CHART_H }));
      // Stacked from the bottom, the split's values in the legend's order.
      const total = height(b) / top * CHART_H;
      let y = CHART_H;
      for (const [v, n] of parts) {
        const piece = b.count > 0 ? total * n / b.count : 0;
        y -= piece;
        g.append(svg('rect', {
          class: 'bar', 'data-value': v, 'data-tone': tone(v),
          x: i * w + gap / 2, y, width: Math.max(w - gap, 0.5), height: piece,
        }));
      }
      root.append(g);
    });
    const selection = svg('rect', { class: 'selection', x: 0, y: 0, width: 0, height: CHART_H, visibility: 'hidden' });
    root.append(selection);
    ui.chart.append(root);
    ui.chartFirst.textContent = buckets[0].start;
    ui.chartLast.textContent = buckets[buckets.length - 1].start;

    clear(ui.chartLegend);
    for (const v of values) {
      ui.chartLegend.append(h('span', { class: 'facet-value', 'data-stance': v, 'data-tone': tone(v) }, v));
    }
    const notes = [];
    if (hist.imprecise > 0) notes.push(`${hist.imprecise.toLocaleString('en')} dated more coarsely than a ${chartInterval}`);
    if (hist.undated > 0) notes.push(`${hist.undated.toLocaleString('en')} undated`);
    ui.chartNote.textContent = notes.length ? `Not in a bar: ${notes.join(', ')}.` : '';
    ui.chartNote.hidden = notes.length === 0;

    if (chartCsvUrl) URL.revokeObjectURL(chartCsvUrl);
    chartCsvUrl = URL.createObjectURL(new Blob([timelineCsv(hist, by)], { type: 'text/csv' }));
    ui.chartCsv.href = chartCsvUrl;
    ui.chartCsv.hidden = false;
  }

  /** The bucket under a pointer, by its x over the chart's width. */
  function bucketAt(ev) {
    const box = ui.chart.getBoundingClientRect();
    const i = Math.floor((ev.clientX - box.left) / box.width * chartBuckets.length);
    return Math.min(Math.max(i, 0), chartBuckets.length - 1);
  }

  let dragFrom = null;

  function showSelection(a, b) {
    const rect = ui.chart.querySelector('.selection');
    if (!rect) return;
    const w = CHART_W / chartBuckets.length;
    rect.setAttribute('x', String(Math.min(a, b) * w));
    rect.setAttribute('width', String((Math.abs(b - a) + 1) * w));
    rect.setAttribute('visibility', 'visible');
  }

  ui.chart.addEventListener('pointerdown', (ev) => {
    if (chartBuckets.length === 0 || ev.button !== 0) return;
    dragFrom = bucketAt(ev);
    ui.chart.setPointerCapture(ev.pointerId);
    showSelection(dragFrom, dragFrom);
  });
  ui.chart.addEventListener('pointermove', (ev) => {
    if (dragFrom !== null) showSelection(dragFrom, bucketAt(ev));
  });
  ui.chart.addEventListener('pointerup', (ev) => {
    if (dragFrom === null) return;
    const to = bucketAt(ev);
    const [a, b] = [Math.min(dragFrom, to), Math.max(dragFrom, to)];
    dragFrom = null;
    const next = copyState(state);
    next.since = chartBuckets[a].start;
    next.until = bucketEnd(chartInterval, chartBuckets[b].start);
    next.offset = 0;
    navigate(next);
  });
  ui.chart.addEventListener('pointercancel', () => {
    dragFrom = null;
  });

  ui.dateRange.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!ui.dateRange.reportValidity()) return;
    const next = copyState(state);
    next.since = ui.sinceInput.value.trim();
    next.until = ui.untilInput.value.trim();
    next.offset = 0;
    navigate(next);
  });

  ui.clearDates.addEventListener('click', () => {
    const next = copyState(state);
    next.since = '';
    next.until = '';
    next.offset = 0;
    navigate(next, { focusAfter: ui.sinceInput });
  });

  ui.foldCopies.addEventListener('change', () => {
    const next = copyState(state);
    next.unfold = !ui.foldCopies.checked;
    next.offset = 0;
    navigate(next);
  });

  ui.chartShare.addEventListener('click', () => {
    chartShare = !chartShare;
    runSearch(state);
  });

  // ---------------------------------------------------------------- focus

  /** Facet lists are rebuilt on every answer: keep keyboard focus on the
   * same checkbox (by field and value) across the rebuild. */
  function rememberFocus() {
    const a = document.activeElement;
    if (a instanceof HTMLInputElement && a.type === 'checkbox' && ui.facets.contains(a)) {
      return { field: a.name, value: a.value };
    }
    return null;
  }

  function restoreFocus(f, opts) {
    if (f) {
      for (const box of ui.facets.querySelectorAll('input[type="checkbox"]')) {
        if (box.name === f.field && box.value === f.value) {
          box.focus();
          return;
        }
      }
    }
    if (opts.paged) {
      const btn = document.activeElement;
      if (btn === ui.prev && ui.prev.disabled) ui.next.focus();
      else if (btn === ui.next && ui.next.disabled) ui.prev.focus();
      else if (!(btn === ui.prev || btn === ui.next)) ui.resultsArea.focus();
      ui.resultsArea.scrollIntoView({ block: 'start' });
      return;
    }
    if (opts.focusAfter && document.activeElement === document.body) opts.focusAfter.focus();
    else if (opts.focusAfter && opts.focusAfter === ui.resultsArea) ui.resultsArea.focus();
  }

  // ---------------------------------------------------------------- wiring

  ui.form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const next = copyState(state);
    next.q = ui.q.value.trim();
    next.offset = 0;
    navigate(next);
  });

  ui.prev.addEventListener('click', () => goPage(-1));
  ui.next.addEventListener('click', () => goPage(1));

  window.addEventListener('popstate', () => {
    state = stateFromLocation();
    ui.q.value = state.q;
    runSearch(state);
  });

  document.addEventListener('keydown', (ev) => {
    // "/" jumps to the search box, as on many search sites.
    if (ev.key === '/' && !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
      const t = ev.target;
      const typing = t instanceof HTMLElement && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
      if (!typing) {
        ev.preventDefault();
        ui.q.focus();
        ui.q.select();
      }
    }
  });

  state = stateFromLocation();
  ui.q.value = state.q;
  runSearch(state);
})();
