// Taking one request's events: batch size and the site's rate limit first, then room in the log (503 once it
// is near its limit: back-pressure), then every event (accepted or rejected) appended to the event log before
// the answer, so nothing acknowledged can be lost and nothing unstored is acknowledged.
import type { FastifyRequest } from 'fastify';
import type { Config } from '../../lib/config.ts';
import { LogFullError, refusal, type EventLog, type LogRecord } from '../../lib/eventlog/types.ts';
import type { Logger } from '../../lib/logger.ts';
import type { CollectedRecord } from '../contract.ts';
import type { IdentitySecrets } from '../identity.ts';
import type { RateLimiter } from '../rate-limit.ts';
import type { Site } from '../write-keys.ts';
import { HttpError, type BatchResponse } from './http.ts';
import { toRecords } from './records.ts';

export interface AcceptDeps {
  config: Config;
  eventLog: EventLog;
  limiter: RateLimiter;
  identity: IdentitySecrets;
  log: Logger;
}

/** A full log drains at the transformer's pace: clients come back in half a minute, not at once. */
const LOG_FULL_RETRY_S = 30;

export type Accept = (req: FastifyRequest, site: Site, events: unknown[], batchSentAt: unknown) => Promise<BatchResponse>;

export function acceptor({ config, eventLog, limiter, identity, log }: AcceptDeps): Accept {
  const { maxBatchEvents, rateLimitPerMinute } = config.collector;

  function admit(site: Site, events: unknown[]): void {
    if (events.length === 0) throw new HttpError(400, 'empty_batch', 'batch has no events', 'batch');
    if (events.length > maxBatchEvents) throw new HttpError(413, 'batch_too_large', `batch has ${events.length} events; at most ${maxBatchEvents} are allowed`, 'batch');
    const wait = limiter.take(site.site, events.length);
    if (wait > 0) throw new HttpError(429, 'rate_limited', `rate limit of ${rateLimitPerMinute} events per minute exceeded`, 'key', { 'Retry-After': String(wait) });
  }

  let refusing: ReturnType<typeof refusal> = null;
  /** Refuses before appending when the log is near its limit or its producer backs off after failures. */
  async function room(): Promise<void> {
    const u = await eventLog.usage?.(config.topics.events, config.log.highWaterPct);
    const why = u ? refusal(u) : null;
    // One line when refusing starts and one when it ends, not one per request.
    if (why !== refusing) {
      if (why) log.warn({ why, usedBytes: u?.usedBytes, limitBytes: u?.limitBytes, lastError: u?.lastError }, 'event log has no room; refusing events (503)');
      else log.info('event log has room again; accepting events');
      refusing = why;
    }
    if (!u || !why) return;
    if (why === 'near_limit') {
      const pct = u.limitBytes ? Math.round((100 * (u.usedBytes ?? 0)) / u.limitBytes) : 100;
      throw new HttpError(503, 'log_full', `the event log is near its limit (${pct}% held, refusing from ${config.log.highWaterPct}%); retry later`, undefined, { 'Retry-After': String(LOG_FULL_RETRY_S) });
    }
    const wait = Math.max(1, Math.ceil(((u.backoffUntil ?? 0) - Date.now()) / 1000));
    throw new HttpError(503, 'log_unavailable', `the event log failed ${u.appendFailures} appends in a row (${u.lastError ?? 'unknown error'}); retry later`, undefined, { 'Retry-After': String(wait) });
  }

  async function append(records: LogRecord[]): Promise<void> {
    try {
      await eventLog.append(config.topics.events, records);
    } catch (err) {
      if (err instanceof LogFullError) {
        log.error({ err }, 'event log full; refusing events');
        throw new HttpError(503, 'log_full', 'the event log is full; retry later', undefined, { 'Retry-After': String(LOG_FULL_RETRY_S) });
      }
      log.error({ err }, 'event log append failed');
      throw new HttpError(503, 'log_unavailable', 'the event log did not take the events; retry later', undefined, { 'Retry-After': '5' });
    }
  }

  return async (req, site, events, batchSentAt) => {
    admit(site, events);
    const userAgent = typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'] : undefined;
    const source: CollectedRecord['source'] = req.headers.origin ? 'browser' : 'server';
    await room();
    const { records, rejected } = toRecords(events, { site: site.site, receivedAt: Date.now(), source, userAgent, batchSentAt }, identity);
    await append(records);
    return { accepted: events.length - rejected.length, rejected };
  };
}
