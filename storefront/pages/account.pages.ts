// Sign-up, login and the account page (profile, tier and points, order history).
import { html } from '../html.ts';
import type { Order } from '../orders.store.ts';
import type { Standing } from '../tiers.ts';
import { layout, money, type PageContext } from './layout.ts';
import { orderRows } from './orders.pages.ts';

/** Only local paths under /shop may be a post-login destination (no open redirect). */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/shop(\/[^\s\\]*)?(\?[^\s\\]*)?$/.test(next) && !next.startsWith('//') ? next : '/shop/account';
}

/** `notice`: a neutral hint (sign-up with an e-mail that may have an account), shown above the form. */
export function loginPage(ctx: PageContext, next: string, error: string | null, email = '', notice: string | null = null): string {
  const t = ctx.t;
  const body = html`<h1>${t('login')}</h1>
<form class="form" method="post" action="/shop/login" id="login-form">
${error ? html`<p class="error" id="error">${error}</p>` : ''}${notice ? html`<p class="notice" id="notice">${notice}</p>` : ''}
<input type="hidden" name="next" value="${next}">
<label for="email">${t('email')}</label><input id="email" name="email" type="email" autocomplete="email" required value="${email}">
<label for="password">${t('password')}</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<p><button type="submit" id="submit">${t('login')}</button></p>
<p class="muted">${t('no_account')} <a href="/shop/signup?next=${encodeURIComponent(next)}">${t('signup')}</a></p></form>`;
  return layout(ctx, t('login'), body);
}

export function signupPage(ctx: PageContext, next: string, error: string | null, values: { email?: string; name?: string } = {}): string {
  const t = ctx.t;
  const body = html`<h1>${t('signup')}</h1>
<form class="form" method="post" action="/shop/signup" id="signup-form">
${error ? html`<p class="error" id="error">${error}</p>` : ''}
<input type="hidden" name="next" value="${next}">
<label for="name">${t('name')}</label><input id="name" name="name" autocomplete="name" required maxlength="100" value="${values.name ?? ''}">
<label for="email">${t('email')}</label><input id="email" name="email" type="email" autocomplete="email" required value="${values.email ?? ''}">
<label for="password">${t('password')}</label><input id="password" name="password" type="password" autocomplete="new-password" required minlength="8">
<p class="muted">${t('password_hint')}</p>
<p><button type="submit" id="submit">${t('signup')}</button></p>
<p class="muted">${t('have_account')} <a href="/shop/login?next=${encodeURIComponent(next)}">${t('login')}</a></p></form>`;
  return layout(ctx, t('signup'), body);
}

export function accountPage(ctx: PageContext, orders: Order[], standing: Standing, notice: string | null, error: string | null): string {
  const t = ctx.t;
  const m = ctx.member!;
  const tierName = (tier: string) => t(`tier_${tier}` as Parameters<typeof t>[0]);
  const body = html`<h1>${t('welcome', { name: m.name })}</h1>
${notice ? html`<p class="notice" id="notice">${notice}</p>` : ''}${error ? html`<p class="error" id="error">${error}</p>` : ''}
<div class="cols">
<section class="form" id="standing" data-tier="${standing.tier}" data-points="${standing.points}">
<h2 style="margin-top:0">${t('tier')}</h2>
<p><span class="badge tier-${standing.tier}" id="tier">${tierName(standing.tier)}</span></p>
<p>${t('points')}: <b id="points">${standing.points}</b></p>
<p class="muted">${t('points_note', { base: ctx.money.base })}</p>
<p class="muted" id="next-tier">${standing.next ? t('to_next_tier', { amount: money(ctx, standing.next.remaining, ctx.money.base), tier: tierName(standing.next.tier) }) : t('top_tier')}</p>
</section>
<form class="form" method="post" action="/shop/account" id="profile-form">
<h2 style="margin-top:0">${t('profile')}</h2>
<label for="name">${t('name')}</label><input id="name" name="name" required maxlength="100" value="${m.name}">
<label>${t('email')}</label><p id="member-email">${m.email}</p>
<p class="muted">ID: <span id="customer-id">${m.customer_id}</span></p>
<p class="row"><button type="submit">${t('save')}</button></p>
</form></div>
<h2>${t('order_history')}</h2>
${orderRows(ctx, orders)}
<form method="post" action="/shop/logout" style="margin-top:20px"><button class="secondary" type="submit" id="logout">${t('logout')}</button></form>`;
  return layout(ctx, t('account'), body);
}
