/* factbench report: sortable/filterable tables and the per-summary explorer.
 * Plain JavaScript, no library, no network: the data come from report_data/index.js (every summary's ids,
 * labels, scores and text) and report_data/chunk_NNNNN.js (details of 50 summaries each, loaded on demand
 * through <script> tags, which also work for a page opened from file://). Details are read defensively: a
 * key a metric did not store is shown as unavailable, never an error. */
(function () {
  'use strict';
  var FB = window.FB = {chunks: {}, waiting: {}, timing: {start: performance.now()}};
  var LOG_CAP = 20; // -log p beyond this is drawn at full bar depth (and says so in the tooltip)

  // ---------------------------------------------------------------- helpers
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      if (attrs[k] === null || attrs[k] === undefined) return;
      if (k === 'text') node.textContent = attrs[k];
      else if (k === 'on') Object.keys(attrs.on).forEach(function (e) { node.addEventListener(e, attrs.on[e]); });
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) return;
      node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return node;
  }
  function svg(tag, attrs, children) {
    var node = document.createElementNS('http://www.w3.org/2000/svg', tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }
  function isNum(v) { return typeof v === 'number' && isFinite(v); }
  function fmt(v, digits) {
    if (v === null || v === undefined || v === '') return 'n/a';
    if (typeof v === 'number') {
      if (!isFinite(v)) return 'n/a';
      if (Number.isInteger(v)) return String(v);
      var d = digits === undefined ? 4 : digits;
      if (Math.abs(v) < Math.pow(10, -d)) return v.toExponential(1); // not '0.0000' for a tiny non-zero value
      return v.toFixed(d);
    }
    if (typeof v === 'boolean') return v ? 'yes' : 'no';
    return String(v);
  }
  function has(obj, key) { return obj && Object.prototype.hasOwnProperty.call(obj, key) && obj[key] !== null; }
  function shorten(s, n) { s = String(s); return s.length > n ? s.slice(0, n - 1) + '\u2026' : s; }
  function tokenText(t) { return String(t).replace(/^[\u0120\u2581]/, '\u00b7').replace(/\u010a/g, '\u21b5'); }

  // ---------------------------------------------------------------- static tables
  function cellKey(td) {
    var t = td.textContent.trim();
    var m = t.match(/^[*\s]*(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)/i);
    return m ? {num: parseFloat(m[1]), text: t} : {num: null, text: t};
  }
  function compareKeys(a, b) {
    if (a.num !== null && b.num !== null) return a.num - b.num;
    if (a.num !== null) return -1; // numbers before 'n/a' and text
    if (b.num !== null) return 1;
    return a.text.localeCompare(b.text);
  }
  function enhanceTable(table) {
    var tbody = table.tBodies[0];
    if (!tbody) return;
    var original = Array.prototype.slice.call(tbody.rows);
    var input = el('input', {type: 'search', placeholder: 'filter rows\u2026', 'class': 'table-filter',
      'aria-label': 'filter the rows of this table'});
    input.addEventListener('input', function () {
      var q = input.value.toLowerCase();
      original.forEach(function (r) { r.style.display = r.textContent.toLowerCase().indexOf(q) >= 0 ? '' : 'none'; });
    });
    table.parentNode.insertBefore(input, table);
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      th.classList.add('sortable');
      th.title = 'sort by this column';
      th.addEventListener('click', function () {
        var dir = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
        Array.prototype.forEach.call(th.parentNode.cells, function (o) { o.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', dir === 1 ? 'ascending' : 'descending');
        var rows = Array.prototype.slice.call(tbody.rows);
        var keys = rows.map(function (r) { return r.cells[col] ? cellKey(r.cells[col]) : {num: null, text: ''}; });
        var order = rows.map(function (_, i) { return i; });
        order.sort(function (i, j) { return dir * compareKeys(keys[i], keys[j]) || i - j; });
        order.forEach(function (i) { tbody.appendChild(rows[i]); });
      });
    });
  }

  // ---------------------------------------------------------------- explorer state
  var IX = null;
  var state = {dataset: -1, split: -1, system: -1, labels: {}, search: '', sort: '', dir: 1, page: 0, size: 50,
    open: null};
  var rankCache = {};

  function ranksWithin(values, groups) {
    // percentile rank (0..1, ties averaged) of each non-null value within its group (dataset)
    var out = new Array(values.length).fill(null), byGroup = {};
    values.forEach(function (v, i) { if (isNum(v)) (byGroup[groups[i]] = byGroup[groups[i]] || []).push(i); });
    Object.keys(byGroup).forEach(function (g) {
      var idx = byGroup[g].sort(function (a, b) { return values[a] - values[b]; }), n = idx.length;
      for (var s = 0; s < n;) {
        var e = s;
        while (e + 1 < n && values[idx[e + 1]] === values[idx[s]]) e++;
        var r = n > 1 ? ((s + e) / 2) / (n - 1) : 0.5;
        for (var k = s; k <= e; k++) out[idx[k]] = r;
        s = e + 1;
      }
    });
    return out;
  }
  function disagreement(score, label) {
    var key = score + '\u0000' + label;
    if (!rankCache[key]) {
      var rs = ranksWithin(IX.scores[score], IX.dataset), rl = ranksWithin(IX.labels[label], IX.dataset);
      rankCache[key] = rs.map(function (r, i) { return r === null || rl[i] === null ? null : Math.abs(r - rl[i]); });
    }
    return rankCache[key];
  }
  function sortValues() {
    if (!state.sort) return null;
    var p = state.sort.split(':'), kind = p[0], name = p.slice(1).join(':');
    if (kind === 'score') return IX.scores[name];
    if (kind === 'label') return IX.labels[name];
    if (kind === 'dis') { var q = name.split('|'); return disagreement(q[0], q[1]); }
    return null;
  }
  function labelMatches(name, i) {
    var f = state.labels[name];
    if (!f) return true;
    var v = IX.labels[name][i];
    if (f.value !== undefined) return f.value === '' ? true : (f.value === 'none' ? v === null : v === Number(f.value));
    if (isNum(f.min) && !(isNum(v) && v >= f.min)) return false;
    if (isNum(f.max) && !(isNum(v) && v <= f.max)) return false;
    return true;
  }
  var memo = {key: null, value: null};
  function selectedRows() {
    // paging and opening a summary keep the filtered, sorted rows: 100k rows are filtered and sorted once
    var key = JSON.stringify([state.dataset, state.split, state.system, state.labels, state.search, state.sort, state.dir]);
    if (memo.key !== key) memo = {key: key, value: filterAndSort()};
    return memo.value;
  }
  function filterAndSort() {
    var q = state.search.toLowerCase(), rows = [];
    var labelNames = Object.keys(IX.labels);
    for (var i = 0; i < IX.n; i++) {
      if (state.dataset >= 0 && IX.dataset[i] !== state.dataset) continue;
      if (state.split >= 0 && IX.split[i] !== state.split) continue;
      if (state.system >= 0 && IX.system[i] !== state.system) continue;
      if (!labelNames.every(function (n) { return labelMatches(n, i); })) continue;
      if (q && (IX.example_id[i] + ' ' + IX.doc_id[i] + ' ' + IX.system_names[IX.system[i]] + ' ' +
          IX.summary[i]).toLowerCase().indexOf(q) < 0) continue;
      rows.push(i);
    }
    var values = sortValues();
    if (values) {
      var dir = state.dir;
      rows.sort(function (a, b) {
        var va = values[a], vb = values[b];
        if (!isNum(va) && !isNum(vb)) return a - b;
        if (!isNum(va)) return 1; // missing values last in both directions
        if (!isNum(vb)) return -1;
        return dir * (va - vb) || a - b;
      });
    }
    return {rows: rows, values: values};
  }

  // ---------------------------------------------------------------- explorer controls and table
  function choice(id, label, names, key) {
    var sel = el('select', {id: id, 'aria-label': label}, [el('option', {value: '-1', text: 'all ' + label + 's'})]
      .concat(names.map(function (n, i) { return el('option', {value: String(i), text: n || '(none)'}); })));
    sel.addEventListener('change', function () { state[key] = Number(sel.value); state.page = 0; render(); });
    return el('label', {}, [label + ' ', sel]);
  }
  function labelControl(name) {
    var values = IX.labels[name].filter(isNum), distinct = {};
    values.forEach(function (v) { distinct[v] = true; });
    var keys = Object.keys(distinct).map(Number).sort(function (a, b) { return a - b; });
    if (keys.length <= 12) {
      var sel = el('select', {id: 'fb-label-' + name, 'data-label': name, 'aria-label': 'label ' + name},
        [el('option', {value: '', text: 'any'})].concat(keys.map(function (k) {
          return el('option', {value: String(k), text: String(k)});
        })).concat([el('option', {value: 'none', text: '(no label)'})]));
      sel.addEventListener('change', function () { state.labels[name] = {value: sel.value}; state.page = 0; render(); });
      return el('label', {}, ['label ' + name + ' ', sel]);
    }
    var lo = el('input', {type: 'number', step: 'any', placeholder: 'min', 'class': 'num', 'data-label-min': name});
    var hi = el('input', {type: 'number', step: 'any', placeholder: 'max', 'class': 'num', 'data-label-max': name});
    function upd() {
      state.labels[name] = {min: lo.value === '' ? null : Number(lo.value), max: hi.value === '' ? null : Number(hi.value)};
      state.page = 0; render();
    }
    lo.addEventListener('input', upd); hi.addEventListener('input', upd);
    return el('label', {}, ['label ' + name + ' ', lo, '\u2013', hi]);
  }
  function sortControl() {
    var opts = [el('option', {value: '', text: 'run order'})];
    Object.keys(IX.scores).forEach(function (s) { opts.push(el('option', {value: 'score:' + s, text: 'score ' + s})); });
    Object.keys(IX.labels).forEach(function (l) { opts.push(el('option', {value: 'label:' + l, text: 'label ' + l})); });
    Object.keys(IX.labels).forEach(function (l) {
      Object.keys(IX.scores).forEach(function (s) {
        opts.push(el('option', {value: 'dis:' + s + '|' + l, text: 'disagreement ' + s + ' vs ' + l}));
      });
    });
    var sel = el('select', {id: 'fb-sort', 'aria-label': 'sort by'}, opts);
    var dir = el('select', {id: 'fb-dir', 'aria-label': 'sort direction'}, [
      el('option', {value: '1', text: 'ascending'}), el('option', {value: '-1', text: 'descending'})]);
    sel.addEventListener('change', function () {
      state.sort = sel.value;
      if (sel.value.indexOf('dis:') === 0) { state.dir = -1; dir.value = '-1'; } // largest disagreement first
      state.page = 0; render();
    });
    dir.addEventListener('change', function () { state.dir = Number(dir.value); state.page = 0; render(); });
    return el('label', {title: 'disagreement: |percentile rank of the score - percentile rank of the label| within the dataset'},
      ['sort ', sel, ' ', dir]);
  }
  function buildControls(root) {
    var search = el('input', {type: 'search', id: 'fb-search', placeholder: 'search ids, systems, summary text\u2026',
      'aria-label': 'search'});
    search.addEventListener('input', function () { state.search = search.value; state.page = 0; render(); });
    var size = el('select', {id: 'fb-size', 'aria-label': 'rows per page'}, [25, 50, 100, 500].map(function (n) {
      return el('option', {value: String(n), text: n + ' per page', selected: n === state.size ? 'selected' : null});
    }));
    size.addEventListener('change', function () { state.size = Number(size.value); state.page = 0; render(); });
    var controls = el('div', {'class': 'controls'}, [
      choice('fb-dataset', 'dataset', IX.dataset_names, 'dataset'),
      choice('fb-split', 'split', IX.split_names, 'split'),
      choice('fb-system', 'system', IX.system_names, 'system')]
      .concat(Object.keys(IX.labels).map(labelControl))
      .concat([sortControl(), search, size]));
    root.appendChild(controls);
  }
  function pager(total) {
    var pages = Math.max(1, Math.ceil(total / state.size));
    if (state.page >= pages) state.page = pages - 1;
    function go(p) { return function () { state.page = p; render(); }; }
    return el('div', {'class': 'pager'}, [
      el('button', {type: 'button', id: 'fb-prev', on: {click: go(Math.max(0, state.page - 1))},
        disabled: state.page === 0 ? 'disabled' : null, text: '\u2039 previous'}),
      el('span', {id: 'fb-count', text: ' page ' + (state.page + 1) + ' of ' + pages + ' \u00b7 ' + total +
        ' of ' + IX.n + ' summaries '}),
      el('button', {type: 'button', id: 'fb-next', on: {click: go(Math.min(pages - 1, state.page + 1))},
        disabled: state.page >= pages - 1 ? 'disabled' : null, text: 'next \u203a'})]);
  }
  function render() {
    var sel = selectedRows(), rows = sel.rows;
    var body = document.getElementById('fb-table-area');
    body.textContent = '';
    body.appendChild(pager(rows.length));
    var labelNames = Object.keys(IX.labels), scoreNames = Object.keys(IX.scores);
    var extra = state.sort.indexOf('dis:') === 0;
    var head = ['dataset', 'split', 'system', 'example'].concat(labelNames.map(function (l) { return 'label ' + l; }))
      .concat(scoreNames).concat(extra ? ['disagreement'] : []).concat(['summary']);
    var tbody = el('tbody');
    rows.slice(state.page * state.size, (state.page + 1) * state.size).forEach(function (i) {
      var cells = [IX.dataset_names[IX.dataset[i]], IX.split_names[IX.split[i]], IX.system_names[IX.system[i]],
        IX.example_id[i]].map(function (t) { return el('td', {'class': 'id-cell', text: t}); });
      labelNames.forEach(function (l) { cells.push(el('td', {'class': 'num', text: fmt(IX.labels[l][i], 3)})); });
      scoreNames.forEach(function (s) { cells.push(el('td', {'class': 'num', text: fmt(IX.scores[s][i])})); });
      if (extra) cells.push(el('td', {'class': 'num', text: fmt(sel.values[i], 3)}));
      cells.push(el('td', {'class': 'summary-cell summary-col', text: shorten(IX.summary[i] || '', 110)}));
      var tr = el('tr', {'data-row': String(i), tabindex: '0', 'class': state.open === i ? 'open' : null}, cells);
      tr.addEventListener('click', function () { openSummary(i); });
      tr.addEventListener('keydown', function (e) { if (e.key === 'Enter') openSummary(i); });
      tbody.appendChild(tr);
    });
    body.appendChild(el('table', {'class': 'explorer-table', id: 'fb-rows'}, [
      el('thead', {}, [el('tr', {}, head.map(function (h) {
        return el('th', {'class': h === 'summary' ? 'summary-col' : null, text: h});
      }))]), tbody]));
    if (FB.timing.table === undefined) FB.timing.table = performance.now();
  }

  // ---------------------------------------------------------------- chunks
  function loadChunk(k, done) {
    if (FB.chunks[k]) return done(FB.chunks[k]);
    var first = !FB.waiting[k];
    (FB.waiting[k] = FB.waiting[k] || []).push(done);
    if (!first) return;
    var name = 'report_data/chunk_' + ('0000' + k).slice(-5) + '.js';
    var s = el('script', {src: name});
    s.onerror = function () {
      var cbs = FB.waiting[k] || []; delete FB.waiting[k];
      cbs.forEach(function (cb) { cb(null, name); });
    };
    document.body.appendChild(s);
  }
  FB.chunkz = function (packed) {
    // a chunk file holds its JSON gzipped and base64-encoded; the browser inflates it (no library needed)
    var bin = atob(packed), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    if (typeof DecompressionStream === 'undefined') {
      FB.failed('this browser cannot inflate the details (no DecompressionStream); use a current Chromium, Firefox or Safari');
      return;
    }
    new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))).text()
      .then(function (text) { FB.chunk(JSON.parse(text)); })
      .catch(function (e) { FB.failed('could not read a details file: ' + e); });
  };
  FB.failed = function (message) {
    var view = document.getElementById('fb-view');
    if (view) view.appendChild(el('p', {'class': 'warn', text: message}));
  };
  FB.chunk = function (data) {
    FB.chunks[data.chunk] = data;
    var cbs = FB.waiting[data.chunk] || []; delete FB.waiting[data.chunk];
    cbs.forEach(function (cb) { cb(data); });
  };

  // ---------------------------------------------------------------- summary view
  function openSummary(i) {
    state.open = i;
    Array.prototype.forEach.call(document.querySelectorAll('#fb-rows tr.open'), function (r) { r.classList.remove('open'); });
    var tr = document.querySelector('#fb-rows tr[data-row="' + i + '"]');
    if (tr) tr.classList.add('open');
    var view = document.getElementById('fb-view');
    view.textContent = '';
    view.appendChild(el('p', {'class': 'muted', text: 'loading details\u2026'}));
    document.getElementById('explorer-body').classList.add('with-view');
    if (history.replaceState) history.replaceState(null, '', '#example=' + i);
    loadChunk(Math.floor(i / IX.rows_per_chunk), function (chunk, missingFile) {
      if (state.open !== i) return;
      view.textContent = '';
      var row = chunk && chunk.rows ? chunk.rows[i] : null;
      if (!row) view.appendChild(el('p', {'class': 'warn', text: 'details unavailable: ' +
        (missingFile ? missingFile + ' could not be loaded' : 'not in the details file')}));
      try { renderView(view, i, row || {metrics: {}}, chunk ? chunk.sources || {} : {}); }
      catch (e) { view.appendChild(el('p', {'class': 'warn', text: 'could not show this summary: ' + e})); }
      FB.timing.view = performance.now();
      view.setAttribute('data-open', String(i));
    });
  }
  function kv(rows) {
    return el('table', {'class': 'kv'}, [el('tbody', {}, rows.map(function (r) {
      return el('tr', {}, [el('th', {text: r[0]}), el('td', {'class': r[2] || null}, [r[1] instanceof Node ? r[1] : fmt(r[1])])]);
    }))]);
  }
  function highlighted(text, entities) {
    // the summary with each entity wrapped in <mark>; entities not found in the source marked red
    var node = el('p', {'class': 'text summary-text'});
    var spans = [];
    (entities || []).forEach(function (e) {
      if (!e || !e.text) return;
      var at = text.indexOf(e.text);
      while (at >= 0 && spans.some(function (s) { return at < s.end && at + e.text.length > s.start; }))
        at = text.indexOf(e.text, at + 1);
      if (at >= 0) spans.push({start: at, end: at + e.text.length, found: e.found !== false, label: e.label});
    });
    spans.sort(function (a, b) { return a.start - b.start; });
    var pos = 0;
    spans.forEach(function (s) {
      node.appendChild(document.createTextNode(text.slice(pos, s.start)));
      node.appendChild(el('mark', {'class': s.found ? 'ent found' : 'ent unfound',
        title: (s.label || 'entity') + (s.found ? ': found in the source' : ': NOT found in the source'),
        text: text.slice(s.start, s.end)}));
      pos = s.end;
    });
    node.appendChild(document.createTextNode(text.slice(pos)));
    return node;
  }
  function renderView(view, i, row, sources) {
    var metrics = row.metrics || {};
    view.appendChild(el('div', {'class': 'view-head'}, [
      el('h3', {text: IX.dataset_names[IX.dataset[i]] + ' / ' + IX.example_id[i]}),
      el('button', {type: 'button', 'class': 'close', 'aria-label': 'close', text: '\u00d7', on: {click: function () {
        state.open = null; document.getElementById('explorer-body').classList.remove('with-view');
        view.textContent = ''; render();
      }}})]));
    var facts = [['split', IX.split_names[IX.split[i]]], ['system', IX.system_names[IX.system[i]]],
      ['document', IX.doc_id[i]]];
    Object.keys(IX.labels).forEach(function (l) { facts.push(['label ' + l, IX.labels[l][i]]); });
    view.appendChild(kv(facts));
    var scoreRows = Object.keys(IX.scores).map(function (s) {
      var m = metrics[IX.metric_of_score[s]] || {};
      return el('tr', {}, [el('th', {text: s}), el('td', {'class': 'num', text: fmt(IX.scores[s][i])}),
        m.missing ? el('td', {'class': 'muted', text: 'missing: ' + m.missing}) : null]);
    });
    view.appendChild(el('table', {'class': 'kv scores'}, [el('tbody', {}, scoreRows)]));

    var entities = null;
    Object.keys(metrics).forEach(function (m) { var d = metrics[m].details; if (d && Array.isArray(d.entities)) entities = d.entities; });
    view.appendChild(el('h4', {text: 'Summary'}));
    view.appendChild(highlighted(IX.summary[i] || '', entities));
    if (!IX.summary[i]) view.appendChild(el('p', {'class': 'muted', text: 'summary text unavailable (this run stored no texts.jsonl)'}));
    var src = row.source_id !== null && row.source_id !== undefined ? sources[row.source_id] : null;
    view.appendChild(el('details', {open: 'open'}, [el('summary', {text: 'Source'}),
      el('div', {'class': 'text source-text', text: src || 'source text unavailable'})]));
    if (row.references && row.references.length) {
      view.appendChild(el('details', {}, [el('summary', {text: 'Reference' + (row.references.length > 1 ? 's' : '')})]
        .concat(row.references.map(function (r) { return el('div', {'class': 'text', text: r}); }))));
    }
    Object.keys(metrics).forEach(function (m) {
      var sec = el('section', {'class': 'metric', 'data-metric': m}, [el('h4', {text: m})]);
      var res = metrics[m] || {}, d = res.details || {};
      if (res.missing) sec.appendChild(el('p', {'class': 'warn', text: 'not scored: ' + res.missing}));
      try {
        // QAGS's details carry n_generated too (the unparsable-output share): questions decide first.
        if (Array.isArray(d.questions)) renderQags(sec, d);
        else if (Array.isArray(d.qa_pairs) || has(d, 'n_generated')) renderQuals(sec, d);
        else if (Array.isArray(d.entities)) renderEntities(sec, d);
        else if (Array.isArray(d.claims)) renderFactcc(sec, d);
        else renderGeneric(sec, d, []);
      } catch (e) {
        sec.appendChild(el('p', {'class': 'warn', text: 'details unavailable: ' + e}));
      }
      view.appendChild(sec);
    });
  }
  function renderGeneric(sec, d, skip) {
    var keys = Object.keys(d).filter(function (k) { return skip.indexOf(k) < 0; });
    if (!keys.length) { sec.appendChild(el('p', {'class': 'muted', text: 'no details stored'})); return; }
    sec.appendChild(kv(keys.map(function (k) {
      var v = d[k];
      return [k, typeof v === 'object' && v !== null ? shorten(JSON.stringify(v), 400) : v];
    })));
  }
  function count(d, k) { return has(d, k) ? d[k] : null; }
  function renderQuals(sec, d) {
    if (d.warning) sec.appendChild(el('p', {'class': 'warn', text: 'Warning: ' + d.warning}));
    var gen = count(d, 'n_generated'), unp = count(d, 'n_unparsable'), parsed = count(d, 'n_pairs'),
      kept = count(d, 'n_kept'), chosen = count(d, 'n_selected');
    var notInSummary = isNum(parsed) && isNum(kept) ? parsed - kept : null;
    var notSelected = isNum(kept) && isNum(chosen) ? kept - chosen : null;
    sec.appendChild(el('p', {'class': 'filter-line'}, [
      'generated ' + fmt(gen) + ' \u2192 unparsable ' + fmt(unp) + ' \u2192 parsed pairs ' + fmt(parsed) +
      ' \u2192 answer not in the summary ' + fmt(notInSummary) + ' \u2192 kept ' + fmt(kept) +
      ' \u2192 not selected ' + fmt(notSelected) + ' \u2192 selected ' + fmt(chosen)]));
    var info = [];
    if (has(d, 'source_tokens')) info.push('source ' + d.source_tokens + ' tokens' + (d.source_truncated ?
      ' (truncated to ' + fmt(d.max_source_tokens) + ')' : ''));
    if (has(d, 'summary_side')) info.push('summary side: ' + d.summary_side);
    if (info.length) sec.appendChild(el('p', {'class': 'muted', text: info.join('; ')}));
    if (d.reason) sec.appendChild(el('p', {text: 'No QA pair: ' + d.reason}));
    var pairs = Array.isArray(d.qa_pairs) ? d.qa_pairs : [];
    if (!pairs.length) return;
    sec.appendChild(el('p', {'class': 'legend'}, [el('span', {'class': 'sw sum'}), ' log p(token | summary)  ',
      el('span', {'class': 'sw src'}), ' log p(token | source)  \u00b7 bars point down: deeper = less likely; ' +
      'term = mean log p given source \u2212 given summary']));
    pairs.forEach(function (p, k) {
      var ls = Array.isArray(p.logprobs_source) ? p.logprobs_source : null;
      var lm = Array.isArray(p.logprobs_summary) ? p.logprobs_summary : null;
      var toks = Array.isArray(p.tokens) ? p.tokens : null;
      var mean = function (a) { return a && a.length ? a.reduce(function (x, y) { return x + y; }, 0) / a.length : null; };
      var ms = isNum(p.mean_source) ? p.mean_source : mean(ls), mm = isNum(p.mean_summary) ? p.mean_summary : mean(lm);
      var term = isNum(p.diff) ? p.diff : (isNum(ms) && isNum(mm) ? ms - mm : null);
      var box = el('div', {'class': 'qa-pair', 'data-pair': String(k)}, [
        el('div', {'class': 'qa-text'}, [el('b', {text: 'Q: '}), p.question || '(empty)', el('br'),
          el('b', {text: 'A: '}), p.answer || '(empty)']),
        el('div', {'class': 'muted', text: 'term ' + fmt(term) + ' (given source ' + fmt(ms, 3) + ', given summary ' +
          fmt(mm, 3) + (p.summary_side ? '; summary side ' + p.summary_side : '') + ')'})]);
      if (toks && ls && lm && toks.length === ls.length && toks.length === lm.length) box.appendChild(bars(toks, lm, ls));
      else box.appendChild(el('p', {'class': 'muted', text: 'per-token log-probabilities unavailable for this pair'}));
      sec.appendChild(box);
    });
  }
  function bars(toks, lm, ls) {
    var W = 30, H = 90, top = 8, bottom = 58, width = toks.length * W + 40;
    // one depth scale per pair, shared by both colours: the deepest bar, rounded up to an even number
    var deepest = lm.concat(ls).reduce(function (m, v) { return isFinite(v) ? Math.max(m, -v) : m; }, 0);
    var cap = Math.min(LOG_CAP, Math.max(2, 2 * Math.ceil(deepest / 2)));
    var depth = function (lp) { return Math.max(0, Math.min(-lp, cap)) / cap * (H - top); };
    var g = [svg('line', {x1: 36, x2: width, y1: top, y2: top, 'class': 'axis'})];
    [0, cap / 2, cap].forEach(function (v) {
      var y = top + v / cap * (H - top);
      g.push(svg('text', {x: 32, y: y + 3, 'class': 'tick', 'text-anchor': 'end'}, [document.createTextNode(v ? '\u2212' + v : '0')]));
    });
    toks.forEach(function (t, j) {
      var x = 40 + j * W, a = Number(lm[j]), b = Number(ls[j]);
      var label = tokenText(t);
      var tip = svg('title', {}, [document.createTextNode('"' + label + '"  log p | summary ' + fmt(a, 3) +
        ', | source ' + fmt(b, 3) + ', source \u2212 summary ' + fmt(b - a, 3) +
        (-a > cap || -b > cap ? ' (bar capped at \u2212' + cap + ')' : ''))]);
      g.push(svg('g', {'class': 'tok', 'data-token': String(j)}, [tip,
        svg('rect', {x: x, y: top, width: 12, height: isFinite(a) ? depth(a) : 0, 'class': 'bar-sum'}),
        svg('rect', {x: x + 13, y: top, width: 12, height: isFinite(b) ? depth(b) : 0, 'class': 'bar-src'}),
        svg('text', {x: x + 12, y: H + 6, 'class': 'tok-label', transform: 'rotate(-55 ' + (x + 12) + ' ' + (H + 6) + ')',
          'text-anchor': 'end'}, [document.createTextNode(shorten(label, 10))])]));
    });
    var s = svg('svg', {width: width, height: H + bottom, 'class': 'qa-bars', role: 'img'}, g);
    return el('div', {'class': 'bars-wrap'}, [s]);
  }
  function renderQags(sec, d) {
    if (Array.isArray(d.answers)) sec.appendChild(el('p', {'class': 'muted', text: 'answer candidates: ' + d.answers.join(' \u00b7 ')}));
    var rows = d.questions.map(function (q) {
      q = q || {};
      return el('tr', {}, [el('td', {text: (q.question || '(empty)') + (q.padded ? ' \u2020' : '')}),
        el('td', {text: fmt(q.qg_answer)}), el('td', {text: fmt(q.answer_summary)}), el('td', {text: fmt(q.answer_source)}),
        el('td', {'class': 'num', text: fmt(q.f1, 3)})]);
    });
    sec.appendChild(el('table', {'class': 'explorer-table qags'}, [el('thead', {}, [el('tr', {},
      ['question', 'answer it was asked for', 'answer on the summary', 'answer on the source', 'F1'].map(function (h) {
        return el('th', {text: h});
      }))]), el('tbody', {}, rows)]));
    if (d.questions.some(function (q) { return q && q.padded; }))
      sec.appendChild(el('p', {'class': 'muted', text: '\u2020 padding: did not pass the filter; drawn at random from all candidates to fill the quota, as the original QAGS does'}));
    renderGeneric(sec, d, ['answers', 'questions']);
  }
  function renderEntities(sec, d) {
    sec.appendChild(el('p', {}, d.entities.length ? d.entities.map(function (e) {
      e = e || {};
      return el('span', {'class': 'chip ' + (e.found === false ? 'unfound' : 'found'), title: e.found === false ?
        'not found in the source' : 'found in the source', text: (e.text || '?') + (e.label ? ' \u00b7 ' + e.label : '')});
    }) : ['no entities in the summary']));
    renderGeneric(sec, d, ['entities']);
  }
  function renderFactcc(sec, d) {
    if (d.truncated) {
      var which = Array.isArray(d.truncated_claims) ? ' (sentences ' + d.truncated_claims.map(function (k) { return k + 1; }).join(', ') + ')' : '';
      sec.appendChild(el('p', {'class': 'warn', text: 'input truncated to the model length' + which}));
    }
    var rows = d.claims.map(function (c, k) {
      c = c || {};
      var cut = isNum(c.doc_tokens) && isNum(c.doc_tokens_kept) && c.doc_tokens_kept < c.doc_tokens;
      return el('tr', {'class': cut ? 'truncated' : null}, [el('td', {text: String(k + 1)}), el('td', {text: c.text || ''}),
        el('td', {'class': 'num', text: fmt(c.p_correct, 3)}), el('td', {text: fmt(c.label)}),
        el('td', {'class': 'num', text: fmt(c.doc_tokens_kept) + ' / ' + fmt(c.doc_tokens)})]);
    });
    sec.appendChild(el('table', {'class': 'explorer-table factcc'}, [el('thead', {}, [el('tr', {},
      ['#', 'sentence', 'p(correct)', 'label', 'source tokens kept'].map(function (h) { return el('th', {text: h}); }))]),
      el('tbody', {}, rows)]));
    renderGeneric(sec, d, ['claims', 'truncated', 'truncated_claims']);
  }

  // ---------------------------------------------------------------- start
  FB.index = function (data) {
    IX = data;
    FB.timing.index = performance.now();
    var root = document.getElementById('fb-explorer');
    if (!root) return;
    root.textContent = '';
    buildControls(root);
    root.appendChild(el('div', {id: 'explorer-body'}, [el('div', {id: 'fb-table-area'}), el('div', {id: 'fb-view'})]));
    render();
    var m = location.hash.match(/example=(\d+)/);
    if (m && Number(m[1]) < IX.n) openSummary(Number(m[1]));
  };
  FB.open = openSummary;
  document.addEventListener('DOMContentLoaded', function () {
    Array.prototype.forEach.call(document.querySelectorAll('table.data'), enhanceTable);
    if (!IX) {
      var root = document.getElementById('fb-explorer');
      if (root) root.textContent = 'report_data/index.js could not be loaded: the explorer needs the report_data folder next to this page.';
    }
  });
})();
