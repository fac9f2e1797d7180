// One panel card: title, CSV/PNG downloads, and its body drawn from the panel definition and its rows:
// ECharts for line, bar, pie, treemap, heatmap and funnel; HTML for key figures and tables.
/* global echarts */
import { api, columnFormat, columnLabel, download, el, valueLabel } from './common.js';

const STATE = { ok: 'ready', empty: 'empty', no_model_run: 'no-model', unavailable: 'unavailable', error: 'error' };
const charts = new Set();

export function disposeCharts() {
  for (const c of charts) c.dispose();
  charts.clear();
}
window.addEventListener('resize', () => { for (const c of charts) c.resize(); });

/** ctx: { lang, t, labels, format, query (URLSearchParams of the filters), customerHref(id) } */
export function renderPanel(panel, data, ctx) {
  const state = STATE[data.status] || 'error';
  const title = panel.title[ctx.lang] || panel.title.en;
  const isChart = !['kpi', 'table'].includes(panel.chart);
  const actions = el('div', { class: 'actions' },
    el('button', { type: 'button', class: 'dl', 'data-action': 'csv', title: ctx.t('downloadCsv'), onclick: () => downloadCsv(panel, ctx) }, ctx.t('csv')),
    isChart ? el('button', { type: 'button', class: 'dl', 'data-action': 'png', title: ctx.t('downloadPng'), disabled: state !== 'ready', onclick: () => downloadPng(panel, card) }, ctx.t('png')) : null,
  );
  const body = el('div', { class: `body body-${panel.chart}` });
  const card = el('article', { class: `panel w-${panel.width || 6}`, 'data-panel': panel.id, 'data-chart': panel.chart, 'data-state': state },
    el('header', {}, el('h2', { text: title }), actions),
    panel.description ? el('p', { class: 'desc', text: panel.description[ctx.lang] || panel.description.en }) : null,
    body,
  );
  if (state !== 'ready') {
    const msg = { empty: 'empty', 'no-model': 'noModelRun', unavailable: 'unavailable', error: 'error' }[state];
    body.append(el('p', { class: `note note-${state}`, text: ctx.t(msg), title: data.message || '' }));
    return card;
  }
  if (panel.chart === 'kpi') body.append(kpis(panel, data, ctx));
  else if (panel.chart === 'table') body.append(table(panel, data, ctx));
  else {
    const holder = el('div', { class: 'chart' });
    body.append(holder);
    // Drawn once the card is in the page, so ECharts measures its real size.
    card.draw = () => {
      const chart = echarts.init(holder, null, { renderer: 'canvas' });
      chart.setOption(option(panel, data, ctx));
      charts.add(chart);
      card.chart = chart;
    };
  }
  return card;
}

async function downloadCsv(panel, ctx) {
  const q = new URLSearchParams(ctx.query);
  q.set('format', 'csv');
  const blob = await api(`/v1/panels/${encodeURIComponent(panel.id)}/data?${q}`, { as: 'blob' });
  download(`${panel.id}.csv`, blob);
}

function downloadPng(panel, card) {
  if (!card.chart) return;
  download(`${panel.id}.png`, card.chart.getDataURL({ type: 'png', pixelRatio: 2, backgroundColor: '#fff' }));
}

// ---------- key figures ----------
function kpis(panel, data, ctx) {
  const nameCol = (panel.encode && panel.encode.name) || 'metric';
  const valueCol = (panel.encode && panel.encode.value) || 'value';
  return el('div', { class: 'kpis' }, data.rows.map((r) => {
    const metric = String(r[nameCol]);
    const fmt = columnFormat(panel, metric);
    const value = r[valueCol];
    const prev = r.previous;
    let delta = null;
    if (prev !== undefined && prev !== null && Number.isFinite(Number(value)) && Number(prev) !== 0 && Number.isFinite(Number(prev))) {
      const change = (Number(value) - Number(prev)) / Math.abs(Number(prev));
      const better = (panel.columns && panel.columns[metric] && panel.columns[metric].better) || 'higher';
      const good = better === 'lower' ? change < 0 : change > 0;
      delta = el('div', { class: `delta ${change === 0 ? 'flat' : good ? 'good' : 'bad'}`, title: `${ctx.t('previous')}: ${ctx.format(prev, fmt)}` },
        `${change > 0 ? '▲' : change < 0 ? '▼' : '='} ${ctx.format(Math.abs(change), 'percent')} `, el('span', { class: 'vs', text: ctx.t('vsPrevious') }));
    }
    return el('div', { class: 'kpi', 'data-metric': metric, 'data-value': value === null ? '' : String(value), 'data-previous': prev === undefined || prev === null ? '' : String(prev) },
      el('div', { class: 'kpi-label', text: columnLabel(panel, ctx.lang, metric) }),
      el('div', { class: 'kpi-value', text: ctx.format(value, fmt) }),
      delta);
  }));
}

// ---------- tables ----------
function table(panel, data, ctx) {
  const cols = data.columns;
  const link = panel.link && panel.link.column;
  return el('div', { class: 'table-wrap' }, el('table', {},
    el('thead', {}, el('tr', {}, cols.map((c) => el('th', { class: alignOf(panel, c), text: columnLabel(panel, ctx.lang, c) })))),
    el('tbody', {}, data.rows.map((r) => el('tr', {}, cols.map((c) => {
      const fmt = columnFormat(panel, c);
      const text = fmt === 'text' ? valueLabel(ctx.labels, ctx.lang, r[c] ?? '') : ctx.format(r[c], fmt);
      if (c === link && r[c]) return el('td', {}, el('a', { class: 'customer-link', href: ctx.customerHref(String(r[c])), text }));
      return el('td', { class: alignOf(panel, c), text, title: typeof r[c] === 'string' && r[c].length > 40 ? r[c] : undefined });
    })))),
  ));
}
const alignOf = (panel, c) => (['text', 'date', 'datetime'].includes(columnFormat(panel, c)) ? 'l' : 'r');

// ---------- charts ----------
const PALETTE = ['#3b6fd4', '#f08c2e', '#2ea66b', '#d64a4a', '#8a5cd6', '#1fa3b8', '#c7a21b', '#7a7f87', '#e26fa8', '#5b8c2a'];

function canonicalOrder(values, labels) {
  const uniq = [...new Set(values.map(String))];
  if (uniq.every((v) => /^-?\d+$/.test(v))) {
    // Integer categories (scores, month offsets): every step from the lowest to the highest, gaps included.
    const n = uniq.map(Number);
    const lo = Math.min(...n);
    const hi = Math.max(...n);
    if (hi - lo <= 60) return Array.from({ length: hi - lo + 1 }, (_, i) => String(lo + i));
    return uniq.sort((a, b) => Number(a) - Number(b));
  }
  if (uniq.every((v) => v !== '' && !Number.isNaN(Number(v)))) return uniq.sort((a, b) => Number(a) - Number(b));
  const known = Object.keys(labels || {});
  const rank = (v) => { const i = known.indexOf(v); return i < 0 ? known.length : i; };
  if (uniq.some((v) => known.includes(v))) return uniq.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return uniq;
}

function axisFormatter(ctx, fmt) {
  return (v) => {
    if (fmt === 'money') {
      const n = Number(v);
      return Math.abs(n) >= 1000 ? `${ctx.format(n / 1000, 'number')}k` : ctx.format(n, 'number');
    }
    return ctx.format(v, fmt === 'seconds' ? 'number' : fmt);
  };
}

/** x values and one or more series from wide (y columns) or long (series + value) rows. */
function seriesOf(panel, data, ctx) {
  const enc = panel.encode || {};
  const xCol = enc.x || data.columns[0];
  if (enc.series) {
    const xs = canonicalOrder(data.rows.map((r) => r[xCol]), enc.x === 'bucket' ? null : ctx.labels);
    const names = canonicalOrder(data.rows.map((r) => r[enc.series]), ctx.labels);
    const fmt = columnFormat(panel, enc.value);
    return { xCol, xs, series: names.map((n) => ({
      key: n, name: valueLabel(ctx.labels, ctx.lang, n), fmt, previous: false,
      values: xs.map((x) => { const r = data.rows.find((row) => String(row[xCol]) === x && String(row[enc.series]) === n); return r ? r[enc.value] : 0; }),
    })) };
  }
  const ys = enc.y || data.columns.filter((c) => c !== xCol);
  const xs = data.rows.map((r) => String(r[xCol]));
  return { xCol, xs, series: ys.map((y) => ({
    key: y, name: columnLabel(panel, ctx.lang, y), fmt: columnFormat(panel, y), previous: !!(panel.columns && panel.columns[y] && panel.columns[y].previous),
    values: data.rows.map((r) => r[y]),
  })) };
}

function option(panel, data, ctx) {
  const base = { color: PALETTE, animation: false, textStyle: { fontFamily: 'inherit' } };
  const enc = panel.encode || {};
  switch (panel.chart) {
    case 'line':
    case 'bar': {
      const { xCol, xs, series } = seriesOf(panel, data, ctx);
      const fmts = [...new Set(series.map((s) => s.fmt))];
      const horizontal = !!enc.horizontal;
      const xFmt = columnFormat(panel, xCol);
      const category = {
        type: 'category', data: xs,
        axisLabel: {
          hideOverlap: true, interval: xs.length <= 12 ? 0 : 'auto',
          // Long labels (reject reasons) are cut; the tooltip shows them whole.
          ...(horizontal ? { width: 150, overflow: 'truncate' } : {}),
          formatter: (v) => (xFmt === 'text' ? valueLabel(ctx.labels, ctx.lang, v) : ctx.format(v, xFmt)),
        },
      };
      const values = fmts.slice(0, 2).map((f, i) => ({ type: 'value', axisLabel: { formatter: axisFormatter(ctx, f), hideOverlap: true }, splitLine: { show: i === 0 }, ...(horizontal ? { splitNumber: 3 } : {}) }));
      return {
        ...base,
        grid: { left: 8, right: fmts.length > 1 ? 8 : 16, top: 36, bottom: 8, containLabel: true },
        legend: { top: 0, type: 'scroll' },
        tooltip: { trigger: 'axis', valueFormatter: undefined, formatter: (items) => tooltipAxis(items, series, ctx, xFmt) },
        xAxis: horizontal ? values : category,
        yAxis: horizontal ? { ...category, inverse: true } : values,
        series: series.map((s) => ({
          name: s.name,
          type: panel.chart,
          data: s.values.map((v) => (v === null ? null : Number(v))),
          [horizontal ? 'xAxisIndex' : 'yAxisIndex']: Math.min(1, fmts.indexOf(s.fmt)),
          stack: enc.stack ? 'total' : undefined,
          showSymbol: xs.length <= 45,
          smooth: false,
          lineStyle: s.previous ? { type: 'dashed', width: 1.5 } : undefined,
          itemStyle: s.previous ? { opacity: panel.chart === 'bar' ? 0.45 : 1 } : undefined,
          barMaxWidth: 42,
        })),
      };
    }
    case 'pie': {
      const name = enc.name || data.columns[0];
      const value = enc.value || data.columns[1];
      const fmt = columnFormat(panel, value);
      return {
        ...base,
        legend: { type: 'scroll', orient: 'vertical', right: 0, top: 'middle' },
        tooltip: { trigger: 'item', formatter: (p) => `${esc(p.name)}<br>${esc(ctx.format(p.value, fmt))} (${esc(ctx.format(p.percent / 100, 'percent'))})` },
        series: [{ type: 'pie', radius: ['38%', '70%'], center: ['40%', '52%'], label: { formatter: '{b}: {d}%' },
          data: data.rows.map((r) => ({ name: valueLabel(ctx.labels, ctx.lang, r[name]), value: Number(r[value]) })) }],
      };
    }
    case 'treemap': {
      const name = enc.name || data.columns[0];
      const value = enc.value || data.columns[1];
      return {
        ...base,
        tooltip: { formatter: (p) => [esc(p.name), ...data.columns.filter((c) => c !== name).map((c) => `${esc(columnLabel(panel, ctx.lang, c))}: ${esc(ctx.format(p.data.row[c], columnFormat(panel, c)))}`)].join('<br>') },
        series: [{
          type: 'treemap', roam: false, nodeClick: false, breadcrumb: { show: false }, width: '100%', height: '100%', top: 0, left: 0,
          label: { formatter: (p) => `${p.name}\n${ctx.format(p.value, columnFormat(panel, value))}` },
          levels: [{ itemStyle: { gapWidth: 2, borderColor: '#fff' } }],
          data: data.rows.map((r) => ({ name: valueLabel(ctx.labels, ctx.lang, r[name]), value: Number(r[value]), row: r })),
        }],
      };
    }
    case 'heatmap': {
      const xCol = enc.x || data.columns[0];
      const yCol = enc.yCategory || data.columns[1];
      const vCol = enc.value || data.columns[2];
      const fmt = columnFormat(panel, vCol);
      const xs = canonicalOrder(data.rows.map((r) => r[xCol]), ctx.labels);
      const ys = canonicalOrder(data.rows.map((r) => r[yCol]), ctx.labels);
      const vals = data.rows.map((r) => Number(r[vCol]));
      const cells = data.rows.map((r) => [xs.indexOf(String(r[xCol])), ys.indexOf(String(r[yCol])), Number(r[vCol]), r]);
      const lbl = (v) => valueLabel(ctx.labels, ctx.lang, v);
      return {
        ...base,
        grid: { left: 8, right: 16, top: 28, bottom: 44, containLabel: true },
        tooltip: { formatter: (p) => [`${esc(columnLabel(panel, ctx.lang, xCol))}: ${esc(lbl(xs[p.data[0]]))}`, `${esc(columnLabel(panel, ctx.lang, yCol))}: ${esc(lbl(ys[p.data[1]]))}`,
          ...data.columns.filter((c) => c !== xCol && c !== yCol).map((c) => `${esc(columnLabel(panel, ctx.lang, c))}: ${esc(ctx.format(p.data[3][c], columnFormat(panel, c)))}`)].join('<br>') },
        xAxis: { type: 'category', data: xs, name: columnLabel(panel, ctx.lang, xCol), nameLocation: 'middle', nameGap: 26, axisLabel: { formatter: lbl, interval: 0, hideOverlap: true }, splitArea: { show: true } },
        yAxis: { type: 'category', data: ys, inverse: !!enc.yInverse, name: columnLabel(panel, ctx.lang, yCol), nameLocation: enc.yInverse ? 'start' : 'end', nameTextStyle: { align: 'left' }, axisLabel: { formatter: lbl }, splitArea: { show: true } },
        // dimension 2: the value (each cell also carries its row for the tooltip).
        visualMap: { dimension: 2, min: Math.min(0, ...vals), max: Math.max(1e-9, ...vals), show: false, inRange: { color: ['#f1f5fc', '#a9c1ef', '#5585dd'] } },
        series: [{ type: 'heatmap', data: cells, itemStyle: { borderColor: '#fff', borderWidth: 1 }, label: { show: xs.length * ys.length <= 160, formatter: (p) => ctx.format(p.data[2], fmt), fontSize: 11, color: '#1d2733' } }],
      };
    }
    case 'funnel': {
      const name = enc.name || data.columns[0];
      const value = enc.value || data.columns[1];
      const fmt = columnFormat(panel, value);
      return {
        ...base,
        tooltip: { trigger: 'item', formatter: (p) => [esc(p.name), ...data.columns.filter((c) => c !== name).map((c) => `${esc(columnLabel(panel, ctx.lang, c))}: ${esc(ctx.format(p.data.row[c], columnFormat(panel, c)))}`)].join('<br>') },
        series: [{
          type: 'funnel', sort: 'none', gap: 3, left: '4%', width: '92%', top: 8, bottom: 8, minSize: '12%',
          label: { position: 'inside', formatter: (p) => `${p.name}\n${ctx.format(p.value, fmt)}${p.data.row.rate_from_start !== undefined ? ` · ${ctx.format(p.data.row.rate_from_start, 'percent')}` : ''}` },
          data: data.rows.map((r) => ({ name: valueLabel(ctx.labels, ctx.lang, r[name]), value: Number(r[value]), row: r })),
        }],
      };
    }
    default:
      return base;
  }
}

function tooltipAxis(items, series, ctx, xFmt) {
  const list = Array.isArray(items) ? items : [items];
  if (!list.length) return '';
  const head = xFmt === 'text' ? valueLabel(ctx.labels, ctx.lang, list[0].name) : ctx.format(list[0].name, xFmt);
  return [esc(head), ...list.map((it) => `${it.marker}${esc(it.seriesName)}: ${esc(ctx.format(it.value, series[it.seriesIndex] ? series[it.seriesIndex].fmt : 'number'))}`)].join('<br>');
}

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}
