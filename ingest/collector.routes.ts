// The collector: accepts events from the snippet and shop back ends, validates each one against the
// contract, and answers 2xx only after the event log holds every accepted event (and every reject,
// which the transformer turns into a dead-letter row). Nothing it acknowledged can be lost. While the
// process shuts down (bin/shutdown.ts) it answers 503 draining, so clients retry elsewhere or later.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IngestDeps } from './services.ts';
import { RateLimiter } from './rate-limit.ts';
import { identitySecrets } from './identity.ts';
import { acceptor, type Accept } from './collector/accept.ts';
import { authenticate } from './collector/authenticate.ts';
import { collectorCors } from './collector/cors.ts';
import { answer, HttpError, parseBody, refuse } from './collector/http.ts';
import type { Drain } from './collector/draining.ts';

export type { BatchResponse, RejectedEntry } from './collector/http.ts';

/** A restart (or another collector behind the gateway) takes events again within seconds. */
const DRAIN_RETRY_S = 5;

export default async function collectorRoutes(app: FastifyInstance, opts: { deps: IngestDeps }): Promise<void> {
  const { deps } = opts;
  const { config } = deps;
  const eventLog = deps.eventLog;
  if (!eventLog) throw new Error('collector routes need an event log');
  const { writeKeys } = deps.services;
  const limiter = new RateLimiter(config.collector.rateLimitPerMinute);
  const identity = identitySecrets(config);
  const log = deps.log.child({ name: 'collector' });

  // Beacons arrive as text/plain; every body is parsed here so one event's bad key or depth
  // does not throw away the rest of its batch.
  app.addContentTypeParser(['application/json', 'text/plain'], { parseAs: 'string', bodyLimit: config.collector.maxBodyBytes }, (_req, body, done) => done(null, body));
  collectorCors(app, writeKeys);
  // Before the body is read: a draining collector takes nothing more, whatever the request holds.
  const drain: Drain | null = app.hasDecorator('cvmDrain') ? app.cvmDrain : null;
  app.addHook('onRequest', async (req, reply) => {
    if (drain?.draining && req.method === 'POST') {
      return refuse(reply, new HttpError(503, 'draining', 'this collector is shutting down; retry shortly', undefined, { 'Retry-After': String(DRAIN_RETRY_S) }));
    }
  });

  const acceptNow = acceptor({ config, eventLog, limiter, identity, log });
  // Appends under way, also those of requests whose client went away: Fastify's close does not wait for
  // their handlers, and the runtime closes the log right after the app.
  const pending = new Set<Promise<unknown>>();
  const accept: Accept = (...args) => {
    const p = acceptNow(...args);
    pending.add(p);
    p.then(() => pending.delete(p), () => pending.delete(p));
    return p;
  };
  app.addHook('onClose', async () => {
    await Promise.allSettled([...pending]);
  });
  const siteOf = (req: FastifyRequest, body: Record<string, unknown>) => authenticate(writeKeys, req, body);

  app.post('/v1/batch', async (req, reply) =>
    answer(reply, async () => {
      const body = parseBody(req.body);
      const site = siteOf(req, body);
      if (!Array.isArray(body.batch)) throw new HttpError(400, 'invalid_batch', 'batch must be an array of events', 'batch');
      return accept(req, site, body.batch, body.sent_at);
    }),
  );

  /** One event as the body; `forcedType` is the only type the endpoint takes (and the default). */
  const single = (forcedType?: string) => async (req: FastifyRequest, reply: FastifyReply) =>
    answer(reply, async () => {
      const body = parseBody(req.body);
      const site = siteOf(req, body);
      const { key: _key, ...event } = body;
      if (forcedType && event.type === undefined) event.type = forcedType;
      if (forcedType && event.type !== forcedType) throw new HttpError(400, 'invalid_type', `type must be ${forcedType} on this endpoint`, 'type');
      return accept(req, site, [event], undefined);
    });

  app.post('/v1/track', single());
  app.post('/v1/identify', single('identify'));
}
