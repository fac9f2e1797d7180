// Server-side sessions for events the client sent without a session_id: a visitor's events belong to
// one session until they are idle for 30 minutes. The id is deterministic — `srv_` + a hash of the
// site, the visitor and the session's first timestamp — so re-processing the same log gives the same ids.
//
// A visitor is their anonymous_id, and also their customer_id once an event carried both: a purchase
// the shop's back end sends with only the customer id joins the session the browser is in. Events that
// carry a client session_id are remembered too, so server events without one join the client's session.
//
// State is per visitor, in memory, bounded (least recently seen visitors are dropped first), and
// changes made while handling a batch can be rolled back when its insert fails, so a retried batch
// gets the same ids. After a restart the transformer seeds it from the newest stored events.
import crypto from 'node:crypto';

export const SESSION_GAP_MS = 30 * 60_000;

interface Visit { sessionId: string; start: number; last: number; seq: number }
/** A change to undo: a key that pointed elsewhere (or nowhere), or a visit whose times were extended. */
type Change = { key: string; prev: Visit | undefined } | { visit: Visit; start: number; last: number };

export interface SessionInput {
  site: string;
  anonymousId: string;
  customerId: string;
  /** The client's session id, '' when it sent none. */
  sessionId: string;
  tsMs: number;
  /** May this event start a session? Back-office events (refunds, imports) only join an open one. */
  opens: boolean;
}

export function serverSessionId(site: string, visitor: string, startMs: number): string {
  return 'srv_' + crypto.createHash('sha1').update(`${site}\u0000${visitor}\u0000${startMs}`).digest('hex').slice(0, 24);
}

export class Sessioniser {
  private readonly visits = new Map<string, Visit>();
  private journal: Change[] | null = null;
  private seq = 0;

  constructor(private readonly cap = 200_000, private readonly gapMs = SESSION_GAP_MS) {}

  get size(): number {
    return this.visits.size;
  }

  /** The session id for this event: the client's, an open server session, a new one, or '' (cannot open). */
  assign(e: SessionInput): string {
    const aKey = e.anonymousId ? `${e.site}\u0000a\u0000${e.anonymousId}` : '';
    const cKey = e.customerId ? `${e.site}\u0000c\u0000${e.customerId}` : '';
    if (!aKey && !cKey) return e.sessionId;
    const a = aKey ? this.visits.get(aKey) : undefined;
    const c = cKey ? this.visits.get(cKey) : undefined;
    const open = a && c ? (a.last >= c.last ? a : c) : a ?? c;
    const t = e.tsMs;

    // Continuing the open visit: the client's id for it, or a server session within the gap.
    if (open && (e.sessionId ? open.sessionId === e.sessionId : t <= open.last + this.gapMs && t >= open.start - this.gapMs)) {
      this.extend(open, t);
      if (aKey && a !== open) this.put(aKey, open);
      if (cKey && c !== open) this.put(cKey, open);
      if (this.seq - open.seq > this.cap >> 2) {
        // Seen again long after it was stored: move it to the recent end so eviction spares it.
        open.seq = ++this.seq;
        if (aKey) this.put(aKey, open, true);
        if (cKey) this.put(cKey, open, true);
      }
      return open.sessionId;
    }
    let id = e.sessionId;
    if (!id) {
      if (!e.opens) return '';
      id = serverSessionId(e.site, e.anonymousId || e.customerId, t);
      // A late event from well before the open session: its own session, the open one stays current.
      if (open && t < open.start) return id;
    }
    const visit: Visit = { sessionId: id, start: t, last: t, seq: ++this.seq };
    if (aKey) this.put(aKey, visit);
    if (cKey) this.put(cKey, visit);
    return id;
  }

  /** Start recording changes (if not yet) and return a point that `rollbackTo` can return to. */
  checkpoint(): number {
    if (!this.journal) this.journal = [];
    return this.journal.length;
  }

  /** Start recording changes so that `rollback` can undo them. */
  begin(): void {
    this.journal = [];
  }

  /** Keep every change; stop recording. */
  commit(): void {
    this.journal = null;
  }

  /** Undo every change since `begin` (the batch's insert failed and the log will hand it over again). */
  rollback(): void {
    this.rollbackTo(0);
    this.journal = null;
  }

  /** Undo the changes made after `checkpoint` returned `point` (chunks of a batch that were not stored). */
  rollbackTo(point: number): void {
    const j = this.journal;
    if (!j) return;
    for (let i = j.length - 1; i >= point; i--) {
      const ch = j[i]!;
      if ('key' in ch) {
        if (ch.prev) this.visits.set(ch.key, ch.prev);
        else this.visits.delete(ch.key);
      } else {
        ch.visit.start = ch.start;
        ch.visit.last = ch.last;
      }
    }
    j.length = Math.min(j.length, point);
  }

  private extend(visit: Visit, t: number): void {
    if (t >= visit.start && t <= visit.last) return;
    if (this.journal) this.journal.push({ visit, start: visit.start, last: visit.last });
    if (t < visit.start) visit.start = t;
    if (t > visit.last) visit.last = t;
  }

  private put(key: string, visit: Visit, move = false): void {
    const prev = this.visits.get(key);
    if (this.journal) this.journal.push({ key, prev });
    // Replacing or moving: delete first, so the Map's insertion order stays least-recently-stored first.
    if (prev && (move || prev !== visit)) this.visits.delete(key);
    this.visits.set(key, visit);
    if (this.visits.size > this.cap && !this.journal) this.evict();
    else if (this.visits.size > this.cap * 1.1) this.evict();
  }

  /** Erasure: the open visits of these visitors and customers, on every site. */
  forget(ids: { customers: readonly string[]; anonymous: readonly string[] }): void {
    for (const key of [...this.visits.keys()]) if (this.keyNames(key, ids)) this.visits.delete(key);
  }

  holds(ids: { customers: readonly string[]; anonymous: readonly string[] }): boolean {
    for (const key of this.visits.keys()) if (this.keyNames(key, ids)) return true;
    return false;
  }

  private keyNames(key: string, ids: { customers: readonly string[]; anonymous: readonly string[] }): boolean {
    const [, kind, id = ''] = key.split('\u0000');
    return kind === 'a' ? ids.anonymous.includes(id) : ids.customers.includes(id);
  }

  private evict(): void {
    let n = this.visits.size - Math.floor(this.cap * 0.9);
    for (const key of this.visits.keys()) {
      if (n-- <= 0) break;
      this.visits.delete(key);
    }
  }
}
