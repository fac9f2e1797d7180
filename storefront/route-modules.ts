// The storefront's route plugins; the wiring (bin/runtime.ts) hands them to buildApp, so the API layer
// never imports the storefront.
import type { RouteModule } from '../api/routes.ts';
import type { ShopDeps } from './shop.ts';

export const SHOP_ROUTE_MODULES: Array<RouteModule<ShopDeps>> = [
  { role: 'api', load: () => import('./shop.routes.ts') },
  { role: 'api', load: () => import('./shop-api.routes.ts') },
];
