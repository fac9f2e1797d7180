// The event log with every record sealed (AES-256-GCM) under its subject's data key, around any EventLog
// (embedded or Kafka). The record's partition key (customer id, else anonymous id) names the subject; on
// the log it is replaced by the subject's keyed pseudonym, which keeps one person's records together on
// one partition without naming them. Consumers get the records opened, as they were appended (the
// transformer encrypts PII traits for the tables it writes: profiles, and dead letters via
// transform/rejects.ts sealDeadLetters). Erasure destroys the
// subject's keys: every copy of their records (freed LMDB pages, Kafka segments and replicas, backups)
// becomes unreadable, and on the embedded log the records are also removed. Records whose key is gone
// are skipped when read, so re-processing the log cannot bring an erased person back.
import { aesOpen, aesSeal } from '../crypto.ts';
import type { SubjectKeys } from '../subject-keys.ts';
import type { ConsumeOptions, Consumer, EventLog, LogBatch, LogRecord, LogUsage, PartitionLag, StoredRecord } from './types.ts';

export const SEAL_PREFIX = 'cvm:s1:';

const unknownUsage = (): LogUsage => ({ usedBytes: null, limitBytes: null, highWaterBytes: null, appendFailures: 0, failingSince: null, lastError: null, backoffUntil: null });

/** Logs that can delete records by partition key (the embedded one); Kafka cannot, and need not. */
export interface RemovableLog extends EventLog {
  removeByKey(topic: string, keys: ReadonlySet<string>): Promise<number>;
}

function removable(log: EventLog): log is RemovableLog {
  return typeof (log as Partial<RemovableLog>).removeByKey === 'function';
}

interface SealedParts { subject: string; kid: string; body: Buffer }

function parseSealed(value: string): SealedParts | null {
  if (!value.startsWith(SEAL_PREFIX)) return null;
  const rest = value.slice(SEAL_PREFIX.length);
  const a = rest.indexOf(':');
  const b = a < 0 ? -1 : rest.indexOf(':', a + 1);
  if (a < 0 || b < 0) return null;
  return { subject: rest.slice(0, a), kid: rest.slice(a + 1, b), body: Buffer.from(rest.slice(b + 1), 'base64url') };
}

export class SealedEventLog implements EventLog {
  readonly stats = { sealed: 0, opened: 0, shredded: 0 };

  constructor(
    private readonly inner: EventLog,
    private readonly keys: SubjectKeys,
  ) {}

  get kind(): EventLog['kind'] {
    return this.inner.kind;
  }

  async append(topic: string, records: LogRecord[]): Promise<void> {
    if (!records.length) return;
    // One person's records usually come together: one HMAC per distinct id.
    const memo = new Map<string, string>();
    const subjects = records.map((r) => {
      let p = memo.get(r.key);
      if (p === undefined) memo.set(r.key, (p = this.keys.pseudonym(r.key)));
      return p;
    });
    const keys = await this.keys.current(subjects);
    const sealed = records.map((r, i) => {
      const subject = subjects[i]!;
      const k = keys.get(subject)!;
      return { key: subject, value: `${SEAL_PREFIX}${subject}:${k.kid}:${aesSeal(k.key, Buffer.from(r.value, 'utf8')).toString('base64url')}` };
    });
    await this.inner.append(topic, sealed);
    this.stats.sealed += records.length;
  }

  /** Opens a batch's records; those whose subject was erased are left out. */
  private async open(records: StoredRecord[]): Promise<StoredRecord[]> {
    const parts = records.map((r) => parseSealed(r.value));
    const found = await this.keys.find(parts.filter((p): p is SealedParts => p !== null).map((p) => ({ subject: p.subject, kid: p.kid })));
    const out: StoredRecord[] = [];
    records.forEach((r, i) => {
      const p = parts[i];
      if (!p) {
        out.push(r); // written before the log was sealed
        return;
      }
      const key = found.get(`${p.subject}/${p.kid}`);
      if (!key) {
        this.stats.shredded += 1;
        return;
      }
      out.push({ ...r, key: p.subject, value: aesOpen(key, p.body).toString('utf8') });
    });
    this.stats.opened += out.length;
    return out;
  }

  consume(opts: ConsumeOptions): Promise<Consumer> {
    return this.inner.consume({
      ...opts,
      handler: async (batch: LogBatch) => opts.handler({ ...batch, records: await this.open(batch.records) }),
    });
  }

  lag(topic: string, group: string): Promise<PartitionLag[]> {
    return this.inner.lag(topic, group);
  }

  async usage(topic: string, highWaterPct: number): Promise<LogUsage> {
    return this.inner.usage ? this.inner.usage(topic, highWaterPct) : unknownUsage();
  }

  /**
   * Erasure: the ids' data keys destroyed (crypto-shredding, every copy), and where the log can delete
   * records (embedded), their records removed too. Returns the records removed.
   */
  async forget(topics: string[], ids: string[]): Promise<number> {
    const subjects = [...new Set(ids.filter((id) => id !== '').map((id) => this.keys.pseudonym(id)))];
    await this.keys.destroy(subjects);
    let removed = 0;
    if (removable(this.inner)) for (const t of topics) removed += await this.inner.removeByKey(t, new Set(subjects));
    return removed;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
