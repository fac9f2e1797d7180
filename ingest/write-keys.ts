// Write keys are public: they identify a site and can only send events. Each site lists the page
// origins allowed to send with its key ('*' allows any).
import type { Config } from '../lib/config.ts';

export interface Site {
  site: string;
  origins: string[];
}

export interface WriteKeyResolver {
  resolve(key: string): Site | null;
  /** Whether any site accepts this origin (used for CORS preflight, before the key is known). */
  originAllowed(origin: string): boolean;
}

export class StaticWriteKeys implements WriteKeyResolver {
  private readonly keys = new Map<string, Site>();

  constructor(entries: Array<{ key: string } & Site> = []) {
    for (const e of entries) this.add(e.key, { site: e.site, origins: e.origins });
  }

  static fromConfig(config: Config): StaticWriteKeys {
    return new StaticWriteKeys([{ key: config.keys.demoWrite, site: config.keys.demoSite, origins: config.keys.demoOrigins }]);
  }

  add(key: string, site: Site): void {
    this.keys.set(key, site);
  }

  resolve(key: string): Site | null {
    return this.keys.get(key) ?? null;
  }

  originAllowed(origin: string): boolean {
    for (const s of this.keys.values()) if (siteAllowsOrigin(s, origin)) return true;
    return false;
  }
}

export function siteAllowsOrigin(site: Site, origin: string | undefined): boolean {
  if (!origin) return true; // server-side senders have no Origin header
  return site.origins.includes('*') || site.origins.includes(origin);
}
