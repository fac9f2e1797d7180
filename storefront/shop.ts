// The shop's services, built on first use once per process and shared by its route modules (deps.services.shop).
import type { AppDeps } from '../lib/app-deps.ts';
import type { ApiDeps, ApiServices } from '../api/services.ts';
import type { ErasureHolder, ErasureSubject } from '../api/erasure.ts';
import { chTime } from '../lib/clickhouse.ts';
import { FxTable } from '../transform/fx.ts';
import { Carts } from './cart.store.ts';
import { Catalogue, type Product } from './catalogue.ts';
import { Money } from './currency.ts';
import { Members } from './members.store.ts';
import { OrderBook } from './orders.store.ts';
import type { ProductInput } from './products-csv.ts';
import { ClientSink, EventLogSink, type ShopEventSink } from './shop-events.ts';
import { ShopRecs } from './shop-recs.ts';
import type { Logger } from '../lib/logger.ts';
import { identitySecrets } from '../ingest/identity.ts';

export interface ShopServices extends ApiServices {
  shop: ShopService;
}

export type ShopDeps = AppDeps<ShopServices>;

export interface Shop {
  catalogue: Catalogue;
  members: Members;
  carts: Carts;
  orders: OrderBook;
  money: Money;
  recs: ShopRecs;
  sink: ShopEventSink;
  log: Logger;
  /** Upserts products (an import) between checkouts; their stock becomes the imported count. */
  importProducts(products: ProductInput[]): Promise<number>;
  /** Re-reads the catalogue when products rows were written by someone else (demo load, CLI import). */
  refreshCatalogue(force?: boolean): Promise<boolean>;
  /** Erasure: blocks the account, ends its sessions, anonymises its orders in memory, flushes pending cart writes. */
  erase(subject: ErasureSubject): Promise<void>;
  close(): Promise<void>;
}

/** Writes products rows; `stampMs` orders them against the stock deltas in order_events. */
export async function writeProducts(deps: Pick<ApiDeps, 'ch'>, products: ProductInput[], stampMs: number): Promise<Product[]> {
  const rows = products.map((p) => ({ ...p, updated_at: chTime(stampMs) }));
  for (let i = 0; i < rows.length; i += 10_000) await deps.ch.insert('products', rows.slice(i, i + 10_000));
  return products.map((p) => ({ ...p, updated_ms: stampMs }));
}

async function productsVersion(deps: Pick<ApiDeps, 'ch'>): Promise<string> {
  const [r] = await deps.ch.rows<{ v: string }>("SELECT concat(toString(count()), '/', toString(max(updated_at))) AS v FROM products");
  return r?.v ?? '';
}

function sinkFor(deps: ApiDeps, log: Logger): ShopEventSink {
  if (deps.eventLog) return new EventLogSink(deps.eventLog, deps.config);
  // No collector in this process (the distributed api role): send to the collector over HTTP like any
  // shop back end would, at CVM_COLLECTOR_URL (the gateway), else at this server's own address.
  const host = deps.config.collectorUrl ?? `http://${deps.config.host === '0.0.0.0' ? '127.0.0.1' : deps.config.host}:${deps.config.port}`;
  if (!deps.config.collectorUrl) log.warn({ host }, 'this process has no event log and CVM_COLLECTOR_URL is not set; shop events go to this server');
  return new ClientSink(host, deps.config.keys.demoWrite, log, identitySecrets(deps.config).forSite(deps.config.keys.demoSite));
}

async function buildShop(deps: ApiDeps): Promise<Shop> {
  const log = deps.log.child({ name: 'shop' });
  const money = new Money(await FxTable.load(deps.ch), deps.config.baseCurrency);
  const catalogue = await Catalogue.load(deps.ch);
  const members = await Members.load(deps.ch, deps.services.pii);
  const carts = await Carts.load(deps.ch, log);
  const sink = sinkFor(deps, log);
  const orders = (await OrderBook.load(deps.ch, catalogue, money, sink, log)).start();
  const recs = new ShopRecs(deps.services.recs, catalogue);

  // Rates change daily; a fresh table every ten minutes is plenty.
  const fxTimer = setInterval(() => void FxTable.load(deps.ch).then((t) => money.setTable(t)).catch((err) => log.warn({ err }, 'fx reload failed')), 600_000);
  fxTimer.unref();

  // Products written by others (the demo loader at first start, `cvm import products` against a
  // ClickHouse server) show up within seconds. The reload runs in the order writer, when memory and
  // ClickHouse agree, so the recomputed stock is exact.
  let seen = await productsVersion(deps);
  const refreshCatalogue = async (force = false): Promise<boolean> => {
    const v = await productsVersion(deps);
    if (!force && v === seen) return false;
    await orders.exclusive(async () => {
      catalogue.replace((await Catalogue.load(deps.ch)).all());
      seen = await productsVersion(deps);
    });
    log.info({ products: catalogue.size() }, 'catalogue reloaded');
    return true;
  };
  const catalogueTimer = setInterval(() => void refreshCatalogue().catch((err) => log.warn({ err }, 'catalogue refresh failed')), 5000);
  catalogueTimer.unref();

  // Events of transitions recorded just before a crash.
  orders.reconcile().catch((err) => log.warn({ err }, 'shop event reconcile failed'));
  log.info({ products: catalogue.size(), members: members.count(), orders: orders.count(), events: sink.kind }, 'shop ready');

  let closed: Promise<void> | null = null;
  return {
    catalogue, members, carts, orders, money, recs, sink, log, refreshCatalogue,
    async erase(subject) {
      for (const c of subject.customers) await members.erase(c);
      await orders.anonymise(subject);
      // Carts are written behind: what is pending lands now, before the erasure deletes the rows.
      await carts.forget(subject);
    },
    importProducts(products) {
      return orders.exclusive(async () => {
        const written = await writeProducts(deps, products, orders.nextStamp());
        catalogue.upsert(written);
        seen = await productsVersion(deps);
        return written.length;
      });
    },
    close() {
      closed ??= (async () => {
        clearInterval(fxTimer);
        clearInterval(catalogueTimer);
        await orders.close();
        await carts.close();
        await sink.close();
      })();
      return closed;
    },
  };
}

/** The process's shop, built on first use; a holder of customer data for erasure. */
export class ShopService implements ErasureHolder {
  private built: Promise<Shop> | null = null;

  constructor(private readonly deps: ApiDeps) {}

  get(): Promise<Shop> {
    return (this.built ??= buildShop(this.deps));
  }

  async forget(subject: ErasureSubject): Promise<void> {
    // Waits for a shop still being built; a shop never built holds nobody.
    if (this.built) await (await this.built).erase(subject);
  }

  async holds(subject: ErasureSubject): Promise<boolean> {
    if (!this.built) return false;
    const shop = await this.built;
    return subject.customers.some((c) => shop.members.holds(c)) || shop.carts.holds(subject);
  }

  async close(): Promise<void> {
    if (this.built) await (await this.built).close();
  }
}

export function shopFor(deps: ShopDeps): Promise<Shop> {
  return deps.services.shop.get();
}
