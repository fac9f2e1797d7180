// The segment rule language: comparisons over customer_features joined by AND / OR / NOT, e.g.
//   clv > 200 AND churn_risk > 0.6 AND country IN ('DE', 'FR')
// A tokenizer and a recursive-descent parser turn the text into a tree; every problem is reported with
// the 1-based character position where it starts. Compilation to SQL is in rule-sql.ts.
import { RFM_SEGMENTS } from '../../models/rfm/segments.ts';

export type FieldType = 'number' | 'string' | 'time';

/**
 * The fields a rule may use: the columns of the customer_features view, and their types. A frozen object
 * without a prototype, and read only through fieldType(): a rule naming `constructor`, `__proto__` or
 * `toString` must find nothing here, not Object.prototype's members.
 */
export const RULE_FIELDS: Readonly<Record<string, FieldType>> = Object.freeze(Object.assign(Object.create(null) as Record<string, FieldType>, {
  customer_id: 'string',
  country: 'string',
  segment: 'string',
  consent: 'number',
  first_seen: 'time',
  recency_days: 'number',
  frequency: 'number',
  monetary: 'number',
  r: 'number',
  f: 'number',
  m: 'number',
  clv: 'number',
  p_alive: 'number',
  expected_purchases: 'number',
  churn_risk: 'number',
}));

/** The type of an allow-listed field, or undefined: own keys only. */
export function fieldType(field: string): FieldType | undefined {
  return Object.hasOwn(RULE_FIELDS, field) ? RULE_FIELDS[field] : undefined;
}

export const MAX_RULE_LENGTH = 4000;
const MAX_IN_VALUES = 1000;
const MAX_DEPTH = 40;

export class RuleError extends Error {
  constructor(readonly position: number, readonly problem: string) {
    super(`at position ${position}: ${problem}`);
    this.name = 'RuleError';
  }
}

type TokenKind = 'ident' | 'number' | 'string' | 'op' | 'lparen' | 'rparen' | 'comma' | 'end';
interface Token {
  kind: TokenKind;
  text: string;
  value?: string | number;
  /** 1-based character position. */
  pos: number;
}

export type CmpOp = '=' | '!=' | '<' | '<=' | '>' | '>=';
export type Literal = { type: 'number'; value: number; pos: number } | { type: 'string'; value: string; pos: number };
export type RuleNode =
  | { kind: 'and' | 'or'; left: RuleNode; right: RuleNode }
  | { kind: 'not'; expr: RuleNode }
  | { kind: 'cmp'; field: string; op: CmpOp; value: Literal }
  | { kind: 'in'; field: string; negated: boolean; values: Literal[] }
  | { kind: 'null'; field: string; negated: boolean };

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'is', 'null']);

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const pos = i + 1;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < text.length && /[A-Za-z0-9_]/.test(text[j]!)) j++;
      tokens.push({ kind: 'ident', text: text.slice(i, j), pos });
      i = j;
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const m = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/.exec(text.slice(i))!;
      const after = text[i + m[0].length];
      if (after !== undefined && /[A-Za-z_]/.test(after)) throw new RuleError(pos, `malformed number '${text.slice(i, i + m[0].length + 1)}'`);
      const value = Number(m[0]);
      if (!Number.isFinite(value)) throw new RuleError(pos, `number ${m[0]} is out of range`);
      tokens.push({ kind: 'number', text: m[0], value, pos });
      i += m[0].length;
      continue;
    }
    if (c === "'") {
      // A quote inside a string is written twice: 'O''Brien'.
      let j = i + 1;
      let value = '';
      for (;;) {
        if (j >= text.length) throw new RuleError(pos, 'string is not closed: add the missing quote');
        const d = text[j]!;
        if (d === "'") {
          if (text[j + 1] === "'") {
            value += "'";
            j += 2;
            continue;
          }
          break;
        }
        value += d;
        j++;
      }
      tokens.push({ kind: 'string', text: text.slice(i, j + 1), value, pos });
      i = j + 1;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (two === '!=' || two === '<>' || two === '<=' || two === '>=') {
      tokens.push({ kind: 'op', text: two === '<>' ? '!=' : two, pos });
      i += 2;
      continue;
    }
    if (c === '=' || c === '<' || c === '>' || c === '-') {
      tokens.push({ kind: 'op', text: c, pos });
      i++;
      continue;
    }
    if (c === '(') tokens.push({ kind: 'lparen', text: c, pos });
    else if (c === ')') tokens.push({ kind: 'rparen', text: c, pos });
    else if (c === ',') tokens.push({ kind: 'comma', text: c, pos });
    else if (c === '"') throw new RuleError(pos, `strings use single quotes: 'like this'`);
    else throw new RuleError(pos, `unexpected character '${c}'`);
    i++;
  }
  tokens.push({ kind: 'end', text: '', pos: text.length + 1 });
  return tokens;
}

function describe(t: Token): string {
  if (t.kind === 'end') return 'the end of the rule';
  if (t.kind === 'string') return `string ${t.text}`;
  if (t.kind === 'number') return `number ${t.text}`;
  return `'${t.text}'`;
}

class Parser {
  private i = 0;
  private depth = 0;

  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.i]!;
  }

  private next(): Token {
    return this.tokens[this.i++]!;
  }

  private isKeyword(word: string, t = this.peek()): boolean {
    return t.kind === 'ident' && t.text.toLowerCase() === word;
  }

  parseRule(): RuleNode {
    if (this.peek().kind === 'end') throw new RuleError(1, 'the rule is empty');
    const node = this.parseOr();
    const t = this.peek();
    if (t.kind !== 'end') {
      const hint = t.kind === 'rparen' ? ' (no matching opening parenthesis)' : '; join conditions with AND or OR';
      throw new RuleError(t.pos, `unexpected ${describe(t)}${hint}`);
    }
    return node;
  }

  private parseOr(): RuleNode {
    let left = this.parseAnd();
    while (this.isKeyword('or')) {
      this.next();
      left = { kind: 'or', left, right: this.parseAnd() };
    }
    return left;
  }

  private parseAnd(): RuleNode {
    let left = this.parseNot();
    while (this.isKeyword('and')) {
      this.next();
      left = { kind: 'and', left, right: this.parseNot() };
    }
    return left;
  }

  private parseNot(): RuleNode {
    if (++this.depth > MAX_DEPTH) throw new RuleError(this.peek().pos, `the rule nests deeper than ${MAX_DEPTH} levels`);
    try {
      if (this.isKeyword('not')) {
        this.next();
        return { kind: 'not', expr: this.parseNot() };
      }
      return this.parsePrimary();
    } finally {
      this.depth--;
    }
  }

  private parsePrimary(): RuleNode {
    const t = this.peek();
    if (t.kind === 'lparen') {
      this.next();
      const inner = this.parseOr();
      const close = this.next();
      if (close.kind !== 'rparen') throw new RuleError(close.pos, `expected ')' to close the parenthesis at position ${t.pos}, found ${describe(close)}`);
      return inner;
    }
    return this.parseComparison();
  }

  private parseComparison(): RuleNode {
    const f = this.next();
    if (f.kind !== 'ident' || KEYWORDS.has(f.text.toLowerCase())) throw new RuleError(f.pos, `expected a field name, found ${describe(f)}; fields: ${Object.keys(RULE_FIELDS).join(', ')}`);
    const field = f.text.toLowerCase();
    const type = fieldType(field);
    if (!type) throw new RuleError(f.pos, `unknown field '${f.text}'; fields: ${Object.keys(RULE_FIELDS).join(', ')}`);

    const t = this.peek();
    if (this.isKeyword('is')) {
      this.next();
      const negated = this.isKeyword('not');
      if (negated) this.next();
      const n = this.next();
      if (!this.isKeyword('null', n)) throw new RuleError(n.pos, `expected NULL after IS${negated ? ' NOT' : ''}, found ${describe(n)}`);
      return { kind: 'null', field, negated };
    }
    if (this.isKeyword('not') || this.isKeyword('in')) {
      const negated = this.isKeyword('not');
      if (negated) {
        this.next();
        const inTok = this.next();
        if (!this.isKeyword('in', inTok)) throw new RuleError(inTok.pos, `expected IN after NOT, found ${describe(inTok)}`);
      } else this.next();
      const open = this.next();
      if (open.kind !== 'lparen') throw new RuleError(open.pos, `expected '(' to start the IN list, found ${describe(open)}`);
      const values: Literal[] = [];
      for (;;) {
        values.push(this.literal(field, type));
        if (values.length > MAX_IN_VALUES) throw new RuleError(open.pos, `an IN list holds at most ${MAX_IN_VALUES} values`);
        const sep = this.next();
        if (sep.kind === 'rparen') break;
        if (sep.kind !== 'comma') throw new RuleError(sep.pos, `expected ',' or ')' in the IN list, found ${describe(sep)}`);
      }
      return { kind: 'in', field, negated, values };
    }
    if (t.kind !== 'op' || t.text === '-') throw new RuleError(t.pos, `expected an operator (=, !=, <, <=, >, >=, IN, NOT IN, IS NULL) after '${f.text}', found ${describe(t)}`);
    this.next();
    const op = t.text as CmpOp;
    const value = this.literal(field, type);
    if (type === 'string' && op !== '=' && op !== '!=') throw new RuleError(t.pos, `'${op}' compares numbers and times; ${field} is text: use =, != or IN`);
    return { kind: 'cmp', field, op, value };
  }

  private literal(field: string, type: FieldType): Literal {
    const t = this.next();
    let lit: Literal;
    if (t.kind === 'op' && t.text === '-') {
      const n = this.next();
      if (n.kind !== 'number') throw new RuleError(n.pos, `expected a number after '-', found ${describe(n)}`);
      lit = { type: 'number', value: -(n.value as number), pos: t.pos };
    } else if (t.kind === 'number') lit = { type: 'number', value: t.value as number, pos: t.pos };
    else if (t.kind === 'string') lit = { type: 'string', value: t.value as string, pos: t.pos };
    else if (t.kind === 'ident') throw new RuleError(t.pos, `expected a value, found '${t.text}': text values are quoted ('${t.text}') and fields cannot be compared with fields`);
    else throw new RuleError(t.pos, `expected a value, found ${describe(t)}`);

    if (type === 'number' && lit.type !== 'number') throw new RuleError(lit.pos, `${field} is a number; ${t.text} is text`);
    if (type === 'string' && lit.type !== 'string') throw new RuleError(lit.pos, `${field} is text: quote the value ('${lit.value}')`);
    if (type === 'time') {
      if (lit.type !== 'string' || !/^\d{4}-\d{2}-\d{2}([T ][\d:.]+Z?)?$/.test(lit.value) || Number.isNaN(Date.parse(lit.value))) {
        throw new RuleError(lit.pos, `${field} is a time: write a date such as '2024-05-31' or '2024-05-31T12:00:00Z'`);
      }
    }
    if (field === 'segment' && lit.type === 'string' && !(RFM_SEGMENTS as readonly string[]).includes(lit.value)) {
      throw new RuleError(lit.pos, `unknown RFM segment '${lit.value}'; segments: ${RFM_SEGMENTS.join(', ')}`);
    }
    return lit;
  }
}

/** Parses a rule; throws RuleError naming the position and the problem. */
export function parseRule(text: string): RuleNode {
  if (text.length > MAX_RULE_LENGTH) throw new RuleError(MAX_RULE_LENGTH + 1, `the rule is longer than ${MAX_RULE_LENGTH} characters`);
  return new Parser(tokenize(text)).parseRule();
}
