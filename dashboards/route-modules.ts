// The dashboards' route plugin; the wiring (bin/runtime.ts) hands it to buildApp, so the API layer never
// imports the dashboards.
import type { RouteModule } from '../api/routes.ts';

export const DASHBOARD_ROUTE_MODULES: RouteModule[] = [{ role: 'api', load: () => import('./dashboards.routes.ts') }];
