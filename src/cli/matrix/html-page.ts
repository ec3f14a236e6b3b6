/**
 * The static parts of the `netfence matrix -o html` page: its style sheet and its one script.
 * html.ts embeds both with the report's data; nothing here depends on a report.
 *
 * The script (plain JavaScript, run by the browser, never by netfence) reads the JSON data
 * block `netfence-data` written by html.ts and draws into `tenants-view` and `namespaces-view`:
 * - a view is a list of row entries and a list of column entries of one matrix. Up to PLAIN
 *   of each it is one table (ports inside the cells up to 16 of each); above, the table is
 *   virtual: a scroll box the size of the whole matrix that holds only the rows and columns
 *   in sight (with their headers), redrawn as it scrolls, so the DOM stays at about a
 *   thousand cells whatever the size. Then the view's cells that cross a fence, most severe
 *   first, folded away past OPEN of them: the first LIST, and a button for the rest;
 * - the tenant view is the whole tenant matrix, drawn at load;
 * - the namespace view is the whole namespace matrix, drawn at load only when it has at most
 *   AT_LOAD entries; otherwise it waits to be asked: a click on a tenant-matrix cell draws the
 *   namespaces of its row entry against those of its column entry, a click on a row (column)
 *   name those of that entry against every namespace, a button all of them;
 * - the choice lives in the URL fragment, so it can be linked and bookmarked: `from=ID`,
 *   `to=ID` (tenant-matrix entry ids, e.g. `#from=tenant:payments&to=tenant:search`), or
 *   `namespaces=all`.
 * It fetches nothing and needs nothing outside the page; every text it inserts is escaped.
 * CELL and LABEL (px) are the sizes PAGE_CSS gives a virtual table's cells and name column;
 * HEAD is its header's height until the first draw measures it.
 * The script holds no backtick and no dollar-brace, so it lives in a template literal as is.
 */

export const PAGE_CSS = `
:root { --violation: #e53935; --audit: #ffca28; --declared: #a5d6a7; --same: #d9d9d9; --unfenced: #ececec; --none: #ffffff; --line: #c8c8c8; --ink: #1f2328; --muted: #59636e; }
* { box-sizing: border-box; }
body { margin: 0; padding: 20px 28px 40px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); background: #f6f8fa; }
h1 { font-size: 22px; margin: 0; }
h2 { font-size: 18px; margin: 28px 0 4px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.subtitle { margin: 2px 0 12px; color: var(--muted); }
.summary { display: inline-block; margin: 0 0 12px; padding: 8px 14px; border-radius: 6px; font-weight: 600; }
.summary.bad { background: #b71c1c; color: #fff; }
.summary.good { background: #2e7d32; color: #fff; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 18px; align-items: center; margin: 0 0 8px; padding: 8px 12px; background: #fff; border: 1px solid var(--line); border-radius: 6px; }
.legend span.item { display: inline-flex; align-items: center; gap: 6px; white-space: nowrap; }
.sw { display: inline-block; min-width: 22px; height: 22px; line-height: 20px; text-align: center; border: 1px solid var(--line); border-radius: 3px; font-weight: 700; }
.hint { margin: 0 0 8px; color: var(--muted); }
.scroll { overflow: auto; max-height: 80vh; max-width: 100%; display: inline-block; background: #fff; border: 1px solid var(--line); border-radius: 6px; }
table.matrix { border-collapse: separate; border-spacing: 0; }
table.matrix th, table.matrix td { border-right: 1px solid var(--line); border-bottom: 1px solid var(--line); }
table.matrix thead { position: sticky; top: 0; z-index: 3; }
table.matrix thead th { background: #f0f3f6; font-weight: 600; }
table.matrix th.corner { position: sticky; left: 0; z-index: 4; text-align: left; vertical-align: bottom; padding: 6px 10px; color: var(--muted); font-weight: 400; }
table.matrix tr.groups th { text-align: left; font-size: 12px; padding: 3px 6px; color: var(--muted); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-width: 4em; }
table.matrix th.col { vertical-align: bottom; padding: 6px 2px; }
table.matrix th.col span { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap; display: inline-block; max-height: 12em; overflow: hidden; text-overflow: ellipsis; }
table.matrix th.row { position: sticky; left: 0; z-index: 2; background: #fff; text-align: left; font-weight: 600; padding: 4px 10px; white-space: nowrap; max-width: 22em; overflow: hidden; text-overflow: ellipsis; }
table.matrix th.row small { display: block; font-weight: 400; color: var(--muted); font-size: 11px; }
table.matrix.compact th.row { max-width: 16em; padding: 2px 10px; }
table.matrix.compact th.row small { display: none; }
table.matrix td { text-align: center; vertical-align: middle; min-width: 30px; height: 30px; padding: 2px 4px; font-size: 15px; }
table.matrix.detailed td { min-width: 5em; height: 42px; }
table.matrix td small { display: block; font-size: 11px; line-height: 1.2; max-width: 9em; margin: 0 auto; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
table.matrix .gs { border-left: 2px solid #7a8793; }
table.matrix tr.gs > * { border-top: 2px solid #7a8793; }
td.violation, .sw.violation { background: var(--violation); color: #fff; font-weight: 700; }
td.audit, .sw.audit { background: var(--audit); color: #3d2c00; font-weight: 700; }
td.declared, .sw.declared { background: var(--declared); color: #0f3d14; }
td.same, .sw.same { background: var(--same); color: #333; }
td.unfenced, .sw.unfenced { background: repeating-linear-gradient(135deg, #f4f4f4 0 4px, #e1e1e1 4px 8px); color: #333; }
td.none, .sw.none { background: var(--none); color: #b5b5b5; }
td.diag { box-shadow: inset 0 0 0 1px #9aa4ae; }
table.list { border-collapse: collapse; background: #fff; border: 1px solid var(--line); }
table.list th, table.list td { text-align: left; padding: 4px 10px; border-bottom: 1px solid var(--line); }
table.list th { background: #f0f3f6; }
table.list tr.violation td:first-child { border-left: 6px solid var(--violation); }
table.list tr.audit td:first-child { border-left: 6px solid var(--audit); }
table.list tr.declared td:first-child { border-left: 6px solid var(--declared); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
.badge.violation { background: var(--violation); color: #fff; }
.badge.audit { background: var(--audit); color: #3d2c00; }
.badge.declared { background: var(--declared); color: #0f3d14; }
.notes li { margin: 2px 0; }
footer { margin-top: 28px; color: var(--muted); font-size: 12px; }
.scroll.virtual { display: block; width: max-content; max-width: 100%; }
.scroll.virtual > .extent { position: relative; }
.scroll.virtual > .extent > .window { position: sticky; top: 0; left: 0; width: max-content; }
table.matrix.virtual { table-layout: fixed; }
table.matrix.virtual col.label { width: 220px; }
table.matrix.virtual col.cell { width: 30px; }
table.matrix.virtual th.col { height: 9em; }
table.matrix.virtual th.row, table.matrix.virtual td { height: 30px; padding-top: 0; padding-bottom: 0; white-space: nowrap; overflow: hidden; }
table.matrix.virtual td { min-width: 0; padding: 0; }
details.crossings > summary { font-size: 15px; font-weight: 600; margin: 18px 0 6px; cursor: pointer; }
#tenants-view table.matrix td, #tenants-view table.matrix th.row, #tenants-view table.matrix th.col { cursor: pointer; }
#tenants-view table.matrix td:hover, #tenants-view table.matrix th.row:hover, #tenants-view table.matrix th.col:hover { outline: 2px solid #1f6feb; outline-offset: -2px; }
p.block { margin: 0 0 8px; }
button { font: inherit; font-size: 13px; padding: 2px 10px; margin-left: 8px; cursor: pointer; }
`;

export const PAGE_SCRIPT = `(() => {
  'use strict';
  const PLAIN = 40;
  const DETAILED = 16;
  const AT_LOAD = 150;
  const LIST = 300;
  const OPEN = 20;
  const CELL = 30;
  const LABEL = 220;
  const HEAD = 150;
  const model = JSON.parse(document.getElementById('netfence-data').textContent);
  const kinds = model.kinds;
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => '&#' + c.charCodeAt(0) + ';');
  const range = (n) => Array.from({ length: n }, (_, i) => i);

  function matrixOf(m) {
    const decoded = new Map();
    const row = (i) => {
      let cells = decoded.get(m.rowOf[i]);
      if (cells === undefined) {
        cells = new Uint32Array(m.entries.length);
        const runs = m.rows[m.rowOf[i]];
        for (let k = 0, at = 0; k < runs.length; k += 2) {
          cells.fill(runs[k], at, at + runs[k + 1]);
          at += runs[k + 1];
        }
        decoded.set(m.rowOf[i], cells);
      }
      return cells;
    };
    return { n: m.entries.length, entries: m.entries, groups: m.groups, row };
  }
  const tenants = matrixOf(model.tenants);
  const namespaces = matrixOf(model.namespaces);
  const tenantIndex = new Map(model.tenants.ids.map((id, i) => [id, i]));

  function groupStarts(mx, list) {
    const starts = new Set();
    list.forEach((e, k) => {
      if (k > 0 && mx.entries[e][1] !== mx.entries[list[k - 1]][1]) starts.add(k);
    });
    return starts;
  }

  const entryTitle = (e) => e[0] + ': ' + e[2];

  function tableHtml(mx, rows, cols, virtual) {
    const detailed = !virtual && rows.length <= DETAILED && cols.length <= DETAILED;
    const rowStarts = groupStarts(mx, rows);
    const colStarts = groupStarts(mx, cols);
    const out = ['<table class="matrix ' + (detailed ? 'detailed' : 'compact') + (virtual ? ' virtual' : '') + '">'];
    if (virtual) out.push('<colgroup><col class="label">' + '<col class="cell">'.repeat(cols.length) + '</colgroup>');
    out.push('<thead><tr class="groups"><th class="corner" rowspan="2">from \u2193 to \u2192</th>');
    for (let k = 0; k < cols.length; ) {
      let size = 1;
      while (k + size < cols.length && !colStarts.has(k + size)) size++;
      const label = esc(mx.groups[mx.entries[cols[k]][1]]);
      out.push('<th colspan="' + size + '"' + (k > 0 ? ' class="gs"' : '') + ' title="' + label + '">' + label + '</th>');
      k += size;
    }
    out.push('</tr><tr>');
    cols.forEach((j, k) => {
      const e = mx.entries[j];
      out.push('<th class="col' + (colStarts.has(k) ? ' gs' : '') + '" scope="col" title="' + esc(entryTitle(e)) + '"><span>' + esc(e[0]) + '</span></th>');
    });
    out.push('</tr></thead><tbody>');
    rows.forEach((i, r) => {
      const from = mx.entries[i];
      const cells = mx.row(i);
      out.push('<tr' + (rowStarts.has(r) ? ' class="gs"' : '') + '><th class="row" scope="row" title="' + esc(entryTitle(from)) + '">' + esc(from[0]) + '<small>' + esc(from[3]) + '</small></th>');
      const head = ' title="' + esc('from ' + from[0] + ' to ');
      cols.forEach((j, k) => {
        const kind = kinds[cells[j]];
        const cls = kind.cls + (i === j ? ' diag' : '') + (colStarts.has(k) ? ' gs' : '');
        const ports = detailed && kind.cls !== 'none' && kind.ports !== '' ? '<small>' + esc(kind.ports) + '</small>' : '';
        out.push('<td class="' + cls + '"' + head + esc(mx.entries[j][0] + ': ' + kind.text) + '">' + esc(kind.symbol) + ports + '</td>');
      });
      out.push('</tr>');
    });
    out.push('</tbody></table>');
    return out.join('');
  }

  function crossingsHtml(v) {
    const ranked = [[], [], []];
    for (const i of v.rows) {
      const cells = v.mx.row(i);
      for (const j of v.cols) {
        const rank = kinds[cells[j]].cross;
        if (rank >= 0) ranked[rank].push([i, j, cells[j]]);
      }
    }
    const list = ranked.flat();
    const out = ['<details class="crossings"' + (list.length <= OPEN ? ' open' : '') + '><summary>Crossing a fence (' + list.length + ')</summary>'];
    if (list.length === 0) return out.concat('<p class="hint">No cell crosses a fence.</p></details>').join('');
    out.push('<table class="list"><thead><tr><th>fence</th><th>from</th><th>to</th><th>reach</th><th>ports</th></tr></thead><tbody>');
    for (const [i, j, k] of v.all ? list : list.slice(0, LIST)) {
      const kind = kinds[k];
      out.push('<tr class="' + kind.cls + '"><td><span class="badge ' + kind.cls + '" title="' + esc(kind.fence) + '">' + kind.cls + '</span></td><td>' + esc(v.mx.entries[i][0]) + '</td><td>' + esc(v.mx.entries[j][0]) + '</td><td>' + esc(kind.reach) + '</td><td>' + esc(kind.ports) + '</td></tr>');
    }
    out.push('</tbody></table>');
    if (!v.all && list.length > LIST) out.push('<p class="hint">The first ' + LIST + ' of ' + list.length + '.<button type="button" class="more">Show all</button></p>');
    out.push('</details>');
    return out.join('');
  }

  /** The first row (column) in sight: the scroll range maps onto the rows that can come first. */
  const first = (scrolled, range, last) => (range <= 0 || last <= 0 ? 0 : Math.min(last, Math.round((scrolled / range) * last)));

  /**
   * A virtual table in the scroll box: the extent has the size the whole table would have,
   * the sticky window holds the rows and columns in sight, one cell per step of scrolling.
   */
  function mountVirtual(box, v, state) {
    box.classList.add('virtual');
    box.innerHTML = '<div class="extent"><div class="window"></div></div>';
    const extent = box.firstChild;
    const win = extent.firstChild;
    extent.style.width = LABEL + v.cols.length * CELL + 'px';
    extent.style.height = HEAD + v.rows.length * CELL + 'px';
    let drawn = '';
    const draw = () => {
      const nr = Math.ceil(box.clientHeight / CELL);
      const nc = Math.ceil((box.clientWidth - LABEL) / CELL) + 1;
      const r0 = first(box.scrollTop, box.scrollHeight - box.clientHeight, v.rows.length - Math.floor((box.clientHeight - HEAD) / CELL));
      const c0 = first(box.scrollLeft, box.scrollWidth - box.clientWidth, v.cols.length - Math.floor((box.clientWidth - LABEL) / CELL));
      const key = [r0, c0, nr, nc].join();
      if (key === drawn) return;
      drawn = key;
      state.shown = { rows: v.rows.slice(r0, r0 + nr), cols: v.cols.slice(c0, c0 + nc) };
      win.innerHTML = tableHtml(v.mx, state.shown.rows, state.shown.cols, true);
      win.firstChild.style.width = LABEL + state.shown.cols.length * CELL + 'px';
      extent.style.height = win.firstChild.tHead.offsetHeight + v.rows.length * CELL + 'px';
    };
    let queued = false;
    box.addEventListener('scroll', () => {
      if (queued) return;
      queued = true;
      requestAnimationFrame(() => {
        queued = false;
        draw();
      });
    });
    draw();
  }

  function hashState() {
    const p = new URLSearchParams(location.hash.slice(1));
    return { from: p.get('from'), to: p.get('to'), namespaces: p.get('namespaces') };
  }

  function setHash(change) {
    const s = Object.assign(hashState(), change);
    const p = new URLSearchParams();
    for (const key of ['from', 'to', 'namespaces']) if (s[key] !== null) p.set(key, s[key]);
    location.hash = p.toString();
  }

  function tenantView() {
    const all = range(tenants.n);
    return { mx: tenants, rows: all, cols: all, intro: '' };
  }

  const clear = '<button type="button" class="clear">All namespaces</button>';

  function namespaceView(s) {
    const side = (id) => {
      if (id === null) return { rows: range(namespaces.n), label: 'every namespace' };
      const t = tenantIndex.get(id);
      return t === undefined ? null : { rows: model.members[t], label: tenants.entries[t][0] };
    };
    if (s.from !== null || s.to !== null) {
      const from = side(s.from);
      const to = side(s.to);
      if (from === null || to === null) {
        const missing = from === null ? s.from : s.to;
        return { mx: namespaces, rows: [], cols: [], intro: '<p class="block">No entry ' + esc(JSON.stringify(missing)) + ' in the tenant matrix.' + clear + '</p>' };
      }
      const intro = '<p class="block">From <b>' + esc(from.label) + '</b> (' + from.rows.length + ') to <b>' + esc(to.label) + '</b> (' + to.rows.length + ')' + clear + '</p>';
      return { mx: namespaces, rows: from.rows, cols: to.rows, intro };
    }
    const all = range(namespaces.n);
    if (s.namespaces === 'all' || namespaces.n <= AT_LOAD) return { mx: namespaces, rows: all, cols: all, intro: '' };
    return {
      mx: namespaces,
      rows: [],
      cols: [],
      asked: false,
      intro: '<p class="hint">' + namespaces.n + ' namespaces: drawn when asked. Click a cell of the tenant matrix for the namespaces of its row and column, or a row or column name for all of its rows or columns.<button type="button" class="everything">Draw all ' + namespaces.n + '</button></p>',
    };
  }

  /**
   * Per view: what the fragment asked of it (base), what it drew (key: base, and whether every
   * crossing is listed), the rows and columns in sight (for clicks), and the base whose
   * crossings the user asked to see in full.
   */
  const views = { tenants: { base: null, key: null, shown: null, expanded: null }, namespaces: { base: null, key: null, shown: null, expanded: null } };

  function draw(name, v, base) {
    const state = views[name];
    v.all = state.expanded === base;
    const key = base + (v.all ? ' all' : '');
    if (state.key === key) return false;
    Object.assign(state, { base, key, shown: null });
    const el = document.getElementById(name + '-view');
    if (v.mx.n === 0) {
      el.innerHTML = '<p class="hint">Nothing to show.</p>';
      return true;
    }
    const virtual = v.rows.length > PLAIN || v.cols.length > PLAIN;
    const drawsTable = v.asked !== false && v.rows.length > 0 && v.cols.length > 0;
    el.innerHTML = v.intro + (drawsTable ? '<div class="scroll">' + (virtual ? '' : tableHtml(v.mx, v.rows, v.cols, false)) + '</div>' : '') + (v.asked === false ? '' : crossingsHtml(v));
    if (drawsTable && virtual) mountVirtual(el.querySelector('.scroll'), v, state);
    else if (drawsTable) state.shown = { rows: v.rows, cols: v.cols };
    return true;
  }

  function render(scroll) {
    const s = hashState();
    draw('tenants', tenantView(), 'tenants');
    const changed = draw('namespaces', namespaceView(s), [s.from, s.to, s.namespaces].join('|'));
    if (scroll && changed) document.getElementById('namespaces').scrollIntoView();
  }

  function onClick(name, ev) {
    const el = ev.target.closest('td, th, button');
    if (el === null) return;
    const shown = views[name].shown;
    const ids = model.tenants.ids;
    if (el.classList.contains('more')) {
      views[name].expanded = views[name].base;
      render(false);
    } else if (el.classList.contains('clear')) setHash({ from: null, to: null, namespaces: null });
    else if (el.classList.contains('everything')) setHash({ from: null, to: null, namespaces: 'all' });
    else if (name === 'tenants' && shown !== null && el.closest('table.matrix') !== null) {
      const row = el.parentElement.sectionRowIndex;
      if (el.tagName === 'TD') setHash({ from: ids[shown.rows[row]], to: ids[shown.cols[el.cellIndex - 1]], namespaces: null });
      else if (el.classList.contains('row')) setHash({ from: ids[shown.rows[row]], to: null, namespaces: null });
      else if (el.classList.contains('col')) setHash({ from: null, to: ids[shown.cols[el.cellIndex]], namespaces: null });
    }
  }

  for (const name of ['tenants', 'namespaces']) document.getElementById(name + '-view').addEventListener('click', (ev) => onClick(name, ev));
  window.addEventListener('hashchange', () => render(true));
  render(false);
})();
`;
