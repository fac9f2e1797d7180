// Sign-up, login, logout and the account page. Throttled password checks answer 429 with Retry-After;
// a sign-up with a taken e-mail shows the login form without saying the e-mail has an account.
import type { FastifyInstance } from 'fastify';
import { str, type Form } from '../form-input.ts';
import type { MessageKey } from '../i18n.ts';
import type { LoginThrottle } from '../login-throttle.ts';
import { SignUpError } from '../members.store.ts';
import { accountPage, loginPage, safeNext, signupPage } from '../pages/account.pages.ts';
import { logIn, logOut, signUp } from '../shop-actions.ts';
import { standing } from '../tiers.ts';
import type { PageKit } from './kit.ts';

const signUpErrors: Record<SignUpError['code'], MessageKey> = { email_taken: 'error_email_taken', bad_email: 'error_bad_email', short_password: 'error_short_password', bad_name: 'error_name' };

export function memberPages(app: FastifyInstance, kit: PageKit, throttle: LoginThrottle): void {
  const { shop, page, context, see, loginFirst } = kit;

  app.get('/shop/signup', page((req, reply, v) => {
    if (v.member) return see(reply, '/shop/account');
    return signupPage(context(req, reply, v), safeNext((req.query as Record<string, unknown>).next), null);
  }));
  app.post('/shop/signup', page(async (req, reply, v) => {
    const f = (req.body ?? {}) as Form;
    const next = safeNext(f.next);
    const email = str(f.email, 320);
    try {
      const result = await signUp(shop, throttle, req, reply, v, { email, name: str(f.name, 200), password: str(f.password, 1024) });
      if (result.kind === 'signed_in') return see(reply, next);
      if (result.kind === 'throttled') return reply.code(429).header('Retry-After', String(result.retryAfterSeconds)).send(loginPage(context(req, reply, v), next, v.t('error_too_many', { n: result.retryAfterSeconds }), email));
      // The e-mail has an account and this is not its password: the login form, without saying so.
      return loginPage(context(req, reply, v), next, null, email, v.t('notice_check_login'));
    } catch (err) {
      if (!(err instanceof SignUpError)) throw err;
      return reply.code(400).send(signupPage(context(req, reply, v), next, v.t(signUpErrors[err.code]), { email, name: str(f.name, 200) }));
    }
  }));

  app.get('/shop/login', page((req, reply, v) => {
    if (v.member) return see(reply, '/shop/account');
    return loginPage(context(req, reply, v), safeNext((req.query as Record<string, unknown>).next), null);
  }));
  app.post('/shop/login', page(async (req, reply, v) => {
    const f = (req.body ?? {}) as Form;
    const next = safeNext(f.next);
    const email = str(f.email, 320);
    const result = await logIn(shop, throttle, req, reply, v, { email, password: str(f.password, 1024) });
    if (result.kind === 'signed_in') return see(reply, next);
    if (result.kind === 'throttled') return reply.code(429).header('Retry-After', String(result.retryAfterSeconds)).send(loginPage(context(req, reply, v), next, v.t('error_too_many', { n: result.retryAfterSeconds }), email));
    return reply.code(401).send(loginPage(context(req, reply, v), next, v.t('error_bad_login'), email));
  }));

  app.post('/shop/logout', page(async (req, reply, v) => {
    await logOut(shop, req, reply, v);
    return see(reply, '/shop?bye=1');
  }));

  app.get('/shop/account', page((req, reply, v) => {
    if (!v.member) return loginFirst(req, reply);
    const q = req.query as Record<string, unknown>;
    return accountPage(context(req, reply, v), shop.orders.forCustomer(v.member.customer_id), standing(shop.orders.netSpend(v.member.customer_id)), q.saved === '1' ? v.t('saved') : null, null);
  }));
  app.post('/shop/account', page(async (req, reply, v) => {
    if (!v.member) return loginFirst(req, reply);
    const f = (req.body ?? {}) as Form;
    try {
      v.member = await shop.members.updateProfile(v.member.customer_id, { name: str(f.name, 200) });
    } catch (err) {
      if (!(err instanceof SignUpError)) throw err;
      return reply.code(400).send(accountPage(context(req, reply, v), shop.orders.forCustomer(v.member.customer_id), standing(shop.orders.netSpend(v.member.customer_id)), null, v.t(signUpErrors[err.code])));
    }
    return see(reply, '/shop/account?saved=1');
  }));
}
