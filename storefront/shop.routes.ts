// The shop's HTML pages under /shop: server-rendered, every value escaped, cvm.js on every page.
// Forms post here and redirect (303) to the next page; errors re-render the form with a message.
import type { FastifyInstance } from 'fastify';
import { parseForm } from './form-input.ts';
import { loginThrottleFor } from './login-throttle.ts';
import { shopFor, type ShopDeps } from './shop.ts';
import { assetRoutes } from './shop-pages/assets.ts';
import { cartPages } from './shop-pages/cart.ts';
import { cataloguePages } from './shop-pages/catalogue.ts';
import { pageKit } from './shop-pages/kit.ts';
import { memberPages } from './shop-pages/members.ts';
import { orderPages } from './shop-pages/orders.ts';

export default async function shopRoutes(app: FastifyInstance, opts: { deps: ShopDeps }): Promise<void> {
  const { deps } = opts;
  const shop = await shopFor(deps);
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => done(null, parseForm(String(body))));

  const kit = pageKit(deps, shop);
  assetRoutes(app);
  cataloguePages(app, kit);
  cartPages(app, kit);
  orderPages(app, kit);
  memberPages(app, kit, loginThrottleFor(deps));
}
