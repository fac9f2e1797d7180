// One request's events as event-log records: each validated against the contract, an identify's
// signature checked and dropped, and every reject kept (with its problem) for the dead letter.
import type { LogRecord } from '../../lib/eventlog/types.ts';
import { partitionKey, validateEvent, type CollectedRecord } from '../contract.ts';
import type { IdentitySecrets } from '../identity.ts';
import type { RejectedEntry } from './http.ts';

export interface Envelope {
  site: string;
  receivedAt: number;
  source: CollectedRecord['source'];
  userAgent: string | undefined;
  /** The batch's sent_at, given to events that have none of their own. */
  batchSentAt: unknown;
}

export function toRecords(events: unknown[], envelope: Envelope, identity: IdentitySecrets): { records: LogRecord[]; rejected: RejectedEntry[] } {
  const { site, receivedAt, source, userAgent, batchSentAt } = envelope;
  const records: LogRecord[] = [];
  const rejected: RejectedEntry[] = [];
  events.forEach((raw, index) => {
    let candidate = raw;
    if (batchSentAt !== undefined && raw && typeof raw === 'object' && !Array.isArray(raw) && !('sent_at' in raw)) {
      candidate = { ...(raw as object), sent_at: batchSentAt };
    }
    const result = validateEvent(candidate, { now: receivedAt });
    const record: CollectedRecord = { v: 1, site, received_at: receivedAt, source, ...(userAgent ? { user_agent: userAgent } : {}), event: candidate };
    let signature: unknown;
    if (candidate && typeof candidate === 'object' && 'identity_signature' in candidate) {
      // Checked here, then dropped: a stored signature could be replayed by whoever reads the events.
      const { identity_signature, ...event } = candidate as Record<string, unknown>;
      signature = identity_signature;
      record.event = event;
    }
    if (result.ok && (result.event.type === 'identify' || result.event.type === 'alias')) {
      record.identity = identity.verify(site, result.event.customer_id ?? '', signature) ? 'verified' : 'unverified';
    }
    if (!result.ok) {
      record.reject = result.problem;
      const id = (raw as { event_id?: unknown } | null)?.event_id;
      rejected.push({ index, ...(typeof id === 'string' ? { event_id: id.slice(0, 64) } : {}), ...result.problem });
    }
    const ev = (result.ok ? result.event : {}) as { customer_id?: unknown; anonymous_id?: unknown };
    records.push({ key: partitionKey(ev), value: JSON.stringify(record) });
  });
  return { records, rejected };
}
