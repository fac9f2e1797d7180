// What a visitor can do, shared by the HTML forms and the JSON endpoints: sign up, log in and out,
// change the cart, check out, pay or cancel an order.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Cart } from './cart.store.ts';
import { CartError } from './cart.store.ts';
import type { LoginThrottle } from './login-throttle.ts';
import { SignUpError, type Member } from './members.store.ts';
import { OrderError, type Order } from './orders.store.ts';
import { identifyEvent } from './shop-events.ts';
import type { Shop } from './shop.ts';
import { ensureCartId, memberCartId, setSessionCookie, visitorCartId, type Visitor } from './visitor.ts';

async function startSession(shop: Shop, req: FastifyRequest, reply: FastifyReply, v: Visitor, member: Member, traits: Record<string, unknown>): Promise<void> {
  const token = await shop.members.createSession(member.customer_id);
  setSessionCookie(req, reply, token);
  const from = visitorCartId(req);
  if (from) shop.carts.merge(from, memberCartId(member.customer_id), { customer_id: member.customer_id, anonymous_id: v.anonymousId });
  v.member = member;
  v.cartId = memberCartId(member.customer_id);
  // Links this browser's anonymous id to the member: their browsing before sign-up counts for them.
  try {
    await shop.sink.send([identifyEvent(member.customer_id, v.anonymousId, traits, v.simTime ?? Date.now(), { locale: v.locale })]);
  } catch (err) {
    shop.log.error({ err }, 'identify event not delivered');
  }
}

/**
 * What a sign-up or login came to. `check_login`: the e-mail already has an account and the password is
 * not its password; the answer says so without saying the account exists. `throttled`: too many wrong
 * passwords for this account or from this address; nothing was checked.
 */
export type AccessResult =
  | { kind: 'signed_in'; member: Member; created: boolean }
  | { kind: 'bad_login' }
  | { kind: 'check_login' }
  | { kind: 'throttled'; retryAfterSeconds: number };

/**
 * Sign-up that does not tell which e-mails have accounts: a new e-mail gets an account; an e-mail that
 * has one is a login attempt (right password: signed in, as if new; wrong: a neutral answer), throttled
 * like a login, so sign-up is no faster an oracle or password guesser than the login form.
 */
export async function signUp(shop: Shop, throttle: LoginThrottle, req: FastifyRequest, reply: FastifyReply, v: Visitor, input: { email: string; name: string; password: string }): Promise<AccessResult> {
  const wait = throttle.retryAfter(input.email, req.ip);
  if (wait > 0) return { kind: 'throttled', retryAfterSeconds: wait };
  try {
    const member = await shop.members.signUp({ ...input, locale: v.locale, currency: v.currency, ...(v.simTime ? { now: v.simTime } : {}) });
    await startSession(shop, req, reply, v, member, { email: member.email, name: member.name, signup_date: new Date(member.created_ms).toISOString() });
    return { kind: 'signed_in', member, created: true };
  } catch (err) {
    if (!(err instanceof SignUpError) || err.code !== 'email_taken') throw err;
  }
  const member = await passwordLogin(shop, throttle, req, reply, v, input);
  return member ? { kind: 'signed_in', member, created: false } : { kind: 'check_login' };
}

export async function logIn(shop: Shop, throttle: LoginThrottle, req: FastifyRequest, reply: FastifyReply, v: Visitor, input: { email: string; password: string }): Promise<AccessResult> {
  const wait = throttle.retryAfter(input.email, req.ip);
  if (wait > 0) return { kind: 'throttled', retryAfterSeconds: wait };
  const member = await passwordLogin(shop, throttle, req, reply, v, input);
  return member ? { kind: 'signed_in', member, created: false } : { kind: 'bad_login' };
}

/** The password check both paths share: a failure counts for the throttle, a success clears it and starts a session. */
async function passwordLogin(shop: Shop, throttle: LoginThrottle, req: FastifyRequest, reply: FastifyReply, v: Visitor, input: { email: string; password: string }): Promise<Member | null> {
  const member = await shop.members.login(input.email, input.password);
  if (!member) {
    throttle.failed(input.email, req.ip);
    return null;
  }
  throttle.succeeded(input.email);
  await startSession(shop, req, reply, v, member, { email: member.email });
  return member;
}

export async function logOut(shop: Shop, req: FastifyRequest, reply: FastifyReply, v: Visitor): Promise<void> {
  await shop.members.endSession(v.sessionToken);
  setSessionCookie(req, reply, null);
  v.member = null;
  v.cartId = null;
}

function sellable(shop: Shop, productId: string): void {
  const p = shop.catalogue.get(productId);
  if (!p || !p.listed) throw new CartError('unknown_product', `product ${productId} is not for sale`);
}

export function addToCart(shop: Shop, req: FastifyRequest, reply: FastifyReply, v: Visitor, productId: string, quantity: number): Cart {
  sellable(shop, productId);
  return shop.carts.add(ensureCartId(v, req, reply), productId, quantity, { customer_id: v.member?.customer_id ?? '', anonymous_id: v.anonymousId });
}

export function setQuantity(shop: Shop, req: FastifyRequest, reply: FastifyReply, v: Visitor, productId: string, quantity: number): Cart {
  if (quantity > 0) sellable(shop, productId);
  return shop.carts.set(ensureCartId(v, req, reply), productId, quantity, { customer_id: v.member?.customer_id ?? '', anonymous_id: v.anonymousId });
}

/** Creates the order from the member's cart and empties the cart. */
export async function checkout(shop: Shop, v: Visitor): Promise<Order> {
  if (!v.member) throw new OrderError(401, 'login_required', 'log in or sign up to check out');
  const cart = shop.carts.get(memberCartId(v.member.customer_id));
  const order = await shop.orders.checkout({ customerId: v.member.customer_id, anonymousId: v.anonymousId, lines: cart.lines, displayCurrency: v.currency, ...(v.simTime ? { at: v.simTime } : {}) });
  shop.carts.clear(cart.cart_id);
  return order;
}

export function customerTransition(shop: Shop, v: Visitor, orderId: string, action: string): Promise<Order> {
  if (!v.member) return Promise.reject(new OrderError(401, 'login_required', 'log in to manage your orders'));
  return shop.orders.transition(orderId, action, { kind: 'customer', customerId: v.member.customer_id }, { ...(v.simTime ? { at: v.simTime } : {}), locale: v.locale });
}
