// The one CSV reader and writer (RFC 4180): quoted fields may hold the delimiter, doubled quotes ("")
// and line breaks. Readers of files (transactions, interactions, products) and writers of exports
// (API, dashboards) all go through here, so they agree on quoting, non-finite numbers and formulas.

// ---------------------------------------------------------------------------------------------------
// Reading

/**
 * The fields of one record. A quote opens or closes quoting anywhere in a field (lenient, as
 * spreadsheets are); a quoted field still open at the end of the text runs to its end.
 */
export function splitCsvRecord(text: string, delimiter = ','): string[] {
  // NOTE: the fast path matters: most lines of the files cvm reads have no quotes at all.
  if (!text.includes('"')) return text.split(delimiter);
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === delimiter) {
      out.push(field);
      field = '';
    } else field += ch;
  }
  out.push(field);
  return out;
}

/** Number of `"` in the text. An odd count means a quoted field is still open at its end. */
function quoteCount(text: string): number {
  let n = 0;
  for (let i = text.indexOf('"'); i >= 0; i = text.indexOf('"', i + 1)) n++;
  return n;
}

/** True when a quoted field is still open at the end of the text (the record goes on on the next line). */
export function endsInsideQuotes(text: string): boolean {
  return quoteCount(text) % 2 === 1;
}

/**
 * Turns lines (without their line endings) into records, holding lines back while a quoted field is
 * open. Whether one is open is the parity of the quotes seen so far, so a long multi-line field costs
 * one pass, not one pass per line.
 */
export class CsvLineReader {
  private pending: string[] = [];
  private openQuotes = false;

  constructor(private readonly delimiter = ',', private readonly lineBreak = '\n') {}

  /** The record that this line completes, or null while a quoted field is still open. */
  push(line: string): string[] | null {
    if (quoteCount(line) % 2 === 1) this.openQuotes = !this.openQuotes;
    if (this.openQuotes) {
      this.pending.push(line);
      return null;
    }
    if (this.pending.length === 0) return splitCsvRecord(line, this.delimiter);
    this.pending.push(line);
    const text = this.pending.join(this.lineBreak);
    this.pending = [];
    return splitCsvRecord(text, this.delimiter);
  }

  /** What is left at the end of the file: a record whose quoted field was never closed, closed. */
  flush(): string[] | null {
    if (this.pending.length === 0) return null;
    const text = this.pending.join(this.lineBreak);
    this.pending = [];
    this.openQuotes = false;
    return splitCsvRecord(text, this.delimiter);
  }
}

export interface CsvRecord {
  /** The 1-based line the record starts on. */
  line: number;
  fields: string[];
}

/**
 * All records of a CSV text, each with the line it starts on. A leading BOM is dropped, blank lines
 * are skipped, and a line break inside a quoted field is kept as it was written (CRLF, LF or CR).
 */
export function parseCsv(text: string, delimiter = ','): CsvRecord[] {
  const s = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const out: CsvRecord[] = [];
  const lineEnd = /\r\n|\n|\r/g;
  let pos = 0;
  let line = 0;
  let start = 0;
  let pending: string | null = null;
  let open = false;
  while (pos <= s.length) {
    const m = lineEnd.exec(s);
    const end = m ? m.index : s.length;
    const physical = s.slice(pos, end);
    line++;
    if (quoteCount(physical) % 2 === 1) open = !open;
    const recordText: string = pending === null ? physical : pending + physical;
    if (pending === null) start = line;
    if (open && m) {
      pending = recordText + m[0];
    } else {
      pending = null;
      open = false;
      if (recordText !== '') out.push({ line: start, fields: splitCsvRecord(recordText, delimiter) });
    }
    if (!m) break;
    pos = lineEnd.lastIndex;
  }
  return out;
}

/** The delimiter a header line most likely uses: comma, semicolon or tab. */
export function guessDelimiter(header: string): string {
  let best = ',';
  let bestCount = 0;
  for (const d of [',', ';', '\t']) {
    const n = header.split(d).length - 1;
    if (n > bestCount) {
      best = d;
      bestCount = n;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------------
// Writing

/**
 * Text a spreadsheet would run as a formula (or as DDE) when it opens the file: = + - @ first, or a
 * tab or carriage return first (OWASP "CSV injection"). Such cells get a leading `'`, which makes
 * Excel, LibreOffice and Sheets show the text as text.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

/** One cell. Numbers that are not finite (NaN, ±Infinity) are left empty: no reader takes "NaN" as a number. */
export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  let s = typeof v === 'string' ? v : JSON.stringify(v) ?? '';
  if (FORMULA_START.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A CSV document: a header line, then one line per row, CRLF line endings (RFC 4180). */
export function toCsv(columns: readonly string[], rows: ReadonlyArray<Record<string, unknown>>): string {
  const lines = [columns.map(csvCell).join(',')];
  for (const r of rows) lines.push(columns.map((c) => csvCell(r[c])).join(','));
  return lines.join('\r\n') + '\r\n';
}
