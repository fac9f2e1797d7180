// The dashboard definitions as files: every shipped panel loads and matches its SQL, broken panel files are
// reported (not served), filters parse, CSV is safe, and the Grafana export is complete and up to date.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DASHBOARDS_DIR, identifierValues, loadRegistry, sqlParams } from '../dashboards/panel-registry.ts';
import { FilterError, resolveFilters } from '../dashboards/filters.ts';
import { toCsv } from '../lib/csv.ts';
import { ALL, GRAFANA_DATASOURCE, grafanaDashboards, toGrafanaSql } from '../dashboards/grafana-export.ts';
import { RFM_SEGMENTS } from '../models/rfm/segments.ts';

const reg = loadRegistry();
const CJK = /[\u4e00-\u9fff]/;

describe('panel files', () => {
  it('every shipped panel file is valid and agrees with its SQL', () => {
    expect(reg.problems).toEqual([]);
    expect(reg.panels.length).toBe(fs.readdirSync(path.join(DASHBOARDS_DIR, 'panels')).filter((f) => f.endsWith('.json')).length);
  });

  it('every visible dashboard has panels, and each panel speaks English and Chinese', () => {
    for (const d of reg.dashboards) {
      expect(reg.panels.filter((p) => p.dashboard === d.id).length, d.id).toBeGreaterThan(0);
      expect(d.title['zh-CN']).toMatch(CJK);
    }
    for (const p of reg.panels) {
      expect(p.title['zh-CN'], p.id).toMatch(CJK);
      for (const [col, c] of Object.entries(p.columns ?? {})) expect(c['zh-CN'], `${p.id}.${col}`).toMatch(CJK);
    }
    // The five dashboards, in order.
    expect(reg.dashboards.filter((d) => !d.hidden).map((d) => d.id)).toEqual(['overview', 'customers', 'behaviour', 'recommendations', 'pipeline']);
  });

  it('labels.json translates every RFM segment name', () => {
    for (const s of RFM_SEGMENTS) expect(reg.labels[s]?.['zh-CN'], s).toMatch(CJK);
  });

  it('finds the {name:Type} parameters of a SQL text, leaving comments out', () => {
    const p = sqlParams("-- uses {ignored:Int8}\nSELECT {from:Date}, {country:String} WHERE x = {from:Date}");
    expect([...p.entries()]).toEqual([['from', 'Date'], ['country', 'String']]);
  });

  it('reports a broken panel file with the reason and still serves the others', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cvm-panels-'));
    fs.cpSync(DASHBOARDS_DIR, dir, { recursive: true, filter: (src) => !src.includes(`${path.sep}ui`) });
    const write = (name: string, v: unknown) => fs.writeFileSync(path.join(dir, 'panels', name), typeof v === 'string' ? v : JSON.stringify(v));
    const good = JSON.parse(fs.readFileSync(path.join(dir, 'panels', 'overview-kpis.json'), 'utf8'));
    write('zz-not-json.json', '{ nope');
    write('zz-missing-param.json', { ...good, id: 'zz-missing-param', params: ['from', 'to', 'country'] });
    write('zz-wrong-type.json', { ...good, id: 'zz-wrong-type', sql: 'zz-wrong-type' });
    write('zz-no-sql.json', { ...good, id: 'zz-no-sql', sql: 'does-not-exist' });
    write('zz-bad-chart.json', { ...good, id: 'zz-bad-chart', chart: 'radar' });
    const sqlFiles: Record<string, string> = { 'zz-wrong-type': 'SELECT {from:String}, {to:Date}, {country:String}, {segment:String}' };
    const r = loadRegistry({ dir, readSql: (n) => sqlFiles[n] ?? fs.readFileSync(path.join(DASHBOARDS_DIR, '..', 'sql', 'dashboards', `${n}.sql`), 'utf8') });
    const problems = r.problems.join('\n');
    expect(problems).toMatch(/zz-not-json\.json: not valid JSON/);
    expect(problems).toMatch(/zz-missing-param\.json: .*uses \{segment:String\} but "params" does not list 'segment'/);
    expect(problems).toMatch(/zz-wrong-type\.json: .*declares \{from:String\}; it must be \{from:Date\}/);
    expect(problems).toMatch(/zz-no-sql\.json: sql\/dashboards\/does-not-exist\.sql does not exist/);
    expect(problems).toMatch(/zz-bad-chart\.json: \/chart/);
    expect(r.panels.length).toBe(reg.panels.length);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('one funnel SQL serves the by-country and by-device panels, each naming its column from the allow-list', () => {
    const funnels = reg.panels.filter((p) => p.sql === 'behaviour-funnel-by-dimension');
    expect(funnels.map((p) => [p.id, identifierValues(p)])).toEqual([
      ['behaviour-funnel-by-device', { dim: 'device' }],
      ['behaviour-funnel-by-country', { dim: 'country' }],
    ]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cvm-panels-'));
    fs.cpSync(DASHBOARDS_DIR, dir, { recursive: true, filter: (src) => !src.includes(`${path.sep}ui`) });
    const good = JSON.parse(fs.readFileSync(path.join(dir, 'panels', 'behaviour-funnel-by-device.json'), 'utf8'));
    const write = (name: string, v: unknown) => fs.writeFileSync(path.join(dir, 'panels', name), JSON.stringify(v));
    write('zz-column-not-allowed.json', { ...good, id: 'zz-column-not-allowed', identifiers: { dim: 'email' } });
    write('zz-no-identifier.json', { ...good, id: 'zz-no-identifier', identifiers: undefined });
    write('zz-unused-identifier.json', { ...JSON.parse(fs.readFileSync(path.join(dir, 'panels', 'overview-kpis.json'), 'utf8')), id: 'zz-unused-identifier', identifiers: { dim: 'device' } });
    const r = loadRegistry({ dir });
    const problems = r.problems.join('\n');
    expect(problems).toMatch(/zz-column-not-allowed\.json: \/identifiers\/dim/);
    expect(problems).toMatch(/zz-no-identifier\.json: .*uses \{dim:Identifier\} but "identifiers" does not set 'dim' \(one of country, device\)/);
    expect(problems).toMatch(/zz-unused-identifier\.json: "identifiers" sets 'dim' but overview-kpis\.sql does not use \{dim:Identifier\}/);
    expect(r.panels.length).toBe(reg.panels.length);
    fs.rmSync(dir, { recursive: true, force: true });
    // Checked again where it is used, whatever the panel object says.
    expect(() => identifierValues({ ...good, identifiers: { dim: 'email; DROP TABLE events' } })).toThrow(/not one of country, device/);
  });
});

describe('filters', () => {
  const now = Date.parse('2026-03-15T10:00:00Z');
  it('defaults to the last 30 days up to today (UTC), all countries and segments, by day', () => {
    expect(resolveFilters({}, now)).toEqual({ from: '2026-02-14', to: '2026-03-15', country: '', segment: '', grain: 'day', customer: '' });
  });
  it('takes a range, a country (upper-cased), a segment and a week grain', () => {
    expect(resolveFilters({ from: '2026-01-01', to: '2026-01-31', country: 'us', segment: 'At Risk', grain: 'week' }, now)).toMatchObject({ from: '2026-01-01', to: '2026-01-31', country: 'US', segment: 'At Risk', grain: 'week' });
  });
  it('refuses impossible dates, reversed or huge ranges and malformed countries, naming the field', () => {
    const field = (q: Parameters<typeof resolveFilters>[0]) => {
      try {
        resolveFilters(q, now);
        return null;
      } catch (err) {
        return err instanceof FilterError ? err.field : 'other';
      }
    };
    expect(field({ from: '2026-02-30' })).toBe('from');
    expect(field({ to: '15/03/2026' })).toBe('to');
    expect(field({ from: '2026-03-10', to: '2026-03-01' })).toBe('from');
    expect(field({ from: '2020-01-01', to: '2026-01-01' })).toBe('from');
    expect(field({ country: 'USA' })).toBe('country');
    expect(field({ grain: 'month' })).toBe('grain');
  });
});

describe('CSV', () => {
  it('quotes separators and quotes, and defuses spreadsheet formulas', () => {
    const csv = toCsv(['a', 'b', 'c'], [{ a: 'x,y', b: 'say "hi"', c: -1.5 }, { a: '=HYPERLINK("http://evil")', b: null, c: NaN }, { a: ['p1', 'p2'], b: '@SUM(A1)', c: 0 }]);
    expect(csv).toBe('a,b,c\r\n"x,y","say ""hi""",-1.5\r\n"\'=HYPERLINK(""http://evil"")",,\r\n"[""p1"",""p2""]",\'@SUM(A1),0\r\n');
  });
});

describe('Grafana export', () => {
  const exported = grafanaDashboards(reg);

  it('exports every visible dashboard and each of its SQL panels, on the provisioned data source', () => {
    expect(exported.map((e) => e.file)).toEqual(reg.dashboards.filter((d) => !d.hidden).map((d) => `cvm-${d.id}.json`));
    const provisioning = fs.readFileSync(path.join(DASHBOARDS_DIR, '..', 'deploy', 'grafana', 'provisioning', 'datasources', 'clickhouse.yaml'), 'utf8');
    expect(provisioning).toContain(`uid: ${GRAFANA_DATASOURCE.uid}`);
    expect(provisioning).toContain(`type: ${GRAFANA_DATASOURCE.type}`);
    for (const { dashboard } of exported) {
      const d = dashboard as { uid: string; panels: Array<{ title: string; type: string; gridPos: { x: number; w: number }; targets: Array<{ rawSql: string; datasource: unknown }> }>; templating: { list: Array<{ name: string }> } };
      const id = d.uid.replace(/^cvm-/, '');
      const expected = reg.panels.filter((p) => p.dashboard === id && p.sql);
      expect(d.panels.map((p) => p.title)).toEqual(expected.map((p) => p.title.en));
      const vars = new Set(d.templating.list.map((v) => v.name));
      for (const p of d.panels) {
        expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
        expect(p.targets[0]!.datasource).toEqual(GRAFANA_DATASOURCE);
        const sqlText = p.targets[0]!.rawSql;
        expect(sqlText, p.title).not.toMatch(/(?<!\$)\{[A-Za-z_]+:[A-Za-z0-9()]+\}/); // no cvm query parameter left
        for (const m of sqlText.matchAll(/\$\{(\w+):sqlstring\}/g)) expect(vars.has(m[1]!), `${p.title}: variable ${m[1]}`).toBe(true);
      }
    }
  });

  it('maps the query parameters to the plugin macros and variables', () => {
    expect(toGrafanaSql('-- c\nSELECT 1 WHERE d BETWEEN {from:Date} AND {to:Date} AND ({country:String} = \'\' OR c = {country:String}) AND g = {grain:String}')).toBe(
      `SELECT 1 WHERE d BETWEEN toDate($__fromTime) AND toDate($__toTime) AND (if(\${country:sqlstring} = '${ALL}', '', \${country:sqlstring}) = '' OR c = if(\${country:sqlstring} = '${ALL}', '', \${country:sqlstring})) AND g = \${grain:sqlstring}`,
    );
    expect(() => toGrafanaSql('SELECT {limit:UInt32}')).toThrow(/limit:UInt32/);
    expect(toGrafanaSql('SELECT {dim:Identifier} AS {dim:Identifier} GROUP BY {dim:Identifier}', { dim: 'device' })).toBe('SELECT device AS device GROUP BY device');
    expect(() => toGrafanaSql('SELECT {dim:Identifier}')).toThrow(/dim:Identifier/);
  });

  it('the provisioned dashboard files in deploy/grafana/dashboards are the current export', () => {
    for (const { file, dashboard } of exported) {
      const onDisk = JSON.parse(fs.readFileSync(path.join(DASHBOARDS_DIR, '..', 'deploy', 'grafana', 'dashboards', file), 'utf8'));
      expect(onDisk, `${file} is stale: run node bin/cvm.mjs dashboards export-grafana`).toEqual(JSON.parse(JSON.stringify(dashboard)));
    }
  });
});
