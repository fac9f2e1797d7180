// The collector: accepts events from the snippet and shop back ends, validates each one against the
// contract, and answers 2xx only after the event log holds every accepted event (and every reject,
// which the transformer turns into a dead-letter row). Nothing it acknowledged can be lost.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../api/deps.ts';
import { LogFullError, type LogRecord } from '../lib/eventlog/types.ts';
import { partitionKey, validateEvent, type CollectedRecord, type EventProblem } from './contract.ts';
import { RateLimiter } from './rate-limit.ts';
import { identitySecrets } from './identity.ts';
import { StaticWriteKeys, siteAllowsOrigin, type Site, type WriteKeyResolver } from './write-keys.ts';

export interface RejectedEntry extends EventProblem {
  index: number;
  event_id?: string;
}

export interface BatchResponse {
  accepted: number;
  rejected: RejectedEntry[];
}

class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly field?: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

function parseBody(body: unknown): Record<string, unknown> {
  let value: unknown = body;
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    const text = body.toString();
    if (text.trim() === '') throw new HttpError(400, 'empty_body', 'request body is empty', 'body');
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new HttpError(400, 'invalid_json', `body is not valid JSON: ${(err as Error).message}`, 'body');
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new HttpError(400, 'invalid_body', 'body must be a JSON object', 'body');
  return value as Record<string, unknown>;
}

export default async function collectorRoutes(app: FastifyInstance, opts: { deps: AppDeps }): Promise<void> {
  const { deps } = opts;
  const { config } = deps;
  const eventLog = deps.eventLog;
  if (!eventLog) throw new Error('collector routes need an event log');
  const writeKeys = (deps.services.get('writeKeys') as WriteKeyResolver | undefined) ?? StaticWriteKeys.fromConfig(config);
  deps.services.set('writeKeys', writeKeys);
  const limiter = new RateLimiter(config.collector.rateLimitPerMinute);
  const identity = identitySecrets(config);
  const topic = config.topics.events;
  const log = deps.log.child({ name: 'collector' });

  // Beacons arrive as text/plain; every body is parsed here so one event's bad key or depth
  // does not throw away the rest of its batch.
  app.addContentTypeParser(['application/json', 'text/plain'], { parseAs: 'string', bodyLimit: config.collector.maxBodyBytes }, (_req, body, done) => done(null, body));

  app.addHook('onRequest', async (req, reply) => {
    const origin = req.headers.origin;
    if (origin && writeKeys.originAllowed(origin)) {
      reply.header('Access-Control-Allow-Origin', origin);
      reply.header('Access-Control-Allow-Credentials', 'false');
      reply.header('Vary', 'Origin');
      // Lets the snippet honour Retry-After on 429/503.
      reply.header('Access-Control-Expose-Headers', 'Retry-After');
    }
  });

  app.options('/v1/*', async (req, reply) => {
    const origin = req.headers.origin;
    if (!origin || !writeKeys.originAllowed(origin)) return reply.code(403).send({ error: 'origin_not_allowed', field: 'origin', message: 'this origin may not send events' });
    reply.header('Access-Control-Allow-Methods', 'POST, OPTIONS');
    reply.header('Access-Control-Allow-Headers', 'Content-Type, X-CVM-Key');
    reply.header('Access-Control-Max-Age', '86400');
    return reply.code(204).send();
  });

  function authenticate(req: FastifyRequest, body: Record<string, unknown>): Site {
    const header = req.headers['x-cvm-key'];
    const query = (req.query as Record<string, unknown> | undefined)?.key;
    const key = (typeof header === 'string' && header) || (typeof body.key === 'string' && body.key) || (typeof query === 'string' && query) || '';
    if (!key) throw new HttpError(401, 'missing_key', 'a write key is required in header X-CVM-Key or body field key', 'key');
    const site = writeKeys.resolve(key);
    if (!site) throw new HttpError(401, 'invalid_key', 'unknown write key', 'key');
    if (!siteAllowsOrigin(site, req.headers.origin)) throw new HttpError(403, 'origin_not_allowed', `origin ${req.headers.origin} may not send events for this site`, 'origin');
    return site;
  }

  async function accept(req: FastifyRequest, reply: FastifyReply, site: Site, events: unknown[], batchSentAt: unknown): Promise<BatchResponse> {
    if (events.length === 0) throw new HttpError(400, 'empty_batch', 'batch has no events', 'batch');
    if (events.length > config.collector.maxBatchEvents)
      throw new HttpError(413, 'batch_too_large', `batch has ${events.length} events; at most ${config.collector.maxBatchEvents} are allowed`, 'batch');
    const wait = limiter.take(site.site, events.length);
    if (wait > 0) throw new HttpError(429, 'rate_limited', `rate limit of ${config.collector.rateLimitPerMinute} events per minute exceeded`, 'key', { 'Retry-After': String(wait) });

    const receivedAt = Date.now();
    const userAgent = typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'] : undefined;
    const source: CollectedRecord['source'] = req.headers.origin ? 'browser' : 'server';
    const records: LogRecord[] = [];
    const rejected: RejectedEntry[] = [];
    events.forEach((raw, index) => {
      let candidate = raw;
      if (batchSentAt !== undefined && raw && typeof raw === 'object' && !Array.isArray(raw) && !('sent_at' in raw)) {
        candidate = { ...(raw as object), sent_at: batchSentAt };
      }
      const result = validateEvent(candidate, { now: receivedAt });
      const record: CollectedRecord = { v: 1, site: site.site, received_at: receivedAt, source, ...(userAgent ? { user_agent: userAgent } : {}), event: candidate };
      let signature: unknown;
      if (candidate && typeof candidate === 'object' && 'identity_signature' in candidate) {
        // Checked here, then dropped: a stored signature could be replayed by whoever reads the events.
        const { identity_signature, ...event } = candidate as Record<string, unknown>;
        signature = identity_signature;
        record.event = event;
      }
      if (result.ok && (result.event.type === 'identify' || result.event.type === 'alias')) {
        record.identity = identity.verify(site.site, result.event.customer_id ?? '', signature) ? 'verified' : 'unverified';
      }
      if (!result.ok) {
        record.reject = result.problem;
        const id = (raw as { event_id?: unknown } | null)?.event_id;
        rejected.push({ index, ...(typeof id === 'string' ? { event_id: id.slice(0, 64) } : {}), ...result.problem });
      }
      const ev = (result.ok ? result.event : {}) as { customer_id?: unknown; anonymous_id?: unknown };
      records.push({ key: partitionKey(ev), value: JSON.stringify(record) });
    });
    try {
      await eventLog!.append(topic, records);
    } catch (err) {
      if (err instanceof LogFullError) {
        log.error({ err }, 'event log full; refusing events');
        throw new HttpError(503, 'log_full', 'the event log is full; retry later', undefined, { 'Retry-After': '30' });
      }
      log.error({ err }, 'event log append failed');
      throw new HttpError(503, 'log_unavailable', 'the event log did not take the events; retry later', undefined, { 'Retry-After': '5' });
    }
    return { accepted: events.length - rejected.length, rejected };
  }

  async function handle(reply: FastifyReply, work: () => Promise<BatchResponse>): Promise<FastifyReply> {
    try {
      const res = await work();
      return reply.code(res.accepted === 0 ? 400 : 200).send(res.accepted === 0 ? { error: 'all_events_rejected', ...res } : res);
    } catch (err) {
      if (err instanceof HttpError) {
        for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
        return reply.code(err.status).send({ error: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) });
      }
      throw err;
    }
  }

  app.post('/v1/batch', async (req, reply) =>
    handle(reply, async () => {
      const body = parseBody(req.body);
      const site = authenticate(req, body);
      if (!Array.isArray(body.batch)) throw new HttpError(400, 'invalid_batch', 'batch must be an array of events', 'batch');
      return accept(req, reply, site, body.batch, body.sent_at);
    }),
  );

  const single = (forcedType?: string) => async (req: FastifyRequest, reply: FastifyReply) =>
    handle(reply, async () => {
      const body = parseBody(req.body);
      const site = authenticate(req, body);
      const { key: _key, ...event } = body;
      if (forcedType && event.type === undefined) event.type = forcedType;
      if (forcedType && event.type !== forcedType) throw new HttpError(400, 'invalid_type', `type must be ${forcedType} on this endpoint`, 'type');
      return accept(req, reply, site, [event], undefined);
    });

  app.post('/v1/track', single());
  app.post('/v1/identify', single('identify'));
}
