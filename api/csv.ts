// CSV answers over HTTP: when a request asks for CSV, and the download headers. The cells themselves
// (quoting, non-finite numbers, formula defusing) are lib/csv.ts's, the same for every export.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toCsv } from '../lib/csv.ts';

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
