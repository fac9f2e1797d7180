// Taking one request's events: batch size and the site's rate limit first, then every event (accepted
// or rejected) appended to the event log before the answer, so nothing acknowledged can be lost.
import type { FastifyRequest } from 'fastify';
import type { Config } from '../../lib/config.ts';
import { LogFullError, type EventLog, type LogRecord } from '../../lib/eventlog/types.ts';
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

export type Accept = (req: FastifyRequest, site: Site, events: unknown[], batchSentAt: unknown) => Promise<BatchResponse>;

export function acceptor({ config, eventLog, limiter, identity, log }: AcceptDeps): Accept {
  const { maxBatchEvents, rateLimitPerMinute } = config.collector;

  function admit(site: Site, events: unknown[]): void {
    if (events.length === 0) throw new HttpError(400, 'empty_batch', 'batch has no events', 'batch');
    if (events.length > maxBatchEvents) throw new HttpError(413, 'batch_too_large', `batch has ${events.length} events; at most ${maxBatchEvents} are allowed`, 'batch');
    const wait = limiter.take(site.site, events.length);
    if (wait > 0) throw new HttpError(429, 'rate_limited', `rate limit of ${rateLimitPerMinute} events per minute exceeded`, 'key', { 'Retry-After': String(wait) });
  }

  async function append(records: LogRecord[]): Promise<void> {
    try {
      await eventLog.append(config.topics.events, records);
    } catch (err) {
      if (err instanceof LogFullError) {
        log.error({ err }, 'event log full; refusing events');
        throw new HttpError(503, 'log_full', 'the event log is full; retry later', undefined, { 'Retry-After': '30' });
      }
      log.error({ err }, 'event log append failed');
      throw new HttpError(503, 'log_unavailable', 'the event log did not take the events; retry later', undefined, { 'Retry-After': '5' });
    }
  }

  return async (req, site, events, batchSentAt) => {
    admit(site, events);
    const userAgent = typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'] : undefined;
    const source: CollectedRecord['source'] = req.headers.origin ? 'browser' : 'server';
    const { records, rejected } = toRecords(events, { site: site.site, receivedAt: Date.now(), source, userAgent, batchSentAt }, identity);
    await append(records);
    return { accepted: events.length - rejected.length, rejected };
  };
}
