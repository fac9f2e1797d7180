// CSV (RFC 4180) for exports. Text that a spreadsheet would run as a formula (= + - @ at the start) is
// prefixed with a quote, so an exported customer list cannot carry a formula into someone's Excel.
import type { FastifyReply, FastifyRequest } from 'fastify';

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' ? String(v) : JSON.stringify(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(columns: string[], rows: Array<Record<string, unknown>>): string {
  const lines = [columns.map(cell).join(',')];
  for (const r of rows) lines.push(columns.map((c) => cell(r[c])).join(','));
  return lines.join('\r\n') + '\r\n';
}

/** CSV when asked with ?format=csv or Accept: text/csv (and not JSON first). */
export function wantsCsv(req: FastifyRequest): boolean {
  const q = (req.query as Record<string, unknown> | undefined)?.format;
  if (q === 'csv') return true;
  if (q === 'json') return false;
  const accept = String(req.headers.accept ?? '');
  return /\btext\/csv\b/.test(accept) && !/^\s*application\/json/.test(accept);
}

export function sendCsv(reply: FastifyReply, filename: string, columns: string[], rows: Array<Record<string, unknown>>): FastifyReply {
  return reply
    .header('Content-Type', 'text/csv; charset=utf-8')
    .header('Content-Disposition', `attachment; filename="${filename.replace(/[^A-Za-z0-9._-]/g, '_')}"`)
    .send(toCsv(columns, rows));
}
