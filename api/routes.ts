// Every route plugin, and the role that serves it. One line per module.
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from './deps.ts';

export interface RouteModule {
  role: 'collector' | 'api';
  load: () => Promise<{ default: (app: FastifyInstance, opts: { deps: AppDeps }) => Promise<void> }>;
}

export const ROUTE_MODULES: RouteModule[] = [
  { role: 'collector', load: () => import('../ingest/collector.routes.ts') },
  { role: 'collector', load: () => import('../ingest/snippet.routes.ts') },
  // Before customers: the 360 view and the shop read the recommendation store it creates.
  { role: 'api', load: () => import('./recommendations.routes.ts') },
  { role: 'api', load: () => import('./customers.routes.ts') },
  { role: 'api', load: () => import('./privacy.routes.ts') },
  { role: 'api', load: () => import('./segments.routes.ts') },
  { role: 'api', load: () => import('./query.routes.ts') },
  { role: 'api', load: () => import('./admin-keys.routes.ts') },
  { role: 'api', load: () => import('./models.routes.ts') },
  { role: 'api', load: () => import('./dashboards.routes.ts') },
  { role: 'api', load: () => import('./pipeline.routes.ts') },
  { role: 'api', load: () => import('./rejects.routes.ts') },
  { role: 'api', load: () => import('./customer-merges.routes.ts') },
  { role: 'api', load: () => import('../storefront/shop.routes.ts') },
  { role: 'api', load: () => import('../storefront/shop-api.routes.ts') },
];
