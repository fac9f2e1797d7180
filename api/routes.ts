// Every route plugin of the collector and the API, and the role that serves it. One line per module.
// Modules of the layers above (dashboards, storefront) are handed to buildApp by the wiring in bin/.
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from './services.ts';

export interface RouteModule<D extends ApiDeps = ApiDeps> {
  role: 'collector' | 'api';
  load: () => Promise<{ default: (app: FastifyInstance, opts: { deps: D }) => Promise<void> }>;
}

export const ROUTE_MODULES: RouteModule[] = [
  { role: 'collector', load: () => import('../ingest/collector.routes.ts') },
  { role: 'collector', load: () => import('../ingest/snippet.routes.ts') },
  { role: 'api', load: () => import('./recommendations.routes.ts') },
  { role: 'api', load: () => import('./customers.routes.ts') },
  { role: 'api', load: () => import('./privacy.routes.ts') },
  { role: 'api', load: () => import('./segments.routes.ts') },
  { role: 'api', load: () => import('./query.routes.ts') },
  { role: 'api', load: () => import('./admin-keys.routes.ts') },
  { role: 'api', load: () => import('./models.routes.ts') },
  { role: 'api', load: () => import('./pipeline.routes.ts') },
  { role: 'api', load: () => import('./rejects.routes.ts') },
  { role: 'api', load: () => import('./customer-merges.routes.ts') },
  { role: 'api', load: () => import('./backups.routes.ts') },
];
