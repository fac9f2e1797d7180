// Per-subject data keys (envelope encryption): each customer or anonymous id gets a random 32-byte key,
// stored wrapped by the key-encryption key (CVM_ENCRYPTION_KEY) in ClickHouse's subject_keys, under a
// keyed pseudonym of the id. Destroying a subject's keys crypto-shreds everything sealed with them.
//
// Why ClickHouse and not an LMDB file beside the log: LMDB is copy-on-write, so a deleted value stays in
// freed pages of data.mdb (a file under the data directory) until the page is reused. Here a key is
// destroyed by a mutation, and lib/ch-purge.ts removes the outdated parts from disk at once. What a disk
// may still hold in freed blocks is the key wrapped by the KEK: `cvm keys rotate-encryption` re-wraps
// every key under a new KEK, after which such leftovers open with nothing that exists any more.
// Every role (collector, transformer, api) reaches the same table, so the design holds with Kafka too.
import crypto from 'node:crypto';
import type { ClickHouse } from './clickhouse.ts';
import { chTime } from './clickhouse.ts';
import { aesOpen, aesSeal, PiiCipher } from './crypto.ts';
import { deleteRowsWhereIn, purgeOutdatedParts } from './ch-purge.ts';

export const PII_SUBJECT = '!pii';
export const PSEUDONYM_SUBJECT = '!pseudonym';
/** Records without any id (malformed ones): sealed too, under a key that no erasure destroys. */
export const NOBODY_SUBJECT = '!nobody';
const WRAP_PREFIX = 'kw1:';
const CACHE_MAX = 200_000;

export interface DataKey {
  kid: string;
  key: Buffer;
}

interface Cached { keys: DataKey[]; at: number }

function wrap(kek: Buffer, key: Buffer): string {
  return WRAP_PREFIX + aesSeal(kek, key).toString('base64url');
}

function unwrap(kek: Buffer, wrapped: string): Buffer {
  if (!wrapped.startsWith(WRAP_PREFIX)) throw new Error('not a wrapped key');
  return aesOpen(kek, Buffer.from(wrapped.slice(WRAP_PREFIX.length), 'base64url'));
}

/** Null for a row wrapped under another KEK (left by a rotation that stopped half-way). */
function tryUnwrap(kek: Buffer, wrapped: string): Buffer | null {
  try {
    return unwrap(kek, wrapped);
  } catch {
    return null;
  }
}

/** True when a table that keeps encrypted PII already has rows (an upgraded store). */
async function holdsPii(ch: ClickHouse): Promise<boolean> {
  const [r] = await ch.rows<{ n: string }>(
    `SELECT count() AS n FROM system.parts WHERE database = currentDatabase() AND active AND rows > 0
       AND table IN ('customers', 'shop_members', 'segments', 'events_rejected')`,
  );
  return Number(r?.n ?? 0) > 0;
}

export class SubjectKeys {
  private readonly cache = new Map<string, Cached>();
  private creating: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly ch: ClickHouse,
    private kek: Buffer,
    private readonly pseudonymSecret: Buffer,
    /** The key PII columns (traits, members, dead letters) are encrypted with. */
    readonly piiKey: Buffer,
    /** How long a key read from the table is trusted (another process may have destroyed it). */
    private readonly cacheMs: number,
  ) {}

  static async open(ch: ClickHouse, kek: Buffer, opts: { cacheMs?: number } = {}): Promise<SubjectKeys> {
    const cacheMs = opts.cacheMs ?? (ch.mode === 'server' ? 60_000 : Number.POSITIVE_INFINITY);
    // Two processes starting at once may both write one: the earliest row that opens is the one all use.
    const pick = (rows: Array<{ kid: string; wrapped: string; created_ms: string }>) => {
      const sorted = [...rows].sort((a, b) => Number(a.created_ms) - Number(b.created_ms) || a.wrapped.localeCompare(b.wrapped));
      for (const r of sorted) {
        const k = tryUnwrap(kek, r.wrapped);
        if (k) return k;
      }
      return null;
    };
    const reserved = async (subject: string, initial: () => Promise<Buffer> = async () => crypto.randomBytes(32)): Promise<Buffer> => {
      const rows = () => ch.rows<{ kid: string; wrapped: string; created_ms: string }>(
        `SELECT kid, wrapped, toUnixTimestamp64Milli(created_at) AS created_ms FROM subject_keys WHERE subject = {s:String}`, { s: subject });
      const first = await rows();
      if (first.length) {
        const k = pick(first);
        if (!k) throw new Error('the data keys do not open with CVM_ENCRYPTION_KEY: is it the key this store was written with?');
        return k;
      }
      await ch.insert('subject_keys', [{ subject, kid: '0', wrapped: wrap(kek, await initial()), created_at: chTime(Date.now()) }]);
      return pick(await rows())!;
    };
    const pseudonymSecret = await reserved(PSEUDONYM_SUBJECT);
    // A store upgraded from before data keys holds PII encrypted with the KEK itself: that key becomes the
    // PII data key (wrapped like any other), so those values stay readable after the KEK is rotated.
    const piiKey = await reserved(PII_SUBJECT, async () => ((await holdsPii(ch)) ? Buffer.from(kek) : crypto.randomBytes(32)));
    return new SubjectKeys(ch, kek, pseudonymSecret, piiKey, cacheMs);
  }

  private static readRows(ch: ClickHouse, subjects: string[]): Promise<Array<{ subject: string; kid: string; wrapped: string }>> {
    return ch.rows(`SELECT subject, kid, wrapped FROM subject_keys WHERE subject IN {s:Array(String)}`, { s: subjects });
  }

  /** The cipher for PII columns, which also opens values written under the KEK itself (before data keys). */
  piiCipher(): PiiCipher {
    return new PiiCipher([this.piiKey, this.kek]);
  }

  /** Keyed pseudonym of an id: stable, not reversible without the secret (which never leaves the store wrapped). */
  pseudonym(id: string): string {
    if (id === '') return NOBODY_SUBJECT;
    return 'p' + crypto.createHmac('sha256', this.pseudonymSecret).update(id).digest('hex').slice(0, 40);
  }

  private fresh(subject: string): DataKey[] | undefined {
    const c = this.cache.get(subject);
    if (!c || Date.now() - c.at > this.cacheMs) return undefined;
    return c.keys;
  }

  private async loadInto(subjects: string[]): Promise<void> {
    if (!subjects.length) return;
    const found = new Map<string, DataKey[]>(subjects.map((s) => [s, []]));
    for (const r of await SubjectKeys.readRows(this.ch, subjects)) {
      const key = tryUnwrap(this.kek, r.wrapped);
      if (key) found.get(r.subject)?.push({ kid: r.kid, key });
    }
    const now = Date.now();
    for (const [s, keys] of found) this.remember(s, { keys, at: now });
  }

  /** Bounded: past CACHE_MAX subjects the oldest half is dropped (Map keeps insertion order); they reload on use. */
  private remember(subject: string, entry: Cached): void {
    if (this.cache.size >= CACHE_MAX && !this.cache.has(subject)) {
      let n = CACHE_MAX / 2;
      for (const k of this.cache.keys()) {
        this.cache.delete(k);
        if (--n <= 0) break;
      }
    }
    this.cache.set(subject, entry);
  }

  /** A key per subject to seal new data with; missing ones are created and stored before this resolves. */
  async current(subjects: string[]): Promise<Map<string, DataKey>> {
    const wanted = [...new Set(subjects)];
    await this.loadInto(wanted.filter((s) => !this.fresh(s)));
    const missing = wanted.filter((s) => !this.fresh(s)?.length);
    if (missing.length) {
      // One creator at a time in this process, so concurrent appends share a subject's new key.
      const run = this.creating.then(async () => {
        await this.loadInto(missing);
        const still = missing.filter((s) => !this.fresh(s)?.length);
        if (!still.length) return;
        const now = Date.now();
        const made = still.map((subject) => ({ subject, kid: crypto.randomBytes(6).toString('hex'), key: crypto.randomBytes(32) }));
        await this.ch.insert('subject_keys', made.map((m) => ({ subject: m.subject, kid: m.kid, wrapped: wrap(this.kek, m.key), created_at: chTime(now) })));
        for (const m of made) this.remember(m.subject, { keys: [{ kid: m.kid, key: m.key }], at: now });
      });
      this.creating = run.catch(() => {});
      await run;
    }
    const out = new Map<string, DataKey>();
    for (const s of wanted) {
      const k = this.fresh(s)?.[0];
      if (!k) throw new Error('data key not available');
      out.set(s, k);
    }
    return out;
  }

  /** Keys by (subject, kid); a subject whose keys were destroyed has none. Key of the map: `subject/kid`. */
  async find(pairs: Array<{ subject: string; kid: string }>): Promise<Map<string, Buffer>> {
    const subjects = [...new Set(pairs.map((p) => p.subject))];
    const stale = subjects.filter((s) => {
      const keys = this.fresh(s);
      return !keys || !pairs.every((p) => p.subject !== s || keys.some((k) => k.kid === p.kid));
    });
    await this.loadInto(stale);
    const out = new Map<string, Buffer>();
    for (const p of pairs) {
      const k = this.fresh(p.subject)?.find((x) => x.kid === p.kid);
      if (k) out.set(`${p.subject}/${p.kid}`, k.key);
    }
    return out;
  }

  /** Crypto-shredding: the subjects' keys are deleted and the parts that held them cleared from disk. */
  async destroy(subjects: string[]): Promise<void> {
    const list = subjects.filter((s) => s !== NOBODY_SUBJECT && !s.startsWith('!'));
    if (!list.length) return;
    await deleteRowsWhereIn(this.ch, 'subject_keys', ['subject'], list);
    for (const s of list) this.cache.set(s, { keys: [], at: Date.now() });
  }

  /**
   * Re-wraps every key under a new KEK (rows rewritten by one mutation per batch of keys, old parts
   * cleared), so the old KEK opens nothing any more. Returns the number of keys re-wrapped.
   */
  async rewrap(newKek: Buffer, opts: { beforeRemovingOld?: () => Promise<void> } = {}): Promise<number> {
    const rows = await this.ch.rows<{ subject: string; kid: string; wrapped: string }>(`SELECT subject, kid, wrapped FROM subject_keys`);
    const rewrapped = rows.flatMap((r) => {
      const key = tryUnwrap(this.kek, r.wrapped);
      return key ? [{ ...r, next: wrap(newKek, key) }] : [];
    });
    if (rewrapped.length < rows.length && rewrapped.length === 0) throw new Error('no data key opens with the current key-encryption key');
    // New rows first, then the old ones removed: a crash in between leaves keys under both KEKs, never none.
    const now = chTime(Date.now());
    for (let i = 0; i < rewrapped.length; i += 10_000) {
      await this.ch.insert('subject_keys', rewrapped.slice(i, i + 10_000).map((r) => ({ subject: r.subject, kid: r.kid, wrapped: r.next, created_at: now })));
    }
    // E.g. the new KEK written where cvm reads it: from here on only the new one is needed.
    await opts.beforeRemovingOld?.();
    await deleteRowsWhereIn(this.ch, 'subject_keys', ['wrapped'], rewrapped.map((r) => r.wrapped));
    await purgeOutdatedParts(this.ch, 'subject_keys');
    this.kek = newKek;
    return rewrapped.length;
  }
}
