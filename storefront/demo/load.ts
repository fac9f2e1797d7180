// Loads the demo shop into an empty store: the catalogue into products, and months of behaviour through
// the event log (the path collected events take), then waits for the transformer and runs every model.
// The history goes to the bulk topic, drained by a transformer of its own, so live events posted meanwhile
// (the shop, a snippet) are not queued behind ~100k old ones.
import { partitionKey, type CollectedRecord } from '../../ingest/contract.ts';
import type { EventLog } from '../../lib/eventlog/types.ts';
import type { ClickHouse } from '../../lib/clickhouse.ts';
import type { Config } from '../../lib/config.ts';
import { demoCatalogue } from './catalogue.ts';
import { generateHistory } from './history.ts';

export interface DemoSize {
  customers: number;
  days: number;
}

export async function isStoreEmpty(ch: ClickHouse): Promise<boolean> {
  const [row] = await ch.rows<{ n: string }>('SELECT count() AS n FROM events');
  return Number(row?.n ?? 0) === 0;
}

export async function loadCatalogue(ch: ClickHouse): Promise<number> {
  const products = demoCatalogue();
  await ch.insert(
    'products',
    products.map((p) => ({ product_id: p.product_id, title: p.title, description: p.description, category: p.category, tags: p.tags, price: p.price, currency: p.currency, stock: p.stock, listed: p.listed })),
  );
  return products.length;
}

/** Appends the demo history to the log's bulk topic; returns how many events were appended. */
/** `end` is the history's last instant: the caller's clock, so a seed gives the same shop when the clock is fixed. */
export async function appendDemoHistory(eventLog: EventLog, config: Config, size: DemoSize, end: number): Promise<number> {
  const history = generateHistory(demoCatalogue(), { customers: size.customers, days: size.days, end });
  const chunk = 5000;
  for (let i = 0; i < history.length; i += chunk) {
    const records = history.slice(i, i + chunk).map((h) => {
      const rec: CollectedRecord = { v: 1, site: config.keys.demoSite, received_at: h.receivedAt, source: h.source, user_agent: h.userAgent, event: h.event };
      return { key: partitionKey(h.event as { customer_id?: string; anonymous_id?: string }), value: JSON.stringify(rec) };
    });
    await eventLog.append(config.topics.bulk, records);
  }
  return history.length;
}
