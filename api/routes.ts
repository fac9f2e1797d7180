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
  { role: 'api', load: () => import('./customers.routes.ts') },
  { role: 'api', load: () => import('./models.routes.ts') },
];
