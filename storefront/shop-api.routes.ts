// JSON endpoints of the shop.
//  Visitor (cookies, like the pages):  /shop/api/products, /shop/api/cart, /shop/api/checkout,
//    /shop/api/orders[/:id[/:action]], /shop/api/signup|login|logout, /shop/api/me
//  Shop staff (secret key, admin):     /v1/shop/orders[/:id[/:action]], /v1/shop/products/import
// Refused transitions answer 409 { error: 'invalid_transition', state, allowed, message }.
import type { FastifyInstance } from 'fastify';
import { loginThrottleFor } from './login-throttle.ts';
import { shopFor, type ShopDeps } from './shop.ts';
import { cartApi } from './shop-api/cart.ts';
import { catalogueApi } from './shop-api/catalogue.ts';
import { apiKit } from './shop-api/kit.ts';
import { memberApi } from './shop-api/members.ts';
import { orderApi } from './shop-api/orders.ts';
import { staffApi } from './shop-api/staff.ts';

export default async function shopApiRoutes(app: FastifyInstance, opts: { deps: ShopDeps }): Promise<void> {
  const { deps } = opts;
  const shop = await shopFor(deps);

  const kit = apiKit(deps, shop);
  catalogueApi(app, kit);
  cartApi(app, kit);
  orderApi(app, kit);
  memberApi(app, kit, loginThrottleFor(deps));
  staffApi(app, kit, deps);
}
