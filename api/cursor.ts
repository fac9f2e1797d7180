// Opaque keyset cursors: the sort key and id of the last row served, base64url JSON. A cursor only moves
// the starting point of a query whose filters come from the request, so a forged one shows nothing new.
export interface Cursor {
  /** Sort the cursor was made for; a cursor cannot be reused with another sort. */
  s: string;
  /** Sort key of the last row (number, or string for text sorts). */
  k: number | string;
  /** customer_id of the last row (the tie-breaker). */
  id: string;
}

export class CursorError extends Error {}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

export function decodeCursor(text: string, sort: string): Cursor {
  let c: unknown;
  try {
    c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw new CursorError('cursor is not valid: pass the next_cursor of the previous page unchanged');
  }
  const v = c as Partial<Cursor>;
  if (!v || typeof v !== 'object' || typeof v.s !== 'string' || typeof v.id !== 'string' || (typeof v.k !== 'number' && typeof v.k !== 'string')) {
    throw new CursorError('cursor is not valid: pass the next_cursor of the previous page unchanged');
  }
  if (v.s !== sort) throw new CursorError(`cursor was made for sort=${v.s}; ask again without a cursor to sort by ${sort}`);
  return v as Cursor;
}
