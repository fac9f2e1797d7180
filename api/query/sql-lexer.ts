// A deliberately strict lexer for analyst SQL, run before ClickHouse sees the text. Its job is to be
// sure the text is ONE whole statement: the embedded engine runs `a; b` as two statements, so a `;` that
// ClickHouse would see outside a string must never get through, and parentheses must balance so the text
// can never close a bracket it did not open. Anything this lexer cannot be sure about the same way
// ClickHouse is (nested block comments, # comments, heredocs, a stray */) is refused, and so is INTO
// OUTFILE, the one clause that writes even under readonly (measured on chDB 3.4). Every refusal is in
// our own words and names the position; none reaches the engine.

export class SqlRejected extends Error {
  constructor(readonly position: number, readonly problem: string, readonly code = 'query_rejected') {
    super(position > 0 ? `at position ${position}: ${problem}` : problem);
    this.name = 'SqlRejected';
  }
}

export interface SqlToken {
  kind: 'word' | 'quoted' | 'string' | 'number' | 'punct';
  text: string;
  /** 1-based character position. */
  pos: number;
}

export interface ScannedSql {
  /** The statement without a trailing semicolon. */
  statement: string;
  tokens: SqlToken[];
  /** Names declared as `name AS (` anywhere: possible CTEs, which look like table names to the parser. */
  cteNames: Set<string>;
}

export const MAX_SQL_LENGTH = 100_000;

const CLOSER: Record<string, string> = { '(': ')', '[': ']' };

/** Every ( and [ closed, in order, and nothing closed that was not opened. */
function checkBrackets(tokens: readonly SqlToken[]): void {
  const open: SqlToken[] = [];
  for (const t of tokens) {
    if (t.kind !== 'punct') continue;
    if (t.text === '(' || t.text === '[') open.push(t);
    else if (t.text === ')' || t.text === ']') {
      const top = open.pop();
      if (!top) throw new SqlRejected(t.pos, `'${t.text}' closes nothing: the parentheses do not balance`, 'unbalanced_parentheses');
      if (CLOSER[top.text] !== t.text) throw new SqlRejected(t.pos, `'${t.text}' does not match the '${top.text}' at position ${top.pos}`, 'unbalanced_parentheses');
    }
  }
  const left = open.pop();
  if (left) throw new SqlRejected(left.pos, `'${left.text}' is never closed: the parentheses do not balance`, 'unbalanced_parentheses');
}

function quoted(text: string, start: number, quote: string, what: string): number {
  // ClickHouse ends a quoted token at an unescaped quote; backslash escapes any character and a doubled
  // quote stands for one.
  let j = start + 1;
  for (;;) {
    if (j >= text.length) throw new SqlRejected(start + 1, `${what} is not closed`);
    const c = text[j]!;
    if (c === '\\') {
      j += 2;
      continue;
    }
    if (c === quote) {
      if (text[j + 1] === quote) {
        j += 2;
        continue;
      }
      return j + 1;
    }
    j++;
  }
}

export function scanSql(text: string): ScannedSql {
  if (text.length > MAX_SQL_LENGTH) throw new SqlRejected(0, `the query is longer than ${MAX_SQL_LENGTH} characters`);
  const tokens: SqlToken[] = [];
  let i = 0;
  let end = -1; // index of a terminating semicolon
  while (i < text.length) {
    const c = text[i]!;
    const pos = i + 1;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '-' && text[i + 1] === '-') {
      const nl = text.indexOf('\n', i);
      const stop = nl === -1 ? text.length : nl;
      if (text.slice(i, stop).includes(';')) throw new SqlRejected(pos, 'semicolons are not allowed in comments');
      i = stop;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const close = text.indexOf('*/', i + 2);
      if (close === -1) throw new SqlRejected(pos, 'comment is not closed');
      const body = text.slice(i + 2, close);
      if (body.includes('/*')) throw new SqlRejected(pos, 'nested comments are not allowed');
      if (body.includes(';')) throw new SqlRejected(pos, 'semicolons are not allowed in comments');
      i = close + 2;
      continue;
    }
    if (end !== -1) throw new SqlRejected(end + 1, 'only one statement can run per request: remove everything after the semicolon');
    if (c === ';') {
      end = i;
      i++;
      continue;
    }
    if (c === '*' && text[i + 1] === '/') throw new SqlRejected(pos, "'*/' closes no comment: remove it or open the comment with /*", 'stray_comment');
    if (c === '#') throw new SqlRejected(pos, "'#' comments are not supported here; use -- or /* */");
    if (c === '$') throw new SqlRejected(pos, "'$' is not allowed outside strings (heredoc strings are not supported)");
    if (c === "'") {
      const j = quoted(text, i, "'", 'string');
      tokens.push({ kind: 'string', text: text.slice(i, j), pos });
      i = j;
      continue;
    }
    if (c === '"' || c === '`') {
      const j = quoted(text, i, c, 'quoted name');
      tokens.push({ kind: 'quoted', text: text.slice(i + 1, j - 1).replaceAll(c + c, c), pos });
      i = j;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < text.length && /[A-Za-z0-9_]/.test(text[j]!)) j++;
      tokens.push({ kind: 'word', text: text.slice(i, j), pos });
      i = j;
      continue;
    }
    if (/[0-9]/.test(c)) {
      let j = i + 1;
      while (j < text.length && /[0-9A-Za-z_.]/.test(text[j]!)) j++;
      tokens.push({ kind: 'number', text: text.slice(i, j), pos });
      i = j;
      continue;
    }
    tokens.push({ kind: 'punct', text: c, pos });
    i++;
  }
  if (tokens.length === 0) throw new SqlRejected(0, 'the query is empty');
  checkBrackets(tokens);
  for (let k = 0; k + 1 < tokens.length; k++) {
    const [a, b] = [tokens[k]!, tokens[k + 1]!];
    if (a.kind === 'word' && b.kind === 'word' && a.text.toUpperCase() === 'INTO' && b.text.toUpperCase() === 'OUTFILE') {
      throw new SqlRejected(a.pos, 'INTO OUTFILE is not allowed: results come back in the response (format json or csv)', 'clause_not_allowed');
    }
  }
  const statement = (end === -1 ? text : text.slice(0, end)).trim();
  const cteNames = new Set<string>();
  for (let k = 0; k + 2 < tokens.length; k++) {
    const [a, b, c] = [tokens[k]!, tokens[k + 1]!, tokens[k + 2]!];
    if ((a.kind === 'word' || a.kind === 'quoted') && b.kind === 'word' && b.text.toUpperCase() === 'AS' && c.text === '(') cteNames.add(a.text);
  }
  return { statement, tokens, cteNames };
}
