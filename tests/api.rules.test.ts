// The segment rule language on its own: parsing, positions in errors, and compilation where every
// literal becomes a query parameter (no text of the rule reaches the SQL).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RuleError, RULE_FIELDS, parseRule } from '../api/segments/rules.ts';
import { compileRuleText } from '../api/segments/rule-sql.ts';

function problem(rule: string): { position: number; message: string } {
  try {
    parseRule(rule);
  } catch (err) {
    expect(err).toBeInstanceOf(RuleError);
    return { position: (err as RuleError).position, message: (err as RuleError).message };
  }
  throw new Error(`rule parsed: ${rule}`);
}

describe('segment rules', () => {
  it('compiles the example rule to parameters', () => {
    const c = compileRuleText(`clv > 200 AND churn_risk > 0.6 AND country IN ('DE','FR')`);
    expect(c.where).toBe('(((clv > {r_p0:Float64}) AND (churn_risk > {r_p1:Float64})) AND (country IN ({r_p2:String}, {r_p3:String})))');
    expect(c.params).toEqual({ r_p0: 200, r_p1: 0.6, r_p2: 'DE', r_p3: 'FR' });
  });

  it('binds AND tighter than OR, honours NOT and parentheses, keywords in any case', () => {
    expect(compileRuleText('r = 5 or f = 5 and m = 5').where).toBe('((r = {r_p0:Float64}) OR ((f = {r_p1:Float64}) AND (m = {r_p2:Float64})))');
    expect(compileRuleText('NOT (clv >= 1 OR r <= 2) AND country NOT IN (\'US\')').where).toBe(
      '((NOT ((clv >= {r_p0:Float64}) OR (r <= {r_p1:Float64}))) AND (country NOT IN ({r_p2:String})))',
    );
    expect(compileRuleText('clv IS NULL or p_alive is not null').where).toBe('((clv IS NULL) OR (p_alive IS NOT NULL))');
    expect(compileRuleText('monetary > -5.5e1').params).toEqual({ r_p0: -55 });
    expect(compileRuleText('country <> \'x\'').where).toBe('(country != {r_p0:String})');
  });

  it('keeps quotes inside text values as data', () => {
    const c = compileRuleText(`country = 'O''Brien; DROP TABLE events --'`);
    expect(c.where).toBe('(country = {r_p0:String})');
    expect(c.params.r_p0).toBe("O'Brien; DROP TABLE events --");
  });

  it('compiles time comparisons to DateTime64 parameters', () => {
    const c = compileRuleText(`first_seen >= '2024-05-01'`);
    expect(c.where).toBe('(first_seen >= {r_p0:DateTime64(3)})');
    expect(c.params.r_p0).toBe('2024-05-01 00:00:00.000');
  });

  it('names the position and the problem', () => {
    expect(problem(`country = 'x' OR 1=1 --`)).toMatchObject({ position: 18 });
    expect(problem(`country = 'x' OR 1=1 --`).message).toMatch(/expected a field name, found number 1/);
    expect(problem('1; DROP TABLE events')).toEqual({ position: 2, message: "at position 2: unexpected character ';'" });
    expect(problem('1 = clv').message).toMatch(/^at position 1: expected a field name, found number 1/);
    expect(problem('clv > 200; DROP TABLE events')).toEqual({ position: 10, message: "at position 10: unexpected character ';'" });
    expect(problem('email = 1').message).toMatch(/^at position 1: unknown field 'email'; fields: customer_id, country/);
    expect(problem(`clv > 'abc'`)).toEqual({ position: 7, message: "at position 7: clv is a number; 'abc' is text" });
    expect(problem('country = DE').message).toMatch(/position 11: expected a value, found 'DE': text values are quoted/);
    expect(problem('(clv > 1').message).toMatch(/position 9: expected '\)' to close the parenthesis at position 1/);
    expect(problem('clv >')).toMatchObject({ position: 6 });
    expect(problem(`country = 'DE`).message).toMatch(/position 11: string is not closed/);
    expect(problem(`segment = 'Champs'`).message).toMatch(/unknown RFM segment 'Champs'/);
    expect(problem(`country > 'DE'`).message).toMatch(/position 9: '>' compares numbers/);
    expect(problem('clv > 1 clv < 5').message).toMatch(/position 9: unexpected 'clv'; join conditions with AND or OR/);
    expect(problem('clv > 1)').message).toMatch(/no matching opening parenthesis/);
    expect(problem('').message).toMatch(/empty/);
    expect(problem(`first_seen > 'yesterday'`).message).toMatch(/first_seen is a time/);
    expect(problem('clv = "x"').message).toMatch(/single quotes/);
  });

  it('never puts rule text into SQL, whatever the values (property)', () => {
    const numberFields = Object.entries(RULE_FIELDS).filter(([, t]) => t === 'number').map(([f]) => f);
    const cond = fc.oneof(
      fc.tuple(fc.constantFrom(...numberFields), fc.constantFrom('=', '!=', '<', '<=', '>', '>='), fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e9, max: 1e9 })).map(
        ([f, op, v]) => `${f} ${op} ${v < 0 ? '-' : ''}${Math.abs(v)}`,
      ),
      fc.tuple(fc.constantFrom('country', 'customer_id'), fc.array(fc.string({ maxLength: 12 }), { minLength: 1, maxLength: 4 })).map(
        ([f, vs]) => `${f} IN (${vs.map((v) => `'${v.replace(/'/g, "''")}'`).join(', ')})`,
      ),
    );
    const rule: fc.Arbitrary<string> = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, cond, fc.tuple(tie('node'), fc.constantFrom('AND', 'OR'), tie('node')).map(([a, op, b]) => `(${a}) ${op} (${b})`), tie('node').map((a) => `NOT (${a})`)),
    })).node as fc.Arbitrary<string>;
    fc.assert(
      fc.property(rule, (text) => {
        const c = compileRuleText(text);
        // Only fields, operators, parentheses and {pN:Type} placeholders: no quote, no literal digit outside a placeholder.
        expect(c.where).not.toMatch(/'/);
        expect(c.where.replace(/\{r_p\d+:(Float64|String|DateTime64\(3\))\}/g, '')).toMatch(/^[a-z_ ()=!<>,]*$/i);
      }),
      { numRuns: 300 },
    );
  });

  it('answers any input with a RuleError or a compiled rule, nothing else (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (text) => {
        try {
          compileRuleText(text);
        } catch (err) {
          expect(err).toBeInstanceOf(RuleError);
          expect((err as RuleError).position).toBeGreaterThanOrEqual(1);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
