// Minimal RFC-4180 CSV: quoted fields may hold the delimiter, doubled quotes and line breaks.

/** Split one record; returns null when a quoted field is still open at the end (the record goes on). */
export function splitCsv(text: string, delim = ','): string[] | null {
  if (!text.includes('"')) return text.split(delim);
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
    else if (ch === delim) {
      out.push(field);
      field = '';
    } else field += ch;
  }
  if (quoted) return null;
  out.push(field);
  return out;
}

/** Turns lines into records, holding a line back while one of its quoted fields is still open. */
export class CsvRecordJoiner {
  private pending: string | null = null;

  constructor(private readonly delim = ',') {}

  push(line: string): string[] | null {
    const text = this.pending === null ? line : `${this.pending}\n${line}`;
    const rec = splitCsv(text, this.delim);
    this.pending = rec === null ? text : null;
    return rec;
  }

  /** What is left at the end of the file: an unterminated quoted field, closed. */
  flush(): string[] | null {
    if (this.pending === null) return null;
    const rec = splitCsv(this.pending + '"', this.delim);
    this.pending = null;
    return rec;
  }
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
