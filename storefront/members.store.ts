// Members and their login sessions. Both are small, so they live in memory (loaded at start) and every
// change is written to ClickHouse before it is answered. Session cookies carry a random token; only
// its SHA-256 is stored. E-mail and name are encrypted at rest (the PII cipher); lookups by e-mail use
// the in-memory map, so the table needs no clear copy. Erasure blocks an account for this process's life
// (old cookie, old password, a login in flight) after its rows are gone.
import crypto from 'node:crypto';
import type { ClickHouse } from '../lib/clickhouse.ts';
import { chTime } from '../lib/clickhouse.ts';
import type { PiiCipher } from '../lib/crypto.ts';
import { hashPassword, verifyPassword } from './passwords.ts';
import { SerialQueue } from './serial-queue.ts';

export interface Member {
  customer_id: string;
  email: string;
  name: string;
  password_hash: string;
  locale: string;
  currency: string;
  created_ms: number;
}

export const SESSION_DAYS = 30;
export const MIN_PASSWORD = 8;

export class SignUpError extends Error {
  constructor(readonly code: 'email_taken' | 'bad_email' | 'short_password' | 'bad_name', message: string) {
    super(message);
  }
}

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function validEmail(email: string): boolean {
  return email.length <= 254 && /^[^\s@<>"]+@[^\s@<>".]+(\.[^\s@<>".]+)+$/.test(email);
}

const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');

interface Session {
  customer_id: string;
  expires_ms: number;
}

export class Members {
  private byId = new Map<string, Member>();
  private byEmail = new Map<string, Member>();
  private sessions = new Map<string, Session>();
  /** Accounts erased while this process runs: refused even if a request raced the erasure. */
  private readonly erased = new Set<string>();
  private readonly writer = new SerialQueue();

  constructor(
    private readonly ch: ClickHouse,
    /** Encrypts e-mail and name at rest; without one (unit tests of the store alone) they are stored as given. */
    private readonly pii: PiiCipher | null = null,
  ) {}

  static async load(ch: ClickHouse, pii: PiiCipher | null = null): Promise<Members> {
    const m = new Members(ch, pii);
    const members = await ch.rows<Member & { created_ms: string }>(
      `SELECT customer_id, email, name, password_hash, locale, currency, toUnixTimestamp64Milli(created_at) AS created_ms
       FROM shop_members FINAL WHERE deleted = 0`,
    );
    // Rows written before encryption come back as they are (open() passes plain text through).
    const open = (v: string) => (pii ? pii.open(v) : v);
    for (const r of members) m.remember({ ...r, email: open(r.email), name: open(r.name), created_ms: Number(r.created_ms) });
    const sessions = await ch.rows<{ token_hash: string; customer_id: string; expires_ms: string }>(
      `SELECT token_hash, customer_id, toUnixTimestamp64Milli(expires_at) AS expires_ms
       FROM shop_sessions FINAL WHERE revoked = 0 AND expires_at > now64(3)`,
    );
    for (const s of sessions) m.sessions.set(s.token_hash, { customer_id: s.customer_id, expires_ms: Number(s.expires_ms) });
    return m;
  }

  private remember(member: Member): void {
    const old = this.byId.get(member.customer_id);
    if (old) this.byEmail.delete(old.email);
    this.byId.set(member.customer_id, member);
    this.byEmail.set(member.email, member);
  }

  count(): number {
    return this.byId.size;
  }

  /** Whether the account is still in memory (erasure's check). */
  holds(customerId: string): boolean {
    return this.byId.has(customerId);
  }

  get(customerId: string): Member | undefined {
    return this.byId.get(customerId);
  }

  private async write(m: Member, deleted = 0): Promise<void> {
    const seal = (v: string) => (this.pii ? this.pii.seal(v) : v);
    await this.ch.insert('shop_members', [
      { customer_id: m.customer_id, email: seal(m.email), name: seal(m.name), password_hash: m.password_hash, locale: m.locale, currency: m.currency, created_at: chTime(m.created_ms), updated_at: chTime(Date.now()), deleted },
    ]);
  }

  async signUp(input: { email: string; name: string; password: string; locale?: string; currency?: string; now?: number }): Promise<Member> {
    const email = normaliseEmail(input.email);
    const name = input.name.trim();
    if (!validEmail(email)) throw new SignUpError('bad_email', 'enter a valid email address');
    if (!name || name.length > 100) throw new SignUpError('bad_name', 'name must have 1 to 100 characters');
    if (input.password.length < MIN_PASSWORD || input.password.length > 1024) throw new SignUpError('short_password', `password must have at least ${MIN_PASSWORD} characters`);
    if (this.byEmail.has(email)) throw new SignUpError('email_taken', 'an account with this email exists');
    const password_hash = await hashPassword(input.password); // slow on purpose: outside the writer
    return this.writer.run(async () => {
      // Checked again inside the writer: two sign-ups with one email may both have passed the first check.
      if (this.byEmail.has(email)) throw new SignUpError('email_taken', 'an account with this email exists');
      const member: Member = {
        customer_id: `cus_${crypto.randomBytes(8).toString('hex')}`,
        email,
        name,
        password_hash,
        locale: (input.locale ?? '').slice(0, 35),
        currency: input.currency ?? '',
        created_ms: input.now ?? Date.now(),
      };
      await this.write(member);
      this.remember(member);
      return member;
    });
  }

  /** The member when email and password match; null otherwise (same time either way). */
  async login(email: string, password: string): Promise<Member | null> {
    const member = this.byEmail.get(normaliseEmail(email));
    const ok = await verifyPassword(password, member?.password_hash ?? null);
    // Checked after the (slow) hash: an erasure that ran meanwhile wins.
    return ok && member && !this.erased.has(member.customer_id) && this.byId.get(member.customer_id) === member ? member : null;
  }

  async updateProfile(customerId: string, change: { name?: string; currency?: string; locale?: string }): Promise<Member> {
    return this.writer.run(async () => {
      const m = this.byId.get(customerId);
      if (!m) throw new Error(`no member ${customerId}`);
      const name = change.name?.trim();
      if (name !== undefined && (!name || name.length > 100)) throw new SignUpError('bad_name', 'name must have 1 to 100 characters');
      const next: Member = { ...m, ...(name !== undefined ? { name } : {}), ...(change.currency !== undefined ? { currency: change.currency } : {}), ...(change.locale !== undefined ? { locale: change.locale } : {}) };
      await this.write(next);
      this.remember(next);
      return next;
    });
  }

  /** Drops a member and their sessions from memory (after erasure removed their rows). */
  forget(customerId: string): void {
    const m = this.byId.get(customerId);
    if (m) this.byEmail.delete(m.email);
    this.byId.delete(customerId);
    for (const [hash, s] of this.sessions) if (s.customer_id === customerId) this.sessions.delete(hash);
  }

  /**
   * Erasure: the account is blocked (no login, no session, no new session), its sessions end, and it is
   * dropped from memory. Runs in the writer, after any change in flight; the rows go with the erasure's deletes.
   */
  erase(customerId: string): Promise<void> {
    this.erased.add(customerId);
    return this.writer.run(async () => this.forget(customerId));
  }

  /** A new session; returns the token for the cookie. */
  async createSession(customerId: string): Promise<string> {
    if (this.erased.has(customerId)) throw new Error('account erased');
    const token = crypto.randomBytes(32).toString('base64url');
    const now = Date.now();
    const session: Session = { customer_id: customerId, expires_ms: now + SESSION_DAYS * 86_400_000 };
    const token_hash = sha256(token);
    await this.ch.insert('shop_sessions', [{ token_hash, customer_id: customerId, created_at: chTime(now), expires_at: chTime(session.expires_ms), revoked: 0, updated_at: chTime(now) }]);
    this.sessions.set(token_hash, session);
    return token;
  }

  memberForSession(token: string | undefined): Member | null {
    if (!token || token.length > 100) return null;
    const s = this.sessions.get(sha256(token));
    if (!s) return null;
    if (s.expires_ms <= Date.now() || this.erased.has(s.customer_id)) return null;
    return this.byId.get(s.customer_id) ?? null;
  }

  async endSession(token: string | undefined): Promise<void> {
    if (!token || token.length > 100) return;
    const token_hash = sha256(token);
    const s = this.sessions.get(token_hash);
    if (!s) return;
    this.sessions.delete(token_hash);
    await this.ch.insert('shop_sessions', [{ token_hash, customer_id: s.customer_id, created_at: chTime(Date.now()), expires_at: chTime(s.expires_ms), revoked: 1, updated_at: chTime(Date.now()) }]);
  }
}
