// /shop/api/signup, login, logout and me. Throttled password checks answer 429 with Retry-After; a
// sign-up with a taken e-mail answers a neutral 202 that does not say whether the e-mail has an account.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { str } from '../form-input.ts';
import type { LoginThrottle } from '../login-throttle.ts';
import { SignUpError } from '../members.store.ts';
import { logIn, logOut, signUp, type AccessResult } from '../shop-actions.ts';
import { standing } from '../tiers.ts';
import type { ApiKit } from './kit.ts';

const tooMany = (reply: FastifyReply, r: Extract<AccessResult, { kind: 'throttled' }>) =>
  reply.code(429).header('Retry-After', String(r.retryAfterSeconds)).send({ error: 'too_many_attempts', field: 'password', retry_after_seconds: r.retryAfterSeconds, message: `too many attempts: try again in ${r.retryAfterSeconds} s` });

const signUpField = (code: SignUpError['code']) => (code === 'bad_name' ? 'name' : code === 'short_password' ? 'password' : 'email');

export function memberApi(app: FastifyInstance, { shop, visitor, member, body }: ApiKit, throttle: LoginThrottle): void {
  app.post('/shop/api/signup', async (req, reply) => {
    const v = visitor(req, reply);
    if (!v) return reply;
    const b = body(req);
    try {
      const r = await signUp(shop, throttle, req, reply, v, { email: str(b.email, 320), name: str(b.name, 200), password: str(b.password, 1024) });
      if (r.kind === 'signed_in') return reply.code(201).send({ customer_id: r.member.customer_id, email: r.member.email, name: r.member.name });
      if (r.kind === 'throttled') return tooMany(reply, r);
      // Neutral: the e-mail may or may not have an account; either way, logging in is the next step.
      return reply.code(202).send({ status: 'check_login', message: 'if this email already has an account, log in with its password (POST /shop/api/login); otherwise sign up with another email' });
    } catch (err) {
      if (err instanceof SignUpError) return reply.code(400).send({ error: err.code, field: signUpField(err.code), message: err.message });
      throw err;
    }
  });
  app.post('/shop/api/login', async (req, reply) => {
    const v = visitor(req, reply);
    if (!v) return reply;
    const b = body(req);
    const r = await logIn(shop, throttle, req, reply, v, { email: str(b.email, 320), password: str(b.password, 1024) });
    if (r.kind === 'throttled') return tooMany(reply, r);
    if (r.kind !== 'signed_in') return reply.code(401).send({ error: 'bad_login', message: 'email or password is wrong' });
    return { customer_id: r.member.customer_id, email: r.member.email, name: r.member.name };
  });
  app.post('/shop/api/logout', async (req, reply) => {
    const v = visitor(req, reply);
    if (!v) return reply;
    await logOut(shop, req, reply, v);
    return { ok: true };
  });
  app.get('/shop/api/me', async (req, reply) => {
    const v = visitor(req, reply);
    if (!v) return reply;
    const m = member(v, reply);
    if (!m) return reply;
    return { customer_id: m.customer_id, email: m.email, name: m.name, anonymous_id: v.anonymousId, ...standing(shop.orders.netSpend(m.customer_id)) };
  });
}
