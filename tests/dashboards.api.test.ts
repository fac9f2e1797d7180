// The dashboards data API on a small demo shop in real chDB: roles, the overview's figures against SQL
// written here directly on `events`, filters, CSV, "no model run yet", the sessions fallback, and the
// Grafana export's SQL giving the same rows as the API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, FIXTURE_NOW, testRuntime } from './helpers/runtime.ts';
import { waitForDrain, type Runtime } from '../bin/runtime.ts';
import { loadDemoStore, type DemoStoreReport } from '../storefront/demo/dashboards-store.ts';
import { loadRegistry } from '../dashboards/panel-registry.ts';
import { resolveFilters } from '../dashboards/filters.ts';
import { readOnly } from '../dashboards/panel-data.ts';
import { ALL, grafanaDashboards } from '../dashboards/grafana-export.ts';

let rt: Runtime;
let report: DemoStoreReport;
let analyst = '';
let storefront = '';
const reg = loadRegistry();
const auth = (key: string) => ({ authorization: `Bearer ${key}` });

interface Kpi { metric: string; value: number | null; previous: number | null }

async function get(url: string, key = analyst) {
  return rt.app!.inject({ url, headers: auth(key) });
}

async function kpis(query = ''): Promise<Record<string, Kpi>> {
  const res = await get(`/v1/panels/overview-kpis/data${query}`);
  expect(res.statusCode).toBe(200);
  return Object.fromEntries((res.json().rows as Kpi[]).map((r) => [r.metric, r]));
}

/** The overview's figures for one period, computed here from `events` only (no panel SQL, no views). */
async function independentOverview(from: string, to: string, country = '') {
  const ch = rt.deps.ch;
  const inRange = `toDate(ts) BETWEEN {from:Date} AND {to:Date} AND ({country:String} = '' OR country = {country:String})`;
  const [money] = await ch.rows<{ revenue: number; orders: number; refunds: number }>(
    `SELECT
       (SELECT sum(amount_base) FROM events FINAL WHERE type = 'purchase' AND is_bot = 0 AND ${inRange}) AS revenue,
       (SELECT toFloat64(uniqExact(order_id)) FROM events FINAL WHERE type = 'purchase' AND is_bot = 0 AND ${inRange}) AS orders,
       (SELECT sum(amount_base) FROM events FINAL WHERE type = 'refund' AND is_bot = 0 AND ${inRange}) AS refunds`,
    { from, to, country },
    {},
  );
  // Per customer: first order ever, orders up to `to`, and whether they bought in the period (and country).
  const people = await ch.rows<{ customer_id: string; first_day: string; orders_to: number; bought: number }>(
    `SELECT customer_id, toString(toDate(min(ts))) AS first_day,
            toFloat64(uniqExactIf(order_id, toDate(ts) <= {to:Date})) AS orders_to,
            toFloat64(countIf(${inRange}) > 0) AS bought
     FROM events FINAL
     WHERE type = 'purchase' AND is_bot = 0 AND customer_id != '' AND toDate(ts) <= {to:Date}
     GROUP BY customer_id`,
    { from, to, country },
    {},
  );
  const buyers = people.filter((p) => Number(p.bought) === 1);
  const fresh = buyers.filter((p) => p.first_day >= from);
  return {
    revenue: money!.revenue,
    orders: money!.orders,
    aov: money!.revenue / money!.orders,
    refunds: money!.refunds,
    active_customers: buyers.length,
    new_customers: fresh.length,
    returning_customers: buyers.length - fresh.length,
    repeat_rate: buyers.filter((p) => p.orders_to >= 2).length / buyers.length,
  };
}

function expectFigures(got: Record<string, Kpi>, want: Record<string, number>, which: 'value' | 'previous') {
  for (const [metric, v] of Object.entries(want)) {
    if (['orders', 'active_customers', 'new_customers', 'returning_customers'].includes(metric)) expect(got[metric]![which], `${metric} ${which}`).toBe(v);
    else expect(got[metric]![which], `${metric} ${which}`).toBeCloseTo(v, 6);
  }
}

beforeAll(async () => {
  rt = await testRuntime();
  report = await loadDemoStore(rt, { customers: 300, days: 120 }, { waitForDrain: (ms) => waitForDrain(rt, ms) });
  for (const role of ['analyst', 'storefront'] as const) {
    const res = await rt.app!.inject({ method: 'POST', url: '/v1/admin/keys', headers: auth(ADMIN), payload: { role, name: `dashboards ${role}` } });
    expect(res.statusCode).toBe(201);
    if (role === 'analyst') analyst = res.json().key;
    else storefront = res.json().key;
  }
}, 240_000);

afterAll(async () => {
  await rt?.close();
});

describe('access', () => {
  it('needs a key with the analyst role (admin also works); the page itself is public', async () => {
    expect((await get('/v1/dashboards', '')).statusCode).toBe(401);
    expect((await get('/v1/dashboards/overview', storefront)).statusCode).toBe(403);
    expect((await get('/v1/panels/overview-kpis/data', storefront)).statusCode).toBe(403);
    expect((await get('/v1/dashboards', analyst)).statusCode).toBe(200);
    expect((await get('/v1/dashboards', ADMIN)).statusCode).toBe(200);
    const page = await rt.app!.inject({ url: '/dashboards' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    const echarts = await rt.app!.inject({ url: '/dashboards/assets/echarts.min.js', headers: { 'accept-encoding': 'gzip' } });
    expect(echarts.statusCode).toBe(200);
    expect(echarts.headers['content-encoding']).toBe('gzip');
    expect((await rt.app!.inject({ url: '/dashboards/assets/../../package.json' })).statusCode).toBe(404);
  });
});

describe('dashboards', () => {
  it('lists the dashboards with their panels, the labels and the filter choices', async () => {
    const body = (await get('/v1/dashboards')).json();
    expect(body.base_currency).toBe('USD');
    expect(body.dashboards.map((d: { id: string }) => d.id)).toEqual(reg.dashboards.map((d) => d.id));
    expect(body.filters.countries).toEqual(['AU', 'CA', 'CN', 'DE', 'FR', 'GB', 'JP', 'US']);
    expect(body.filters.segments.length).toBeGreaterThan(3);
    expect(body.labels.Champions['zh-CN']).toBe('冠军客户');
  });

  it('every panel of every dashboard has data on the demo shop, model panels included', async () => {
    // The demo store runs RFM a month back, then every model; each of them must succeed on this shop.
    expect(report.runs.map((r) => `${r.model}:${r.status}${r.error ? ` (${r.error})` : ''}`)).toEqual(['rfm:ok', 'rfm:ok', 'clv:ok', 'churn:ok', 'recs:ok']);
    for (const d of reg.dashboards.filter((x) => !x.hidden)) {
      const res = await get(`/v1/dashboards/${d.id}`);
      expect(res.statusCode, d.id).toBe(200);
      for (const p of res.json().panels as Array<{ id: string; model?: string; data: { status: string; rows: unknown[] } }>) {
        expect(p.data.status, p.id).toBe('ok');
        expect(p.data.rows.length, p.id).toBeGreaterThan(0);
      }
    }
  });

  it('the CLV and churn panels show what the model runs on the seeded demo shop produce', async () => {
    // Seeded history on a stopped clock: the same shop, so the same fits, every run.
    const clvRun = report.runs.find((r) => r.model === 'clv')!;
    const churnRun = report.runs.find((r) => r.model === 'churn')!;
    // 277 customers bought; CLV scores 271 of them: 6 bought once and had that order refunded in full,
    // which sql/clv/summary.sql does not count as a purchase.
    expect(clvRun.metrics.customers).toBe(271);
    expect(churnRun.metrics.customers).toBe(277);
    // Enough labelled customers for the logistic model to win the churn backtest.
    expect(churnRun.metrics.chosen_model).toBe('logistic');

    type Band = { band: string; customers: number; total_clv?: number; revenue_at_risk?: number };
    const clvBands = (await get('/v1/panels/customers-clv-distribution/data')).json() as { status: string; rows: Band[] };
    expect(clvBands.status).toBe('ok');
    expect(clvBands.rows.reduce((n, b) => n + b.customers, 0)).toBe(271);
    expect(Object.fromEntries(clvBands.rows.map((b) => [b.band, b.customers]))).toEqual({ '0–25': 1, '25–50': 2, '50–100': 10, '100–200': 177, '200–400': 65, '400–800': 14, '800–1600': 1, '1600+': 1 });
    const totalClv = clvBands.rows.reduce((n, b) => n + b.total_clv!, 0);
    expect(totalClv).toBeGreaterThan(54_100);
    expect(totalClv).toBeLessThan(54_250);

    const top = (await get('/v1/panels/customers-top-clv/data')).json() as { rows: Array<{ customer_id: string; clv: number; p_alive: number; segment: string }> };
    expect(top.rows).toHaveLength(25);
    expect(top.rows[0]).toMatchObject({ customer_id: 'C00107', segment: 'Champions' });
    expect(top.rows[0]!.clv).toBeCloseTo(1959.5, 0);
    expect(top.rows.map((r) => r.clv)).toEqual([...top.rows.map((r) => r.clv)].sort((a, b) => b - a));

    const churnBands = (await get('/v1/panels/customers-churn-risk/data')).json() as { status: string; rows: Band[] };
    expect(churnBands.status).toBe('ok');
    expect(churnBands.rows.map((b) => b.customers)).toEqual([57, 15, 21, 30, 23, 23, 29, 28, 23, 28]);
    // Revenue at risk grows with the risk band: the riskiest tenth holds the most.
    const atRisk = churnBands.rows.map((b) => b.revenue_at_risk!);
    expect(Math.max(...atRisk)).toBe(atRisk[9]);
    expect(atRisk[9]).toBeCloseTo(7282.13, 0);
    const [mean] = await rt.deps.ch.rows<{ risk: number }>(`SELECT avg(churn_risk) AS risk FROM churn_scores WHERE run_id = {run:String}`, { run: churnRun.runId });
    expect(mean!.risk).toBeCloseTo(0.465, 2);
  });

  it('answers 404 for an unknown dashboard or panel and 400 for a bad filter, naming the field', async () => {
    expect((await get('/v1/dashboards/nope')).statusCode).toBe(404);
    expect((await get('/v1/panels/nope/data')).statusCode).toBe(404);
    const bad = await get('/v1/panels/overview-kpis/data?from=2026-02-31');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().field).toBe('querystring.from');
    expect((await get('/v1/panels/overview-kpis/data?grain=month')).statusCode).toBe(400);
  });
});

describe('overview figures', () => {
  it('equal SQL computed independently on events, for the period and the previous one', async () => {
    const f = resolveFilters({}, FIXTURE_NOW);
    const got = await kpis();
    expectFigures(got, await independentOverview(f.from, f.to), 'value');
    const span = (Date.parse(f.to) - Date.parse(f.from)) / 86_400_000 + 1;
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    expectFigures(got, await independentOverview(day(Date.parse(f.from) - span * 86_400_000), day(Date.parse(f.from) - 86_400_000)), 'previous');
    expect(got.revenue!.value).toBeGreaterThan(0);
  });

  it('a country filter changes the figures, and they still equal the independent SQL', async () => {
    const f = resolveFilters({ from: resolveFilters({}, FIXTURE_NOW).from, country: 'GB' }, FIXTURE_NOW);
    const all = await kpis();
    const gb = await kpis(`?country=gb&from=${f.from}`);
    expect(gb.revenue!.value).toBeLessThan(all.revenue!.value!);
    expectFigures(gb, await independentOverview(f.from, f.to, 'GB'), 'value');
  });

  it('a longer range by week sums to the same revenue as by day', async () => {
    const to = resolveFilters({}, FIXTURE_NOW).to;
    const q = `from=${new Date(Date.parse(to) - 59 * 86_400_000).toISOString().slice(0, 10)}&to=${to}`;
    const byDay = (await get(`/v1/panels/overview-revenue-trend/data?${q}`)).json().rows as Array<{ revenue: number }>;
    const byWeek = (await get(`/v1/panels/overview-revenue-trend/data?${q}&grain=week`)).json().rows as Array<{ revenue: number }>;
    const total = (rows: Array<{ revenue: number }>) => rows.reduce((s, r) => s + r.revenue, 0);
    expect(byWeek.length).toBeLessThan(byDay.length);
    expect(total(byWeek)).toBeCloseTo(total(byDay), 1);
  });

  it('a segment filter keeps only that segment’s customers', async () => {
    const all = await kpis();
    const champions = await kpis('?segment=Champions');
    expect(champions.active_customers!.value).toBeGreaterThan(0);
    expect(champions.active_customers!.value).toBeLessThan(all.active_customers!.value!);
  });
});

describe('downloads', () => {
  it('serves a panel as CSV with the same columns and rows as its JSON', async () => {
    const json = (await get('/v1/panels/overview-by-country/data?country=')).json();
    const res = await get('/v1/panels/overview-by-country/data?format=csv');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers['content-disposition']).toMatch(/attachment; filename="overview-by-country_.*\.csv"/);
    const lines = res.body.trim().split('\r\n');
    expect(lines[0]).toBe(json.columns.join(','));
    expect(lines.length - 1).toBe(json.rows.length);
    expect(lines[1]!.split(',')[0]).toBe(json.rows[0].country);
  });
});

describe('sessions', () => {
  it('the sessions view and the fallback from events give the same statistics', async () => {
    const panel = reg.panels.find((p) => p.id === 'behaviour-sessions')!;
    const f = resolveFilters({}, FIXTURE_NOW);
    const params = { from: f.from, to: f.to, country: '', segment: '' };
    const primary = await rt.deps.ch.rows<Kpi>(readOnly(reg.sqlOf(panel)), params);
    const fallback = await rt.deps.ch.rows<Kpi>(readOnly(reg.sqlOf(panel, 'fallback_sql')), params);
    expect(primary.length).toBe(6);
    for (const [i, row] of primary.entries()) {
      const other = fallback[i]!;
      expect(other.metric).toBe(row.metric);
      expect(other.value).toBeCloseTo(row.value!, 6);
    }
  });
});

describe('Grafana export', () => {
  it('runs in ClickHouse with the macros and variables filled in as Grafana does, giving the API’s rows', async () => {
    const f = resolveFilters({ country: 'DE', grain: 'week' }, FIXTURE_NOW);
    const grafanaFill = (sqlText: string, country: string) =>
      sqlText
        .replaceAll('$__fromTime', `toDateTime('${f.from} 00:00:00')`)
        .replaceAll('$__toTime', `toDateTime('${f.to} 23:59:59')`)
        .replaceAll('${country:sqlstring}', `'${country}'`)
        .replaceAll('${segment:sqlstring}', `'${ALL}'`)
        .replaceAll('${grain:sqlstring}', `'${f.grain}'`);
    let checked = 0;
    for (const { dashboard } of grafanaDashboards(reg)) {
      const panels = (dashboard as { panels: Array<{ title: string; targets: Array<{ rawSql: string }> }> }).panels;
      for (const gp of panels) {
        const panel = reg.panels.find((p) => p.title.en === gp.title && p.sql)!;
        const api = (await get(`/v1/panels/${panel.id}/data?from=${f.from}&to=${f.to}&country=DE&grain=week`)).json();
        if (api.status === 'no_model_run') continue;
        const rows = await rt.deps.ch.rows(readOnly(grafanaFill(gp.targets[0]!.rawSql, 'DE')));
        if (panel.id === 'pipeline-status') continue; // its "last minute" figures move between the two reads
        expect(rows, panel.id).toEqual(api.rows);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(15);
    // '(all)' is "all countries".
    const kpiSql = grafanaDashboards(reg)[0]!.dashboard as { panels: Array<{ targets: Array<{ rawSql: string }> }> };
    const allRows = await rt.deps.ch.rows<Kpi>(readOnly(grafanaFill(kpiSql.panels[0]!.targets[0]!.rawSql, ALL)));
    const api = await kpis(`?from=${f.from}&to=${f.to}`);
    expect(allRows.find((r) => r.metric === 'revenue')!.value).toBeCloseTo(api.revenue!.value!, 6);
  });
});

describe('missing model outputs', () => {
  // Last: these drop objects from the store.
  it('a model table that does not exist yet shows "no model run yet"; without the sessions view the fallback is used', async () => {
    await rt.deps.ch.exec('DROP VIEW IF EXISTS customer_features');
    await rt.deps.ch.exec('DROP TABLE IF EXISTS churn_scores');
    await rt.deps.ch.exec('DROP VIEW IF EXISTS sessions');
    const customers = (await get('/v1/dashboards/customers')).json();
    const churn = customers.panels.find((p: { id: string }) => p.id === 'customers-churn-risk');
    // churn ran, so this is the missing table speaking, not a missing run.
    expect(report.runs.some((r) => r.model === 'churn' && r.status === 'ok')).toBe(true);
    expect(churn.data.status).toBe('no_model_run');
    expect(churn.data.message).toMatch(/no model run yet/);
    expect(customers.panels.find((p: { id: string }) => p.id === 'customers-rfm-segments').data.status).toBe('ok');
    const sessions = (await get('/v1/panels/behaviour-sessions/data')).json();
    expect(sessions.status).toBe('ok');
    expect(sessions.rows.find((r: Kpi) => r.metric === 'sessions').value).toBeGreaterThan(0);
  });
});
