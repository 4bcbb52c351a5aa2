// The dashboard's one page: fetches a study from the JSON API (or reads it embedded, in an
// exported file), keeps it in memory, and redraws its plotly views when new data arrives.
// Every string that came from the study (names, configurations, reasons) goes into the
// page through textContent or esc(), never as HTML.
"use strict";

const ROOT = document.getElementById("app");
const STUDY = ROOT.dataset.study;
const EMBEDDED = document.getElementById("study-data");
const MAX_MARKERS = 2000;
const REFRESH_MS = Number(new URLSearchParams(location.search).get("refresh") || 2000);
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
  "#7f7f7f", "#bcbd22", "#17becf"];
const EVENT_STYLE = {
  pause: {symbol: "circle-open", color: "#555"},
  promote: {symbol: "triangle-up", color: "#2ca02c"},
  stop: {symbol: "x", color: "#d62728"},
  complete: {symbol: "star", color: "#000"},
  diverge: {symbol: "x-thin-open", color: "#ff00ff"},
  fail: {symbol: "square-x-open", color: "#ff0000"},
};

function esc(text) {
  return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

// For plotly texts that are drawn as plain SVG text (parcoords), where entities stay literal.
function plain(text) {
  return String(text).replace(/</g, "‹").replace(/>/g, "›");
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "text") node.textContent = v; else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

// -- state --------------------------------------------------------------------------------

const S = {
  study: null,
  curves: new Map(),      // trial -> {x: [epoch], y: [value]}
  order: [],              // epochs in the order they ended: [trial, value, ended_at, seconds, worker, epoch, node]
  events: [],             // [trial, kind, epoch, reason]
  trials: new Map(),      // trial -> row
  cursors: {epochs: 0, events: 0, trials: 0},
  colorBy: "bracket",
  table: {sort: "best_value", desc: true, filter: "", page: 0},
  importance: null,
};

function absorb(delta) {
  S.study = delta.study;
  const e = delta.epochs;
  for (let i = 0; i < e.trial_id.length; i++) {
    const t = e.trial_id[i];
    if (!S.curves.has(t)) S.curves.set(t, {x: [], y: []});
    const c = S.curves.get(t);
    c.x.push(e.epoch[i]);
    c.y.push(e.value[i]);
    S.order.push([t, e.value[i], e.ended_at[i], e.seconds[i], e.worker[i], e.epoch[i], e.node ? e.node[i] : null]);
  }
  const v = delta.events;
  for (let i = 0; i < v.trial_id.length; i++) S.events.push([v.trial_id[i], v.kind[i], v.epoch[i], v.reason[i]]);
  const r = delta.trials;
  for (let i = 0; i < r.trial_id.length; i++) {
    const row = {};
    for (const k of Object.keys(r)) if (Array.isArray(r[k])) row[k] = r[k][i];
    S.trials.set(row.trial_id, row);
  }
  S.cursors = {epochs: e.cursor, events: v.cursor, trials: r.cursor};
  return e.trial_id.length + v.trial_id.length + r.trial_id.length;
}

async function getJSON(path) {
  const response = await fetch(path, {cache: "no-store"});
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}

const STUDY_API = `/api/studies/${encodeURIComponent(STUDY)}`;

function api(path, params) {
  const q = new URLSearchParams(params || {});
  return getJSON(`${STUDY_API}/${path}?${q}`);
}

// -- views --------------------------------------------------------------------------------

const better = () => (S.study.mode === "min" ? (a, b) => a < b : (a, b) => a > b);
// What the schedulers hand out: epochs, or training samples (each rung refits on more).
const samples = () => (S.study.settings || {}).resource === "samples";
const unit = () => (samples() ? "samples" : "epoch");
// The title sits just above the plot area (its bottom TITLE_PAD px above it) and the top
// margin leaves the strip above it to plotly's mode bar (about 25 px tall, drawn at the
// top right): a long title in a half-width view used to run under the mode bar.
const MODEBAR_PX = 30;
const TITLE_PAD = 6;
// Parallel coordinates: their labels, tilted so that neighbours do not run into each
// other, and their top ticks take this much above the plot area; the view is taller for
// it, and the importance beside it (one row of the page) as tall.
const PARCOORDS_LABELS_PX = 80;
const PARCOORDS_ROW_PX = 460;
const layoutBase = (title, extra) => ({
  title: {text: title, font: {size: 14}, yref: "paper", y: 1, yanchor: "bottom", pad: {b: TITLE_PAD}},
  margin: {l: 55, r: 15, t: MODEBAR_PX + 28, b: 40}, hovermode: "closest",
  legend: {orientation: "h", y: -0.2}, ...extra,
});

// A trial's group (its bracket, or the rung it reached) and the group's colour, the same
// in every view: keyed by the bracket's (or rung's) index, not by the legend's order.
function groupOf(trial) {
  const row = S.trials.get(trial);
  if (!row) return "?";
  return S.colorBy === "rung" ? `rung ${row.rung}` : `bracket ${bracketLabel(row.bracket)}`;
}

function groupIndex(trial) {
  const row = S.trials.get(trial);
  return row ? (S.colorBy === "rung" ? row.rung : row.bracket) : 0;
}

function groupOrder(groups, index) {  // legend order: by bracket (rung) index
  return [...groups.keys()].sort((a, b) => index.get(a) - index.get(b));
}

function bracketLabel(index) {
  const b = (S.study.brackets || [])[index];
  return b ? `s=${b.s}` : String(index);
}

function drawCurves() {
  const groups = new Map();
  const colorOf = new Map();
  const index = new Map();
  for (const [trial, c] of S.curves) {
    const g = groupOf(trial);
    if (!index.has(g)) index.set(g, groupIndex(trial));
    if (!groups.has(g)) groups.set(g, {x: [], y: [], text: []});
    const gr = groups.get(g);
    const label = `trial ${trial}`;
    if (c.x.length === 1) {  // a short tick, so that a one-epoch trial shows in the line trace
      gr.x.push(c.x[0] - 0.15, c.x[0] + 0.15, null); gr.y.push(c.y[0], c.y[0], null); gr.text.push(label, label, null);
      continue;
    }
    for (let i = 0; i < c.x.length; i++) { gr.x.push(c.x[i]); gr.y.push(c.y[i]); gr.text.push(label); }
    gr.x.push(null); gr.y.push(null); gr.text.push(null);
  }
  const names = groupOrder(groups, index);
  names.forEach((g) => colorOf.set(g, COLORS[index.get(g) % COLORS.length]));
  const traces = names.map((g) => ({
    type: "scatter", mode: "lines", name: g, x: groups.get(g).x, y: groups.get(g).y,
    text: groups.get(g).text, hoverinfo: "text+x+y", line: {width: 1, color: colorOf.get(g)},
    connectgaps: false, legendgroup: g,
  }));

  // Decision markers: every one up to MAX_MARKERS; beyond that (a big study) the newest
  // MAX_MARKERS unless "every decision" is ticked: each marker is an SVG element.
  const marks = {};
  const all = document.getElementById("all-marks").checked;
  const shown = S.events.filter(([, kind, epoch]) => kind in EVENT_STYLE && epoch >= 1);
  const capped = all ? shown : shown.slice(-MAX_MARKERS);
  document.getElementById("marks-note").textContent = capped.length < shown.length
    ? `showing the newest ${capped.length} of ${shown.length} decisions` : "";
  for (const [trial, kind, epoch, reason] of capped) {
    const c = S.curves.get(trial);
    if (!c) continue;
    const i = c.x.lastIndexOf(epoch);
    if (i < 0) continue;
    (marks[kind] ||= {x: [], y: [], text: []});
    marks[kind].x.push(epoch); marks[kind].y.push(c.y[i]);
    marks[kind].text.push(`trial ${trial} ${esc(kind)}: ${esc(reason)}`);
  }
  for (const [kind, m] of Object.entries(marks)) {
    traces.push({type: "scatter", mode: "markers", name: kind, x: m.x, y: m.y, text: m.text,
      hoverinfo: "text", marker: {symbol: EVENT_STYLE[kind].symbol, color: EVENT_STYLE[kind].color, size: 7}});
  }
  const title = samples() ? `${esc(S.study.metric)} against training samples (a refit per rung)`
    : `Learning curves: ${esc(S.study.metric)} per epoch`;
  Plotly.react("curves", traces, layoutBase(title,
    {xaxis: {title: {text: unit()}}, yaxis: {title: {text: esc(S.study.metric)}}}), {responsive: true});
}

function drawRungs() {
  const brackets = S.study.brackets || [];
  const reached = brackets.map((b) => b.rungs.map(() => 0));
  for (const row of S.trials.values()) {
    const b = brackets[row.bracket];
    if (!b) continue;
    b.rungs.forEach(([, epochs], i) => { if (row.epochs >= epochs) reached[row.bracket][i] += 1; });
  }
  const traces = [];
  brackets.forEach((b, bi) => {
    const x = b.rungs.map(([, e], i) => `rung ${i}: ${e} ${samples() ? "samples" : "ep"}`);
    traces.push({type: "bar", name: `bracket s=${b.s} reached`, x, y: reached[bi],
      marker: {color: COLORS[bi % COLORS.length]}, legendgroup: `b${bi}`});
    traces.push({type: "scatter", mode: "markers", name: `bracket s=${b.s} planned`, x,
      y: b.rungs.map(([n]) => n), marker: {symbol: "line-ew-open", size: 18, color: COLORS[bi % COLORS.length]},
      legendgroup: `b${bi}`, showlegend: false});
  });
  Plotly.react("rungs", traces, layoutBase("Successive halving: trials that reached each rung (dash: planned)",
    {barmode: "group", yaxis: {title: {text: "trials"}, type: brackets.length && Math.max(...brackets.map((b) => b.rungs[0][0])) > 50 ? "log" : "linear"}}),
  {responsive: true});
}

function drawBest() {
  const isBetter = better();
  let best = null;
  const x = [], y = [], t = [];
  const start = S.order.length ? Math.min(...S.order.slice(0, 1000).map((o) => o[2] - o[3])) : 0;
  // Only the points where the best changes (and the last): a step line, cheap to draw.
  // Spent: one per epoch; with training samples, every refit pays all of its samples.
  const refits = samples();
  let spent = 0;
  S.order.forEach(([, value, ended, , , size]) => {
    spent += refits ? size : 1;
    if (value !== null && (best === null || isBetter(value, best))) {
      best = value;
      x.push(spent); y.push(best); t.push(ended - start);
    }
  });
  if (S.order.length) {
    x.push(spent); y.push(best); t.push(S.order[S.order.length - 1][2] - start);
  }
  Plotly.react("best-epochs", [{type: "scatter", mode: "lines", line: {shape: "hv"}, x, y, name: "best so far"}],
    layoutBase(`Best so far against ${samples() ? "samples" : "epochs"} spent`, {xaxis: {title: {text: `${samples() ? "samples" : "epochs"} spent`}}, yaxis: {title: {text: esc(S.study.metric)}}}),
    {responsive: true});
  Plotly.react("best-time", [{type: "scatter", mode: "lines", line: {shape: "hv"}, x: t, y, name: "best so far"}],
    layoutBase("Best so far against wall time", {xaxis: {title: {text: "seconds since start"}}, yaxis: {title: {text: esc(S.study.metric)}}}),
    {responsive: true});
}

// One row per worker, the rows of one node (machine) together, labelled "node · worker".
function timelineRows() {
  const seen = new Map();
  for (const o of S.order) {
    const key = `${o[6] ?? ""}\u0000${o[4]}`;
    if (!seen.has(key)) seen.set(key, o[6] ? `${o[6]} · ${o[4]}` : String(o[4]));
  }
  const keys = [...seen.keys()].sort();
  return {keys, labels: keys.map((k) => seen.get(k)), row: new Map(keys.map((k, i) => [k, i]))};
}

function drawTimeline() {
  const rows = timelineRows();
  const workers = rows.labels;
  const start = S.order.length ? Math.min(...S.order.slice(0, 1000).map((o) => o[2] - o[3])) : 0;
  const groups = new Map();
  const index = new Map();
  for (const [trial, , ended, seconds, worker, , node] of S.order) {
    const g = groupOf(trial);
    if (!index.has(g)) index.set(g, groupIndex(trial));
    if (!groups.has(g)) groups.set(g, {x: [], y: [], text: []});
    const gr = groups.get(g);
    const y = rows.row.get(`${node ?? ""}\u0000${worker}`);
    gr.x.push(ended - seconds - start, ended - start, null);
    gr.y.push(y, y, null);
    gr.text.push(`trial ${trial}`, `trial ${trial}`, null);
  }
  const names = groupOrder(groups, index);
  const traces = names.map((g) => ({type: "scatter", mode: "lines", name: g, x: groups.get(g).x,
    y: groups.get(g).y, text: groups.get(g).text, hoverinfo: "text+x", line: {width: 8, color: COLORS[index.get(g) % COLORS.length]}}));
  Plotly.react("timeline", traces, layoutBase("Worker timeline by node: which trial trained where and when",
    {xaxis: {title: {text: "seconds since start"}}, yaxis: {tickvals: workers.map((_, i) => i),
      ticktext: workers.map(esc), automargin: true}, height: Math.max(250, 40 + 18 * workers.length)}),
  {responsive: true});
}

function drawParcoords() {
  const space = (S.study.settings || {}).space || {};
  const rows = [...S.trials.values()].filter((r) => r.best_value !== null);
  const dims = [];
  for (const [name, spec] of Object.entries(space)) {
    // An inactive hyperparameter (a conditional space's) is absent: empty, never a value.
    const values = rows.map((r) => (name in r.config ? r.config[name] : null));
    const numeric = values.every((v) => v === null || typeof v === "number");
    const log = spec && typeof spec === "object" && !Array.isArray(spec) && spec.log;
    if (numeric) {
      dims.push({label: plain(log ? `log10 ${name}` : name),
        values: values.map((v) => (v === null ? NaN : log ? Math.log10(v) : v))});
    } else {
      const show = (v) => (v === null ? "–" : typeof v === "string" ? v : JSON.stringify(v));
      const keys = [...new Set(values.map(show))].sort();
      const index = new Map(keys.map((k, i) => [k, i]));
      dims.push({label: plain(name), values: values.map((v) => index.get(show(v))),
        tickvals: keys.map((_, i) => i), ticktext: keys.map((k) => plain(k.length > 24 ? k.slice(0, 23) + "…" : k))});
    }
  }
  dims.push({label: plain(S.study.metric), values: rows.map((r) => r.best_value)});
  // The dimensions' labels and top ticks are drawn above the plot area, where layoutBase
  // puts its title: here the title hangs from the top, under the mode bar, and the top
  // margin holds the title and the labels.
  const title = "Hyperparameters of every trial, coloured by its best value";
  Plotly.react("parcoords", [{type: "parcoords", dimensions: dims, labelangle: -20,
    line: {color: rows.map((r) => r.best_value), colorscale: "Viridis", showscale: true}}],
  layoutBase(title, {
    title: {...layoutBase(title).title, yref: "container", y: 1, yanchor: "top", pad: {t: MODEBAR_PX}},
    margin: {l: 60, r: 60, t: MODEBAR_PX + 24 + PARCOORDS_LABELS_PX, b: 30}, height: PARCOORDS_ROW_PX}),
  {responsive: true});
}

function drawImportance() {
  const imp = S.importance || {};
  const names = Object.keys(imp).sort((a, b) => imp[a] - imp[b]);
  Plotly.react("importance", [{type: "bar", orientation: "h", x: names.map((n) => imp[n]), y: names.map(esc)}],
    layoutBase(names.length ? "Hyperparameter importance (PED-ANOVA over trials' best values)"
      : "Hyperparameter importance: needs a few finished trials", {margin: {...layoutBase("").margin, l: 160}, height: PARCOORDS_ROW_PX}),
    {responsive: true});
}

const COLUMNS = ["trial_id", "status", "bracket", "rung", "epochs", "best_value", "last_value", "reason", "config"];

function drawTable() {
  const box = document.getElementById("table");
  const f = S.table.filter.toLowerCase();
  let rows = [...S.trials.values()];
  if (f) rows = rows.filter((r) => COLUMNS.some((c) => String(c === "config" ? JSON.stringify(r.config) : r[c]).toLowerCase().includes(f)));
  const k = S.table.sort, sign = S.table.desc ? -1 : 1;
  rows.sort((a, b) => {
    const x = a[k], y = b[k];
    if (x === y) return a.trial_id - b.trial_id;
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    return (x < y ? -1 : 1) * sign;
  });
  const pages = Math.max(1, Math.ceil(rows.length / 100));
  S.table.page = Math.min(S.table.page, pages - 1);
  const shown = rows.slice(S.table.page * 100, S.table.page * 100 + 100);
  const head = el("tr", {}, ...COLUMNS.map((c) => {
    const th = el("th", {text: c + (c === k ? (S.table.desc ? " ▼" : " ▲") : ""), "data-col": c});
    th.onclick = () => { S.table.desc = S.table.sort === c ? !S.table.desc : true; S.table.sort = c; drawTable(); };
    return th;
  }));
  const body = shown.map((r) => el("tr", {}, ...COLUMNS.map((c) => {
    const v = r[c];
    if (c === "trial_id") {
      const a = el("a", {href: EMBEDDED ? `#trial=${v}` : `/studies/${encodeURIComponent(STUDY)}/trials/${v}`, text: String(v)});
      return el("td", {}, a);
    }
    const text = c === "config" ? JSON.stringify(v) : (typeof v === "number" && !Number.isInteger(v) ? v.toFixed(4) : (v ?? "–"));
    return el("td", {text: String(text), class: c});
  })));
  const table = el("table", {id: "trial-table"}, el("thead", {}, head), el("tbody", {}, ...body));
  const info = el("span", {text: ` ${rows.length} trials, page ${S.table.page + 1} of ${pages} `});
  const prev = el("button", {text: "‹ prev"}); prev.onclick = () => { S.table.page = Math.max(0, S.table.page - 1); drawTable(); };
  const next = el("button", {text: "next ›"}); next.onclick = () => { S.table.page += 1; drawTable(); };
  box.replaceChildren(el("div", {class: "pager"}, prev, info, next), table);
}

function drawHeader() {
  const s = S.study;
  const best = s.best_value === null || s.best_value === undefined ? "–" : Number(s.best_value).toFixed(4);
  const counts = {};
  for (const r of S.trials.values()) counts[r.status] = (counts[r.status] || 0) + 1;
  document.getElementById("title").textContent = `${s.name}`;
  document.getElementById("summary").textContent =
    `${s.status} · ${s.scheduler} · ${S.trials.size} trials (` +
    Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(", ") +
    `) · ${s.epochs_spent} of ${s.planned_budget ?? "?"} epochs · best ${s.metric} ${best}` +
    (s.best_trial !== null && s.best_trial !== undefined ? ` (trial ${s.best_trial})` : "");
}

// Views are drawn when they come into sight (and redrawn there when new data arrives):
// with 10,000 trials a full redraw of every view costs seconds, most of it for views
// below the fold. Each view remembers whether it is stale.
const VIEWS = {
  curves: drawCurves, rungs: drawRungs, "best-epochs": drawBest, timeline: drawTimeline,
  parcoords: drawParcoords, importance: drawImportance, table: drawTable,
};
const stale = new Set(Object.keys(VIEWS));
const visible = new Set();
const observer = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    if (entry.isIntersecting) visible.add(entry.target.id); else visible.delete(entry.target.id);
  }
  drawStale();
}, {rootMargin: "200px"});

// Parallel coordinates cost the most to draw (WebGL); while a search runs they are
// redrawn at most every 15 s.
const SLOW = {parcoords: 15000};
const lastDrawn = {};

function drawStale() {
  const timings = window.hpoDrawTimings || (window.hpoDrawTimings = {});
  for (const id of Object.keys(VIEWS)) {
    if (id in SLOW && lastDrawn[id] && performance.now() - lastDrawn[id] < SLOW[id] && !drawingAll) continue;
    if (stale.has(id) && visible.has(id) && !document.getElementById("overview").hidden) {
      lastDrawn[id] = performance.now();
      const t0 = performance.now();
      VIEWS[id]();
      timings[id] = Math.round(performance.now() - t0);
      stale.delete(id);
    }
  }
}

function drawOverview() {
  drawHeader();
  for (const id of Object.keys(VIEWS)) stale.add(id);
  drawStale();
}

let drawingAll = false;

function drawEverything() {  // for tests and benchmarks: every view, seen or not, now
  drawingAll = true;
  for (const id of Object.keys(VIEWS)) visible.add(id);
  drawOverview();
  drawingAll = false;
}

// -- the report and a single trial ------------------------------------------------------------

function drawReport(report) {
  const box = document.getElementById("report");
  if (!report) {
    box.replaceChildren(el("p", {text: `No best-model report yet: run \`hpo report ${STUDY}\`.`}));
    return;
  }
  box.replaceChildren(
    el("p", {text: `Trial ${report.trial_id} retrained on training + validation data for ${report.epochs} epochs; ` +
      `test accuracy ${report.test_accuracy.toFixed(4)}; ${report.cv.n_splits}×${report.cv.n_repeats} repeated stratified ` +
      `cross-validation accuracy ${report.cv.mean.toFixed(4)} ± ${report.cv.std.toFixed(4)}.`}),
    el("div", {id: "confusion", class: "plot"}), el("div", {id: "roc", class: "plot"}),
    el("table", {id: "per-class"},
      el("thead", {}, el("tr", {}, ...["class", "precision", "recall", "f1", "support"].map((c) => el("th", {text: c})))),
      el("tbody", {}, ...report.per_class.map((r) => el("tr", {}, ...["label", "precision", "recall", "f1", "support"].map((c) =>
        el("td", {text: typeof r[c] === "number" && !Number.isInteger(r[c]) ? r[c].toFixed(4) : String(r[c])}))))))
  );
  const labels = report.classes.map((c) => esc(String(c)));
  Plotly.react("confusion", [{type: "heatmap", z: report.confusion, x: labels, y: labels, colorscale: "Blues",
    text: report.confusion, texttemplate: "%{text}"}],
  layoutBase("Confusion matrix (test split)", {xaxis: {title: {text: "predicted"}}, yaxis: {title: {text: "true"}, autorange: "reversed"}}),
  {responsive: true});
  Plotly.react("roc", report.roc.map((r, i) => ({type: "scatter", mode: "lines", x: r.fpr, y: r.tpr,
    name: `${esc(String(r.label))} (AUC ${r.auc.toFixed(3)})`, line: {color: COLORS[i % COLORS.length]}})),
  layoutBase("ROC curves, one class against the rest", {xaxis: {title: {text: "false positive rate"}}, yaxis: {title: {text: "true positive rate"}}}),
  {responsive: true});
}

function drawTrial(trial) {
  const box = document.getElementById("trial-view");
  const metrics = Object.keys(trial.epochs).filter((k) => !["epoch", "seconds", "worker"].includes(k));
  const config = el("table", {}, ...Object.entries(trial.config).map(([k, v]) => el("tr", {}, el("th", {text: k}), el("td", {text: JSON.stringify(v)}))));
  const events = el("ul", {}, ...trial.events.map((e) => el("li", {text: `epoch ${e.epoch}: ${e.kind}${e.reason ? " — " + e.reason : ""}`})));
  box.replaceChildren(
    el("h2", {text: `Trial ${trial.trial_id}: ${trial.status}, ${trial.epochs} epochs, bracket ${bracketLabel(trial.bracket)}`}),
    el("div", {id: "trial-curves", class: "plot"}), el("h3", {text: "Configuration"}), config,
    el("h3", {text: "Decisions"}), events);
  const losses = metrics.filter((m) => m.includes("loss"));
  const rest = metrics.filter((m) => !m.includes("loss"));
  const traces = [...rest.map((m) => ({type: "scatter", mode: "lines+markers", name: esc(m), x: trial.epochs.epoch, y: trial.epochs[m]})),
    ...losses.map((m) => ({type: "scatter", mode: "lines+markers", name: esc(m), x: trial.epochs.epoch, y: trial.epochs[m], yaxis: "y2"}))];
  Plotly.react("trial-curves", traces, layoutBase("Every metric of this trial", {xaxis: {title: {text: unit()}},
    yaxis: {title: {text: "metric"}}, yaxis2: {title: {text: "loss"}, overlaying: "y", side: "right"}}), {responsive: true});
}

function drawComparison(cmp) {
  const box = document.getElementById("compare-view");
  const rows = cmp.table;
  const cols = ["method", "seed", "best_val_accuracy", "test_accuracy", "epochs", "wall_s"];
  box.replaceChildren(
    el("h2", {text: `Comparison: ${cmp.name}`}),
    el("p", {text: `${cmp.space} on ${cmp.dataset}, R=${cmp.max_epochs}, η=${cmp.eta}, budget ${cmp.budget} epochs per method and seed, seeds ${cmp.seeds.join(", ")}`}),
    el("table", {id: "compare-table"}, el("thead", {}, el("tr", {}, ...cols.map((c) => el("th", {text: c})))),
      el("tbody", {}, ...rows.map((r) => el("tr", {}, ...cols.map((c) => el("td", {text: typeof r[c] === "number" && !Number.isInteger(r[c]) ? r[c].toFixed(4) : String(r[c])})))))),
    el("div", {id: "compare-epochs", class: "plot"}), el("div", {id: "compare-time", class: "plot"}));
  const methods = Object.keys(cmp.curves);
  for (const [div, key, ykey, title] of [["compare-epochs", "epochs", "best", "Best so far against epochs spent (median over seeds)"],
    ["compare-time", "seconds", "best_by_time", "Best so far against wall time (median over seeds)"]]) {
    Plotly.react(div, methods.map((m, i) => ({type: "scatter", mode: "lines", name: esc(m), x: cmp.curves[m][key],
      y: cmp.curves[m][ykey], line: {shape: "hv", color: COLORS[i % COLORS.length]}})),
    layoutBase(title, {xaxis: {title: {text: key === "epochs" ? "epochs spent" : "seconds"}}, yaxis: {title: {text: "best validation accuracy"}}}),
    {responsive: true});
  }
}

// -- start ------------------------------------------------------------------------------------

function show(section) {
  for (const id of ["overview", "report-section", "trial-section", "compare-section"]) {
    document.getElementById(id).hidden = id !== section;
  }
}

async function start() {
  if (ROOT.dataset.compare) {
    show("compare-section");
    const cmp = EMBEDDED ? JSON.parse(EMBEDDED.textContent).comparison : await getJSON(`/api/comparisons/${encodeURIComponent(ROOT.dataset.compare)}`);
    drawComparison(cmp);
    return;
  }
  const embedded = EMBEDDED ? JSON.parse(EMBEDDED.textContent) : null;
  const t0 = performance.now();
  const first = window.hpoFirstDelta;  // asked for by the page's head, before plotly.js loaded
  absorb(embedded || (first ? await first.then((r) => { if (!r.ok) throw new Error(`delta: ${r.status}`); return r.json(); })
                            : await api("delta", {})));
  window.hpoTimings = {data_ms: performance.now() - t0};
  document.getElementById("color-by").onchange = (ev) => { S.colorBy = ev.target.value; drawOverview(); };
  document.getElementById("all-marks").onchange = () => { stale.add("curves"); drawStale(); };
  document.getElementById("filter").oninput = (ev) => { S.table.filter = ev.target.value; S.table.page = 0; drawTable(); };
  const route = () => {
    const hash = new URLSearchParams(location.hash.slice(1));
    const trialId = ROOT.dataset.trial || hash.get("trial");
    if (trialId) {
      show("trial-section");
      if (embedded) {
        const c = S.curves.get(Number(trialId)) || {x: [], y: []};
        const row = S.trials.get(Number(trialId)) || {config: {}, status: "?", epochs: 0, bracket: 0};
        drawTrial({...row, trial_id: trialId, epochs: {epoch: c.x, [S.study.metric]: c.y},
          events: S.events.filter((e) => e[0] === Number(trialId)).map(([, kind, epoch, reason]) => ({kind, epoch, reason}))});
      } else {
        api(`trials/${encodeURIComponent(trialId)}`).then(drawTrial);
      }
    } else if (location.hash === "#report") {
      show("report-section");
      if (embedded) drawReport(embedded.report); else api("report", {}).then(drawReport);
    } else {
      show("overview");
      const t1 = performance.now();
      drawOverview();
      window.hpoTimings.draw_ms = performance.now() - t1;
    }
  };
  for (const id of Object.keys(VIEWS)) observer.observe(document.getElementById(id));
  window.hpoDrawAll = drawEverything;
  window.onhashchange = route;
  if (embedded) {
    S.importance = embedded.importance;
  }
  route();
  if (!embedded) {
    // Importance is costly to compute and sits below the fold: asked for once the first
    // view is on screen, so that it never competes with it.
    requestAnimationFrame(() => setTimeout(() =>
      api("importance", {}).then((imp) => { S.importance = imp; stale.add("importance"); drawStale(); }).catch(() => {}), 0));
  }
  if (embedded) return;
  // One request at a time: the next poll is scheduled only when this one is absorbed, so
  // a slow answer can never be absorbed twice.
  let ticks = 0;
  let busy = false;
  const refresh = async () => {
    if (busy) return 0;
    busy = true;
    try {
      const t0 = performance.now();
      const delta = await api("delta", S.cursors);
      const t1 = performance.now();
      const fresh = absorb(delta);
      const t2 = performance.now();
      if (fresh) { drawOverview(); ticks += 1; }
      window.hpoRefreshTimings = {fetch_ms: t1 - t0, absorb_ms: t2 - t1, draw_ms: performance.now() - t2};
      if (fresh && ticks % 15 === 0) api("importance", {}).then((imp) => { S.importance = imp; stale.add("importance"); drawStale(); });
      document.getElementById("live").textContent = S.study.status === "running" ? "● live" : "";
      return fresh;
    } catch (err) {
      document.getElementById("live").textContent = "(connection lost, retrying)";
      return 0;
    } finally {
      busy = false;
    }
  };
  window.hpoRefresh = refresh;  // what the poll does, callable (and timed) from outside
  const poll = async () => {
    if (!document.getElementById("overview").hidden) await refresh();
    setTimeout(poll, REFRESH_MS);
  };
  setTimeout(poll, REFRESH_MS);
}

start();
