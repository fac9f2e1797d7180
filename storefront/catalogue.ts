// The catalogue in memory: products, the category tree, search. Loaded from ClickHouse at start (one
// query); stock is changed only by the shop's single writer (orders.store.ts), which also records it.
import type { ClickHouse } from '../lib/clickhouse.ts';
import { sql } from '../lib/sql.ts';
import type { ProductInput } from './products-csv.ts';

export interface Product extends ProductInput {
  updated_ms: number;
}

export interface CategoryNode {
  path: string; // 'Home > Kitchen'
  name: string; // 'Kitchen'
  slug: string; // 'home/kitchen'
  children: CategoryNode[];
  count: number; // listed products here and below
}

export function slugify(level: string): string {
  const s = level.toLowerCase().replace(/&/g, 'and').replace(/[^\p{L}\p{N}]+/gu, '-').replace(/^-+|-+$/g, '');
  return s || 'x';
}

const tokenize = (s: string): string[] => s.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
const CJK = /[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]/;

interface SearchDoc {
  title: string[];
  tags: string[];
  category: string[];
  description: string[];
  text: string; // lower-cased everything, for CJK substring matching
}

export class Catalogue {
  private products = new Map<string, Product>();
  private docs = new Map<string, SearchDoc>();
  private tree: CategoryNode[] = [];
  private bySlug = new Map<string, CategoryNode>();

  static async load(ch: ClickHouse): Promise<Catalogue> {
    const rows = await ch.rows<Product & { stock: string | number; updated_ms: string | number; listed: number }>(sql('storefront/load-catalogue'));
    const c = new Catalogue();
    c.replace(rows.map((r) => ({ ...r, stock: Number(r.stock), updated_ms: Number(r.updated_ms), listed: Number(r.listed), price: Number(r.price) })));
    return c;
  }

  replace(products: Product[]): void {
    this.products = new Map(products.map((p) => [p.product_id, p]));
    this.reindex();
  }

  /** New or changed products (an import); stock is the imported count. */
  upsert(products: Product[]): void {
    for (const p of products) this.products.set(p.product_id, p);
    this.reindex();
  }

  private reindex(): void {
    this.docs = new Map();
    for (const p of this.products.values()) {
      this.docs.set(p.product_id, {
        title: tokenize(p.title),
        tags: p.tags.flatMap(tokenize),
        category: tokenize(p.category),
        description: tokenize(p.description),
        text: `${p.title} ${p.tags.join(' ')} ${p.category} ${p.description}`.toLowerCase(),
      });
    }
    // The tree of category paths, with listed-product counts.
    const roots: CategoryNode[] = [];
    const byPath = new Map<string, CategoryNode>();
    for (const p of this.products.values()) {
      if (!p.category) continue;
      const levels = p.category.split(' > ');
      let parent: CategoryNode | null = null;
      for (let i = 0; i < levels.length; i++) {
        const path = levels.slice(0, i + 1).join(' > ');
        let node = byPath.get(path);
        if (!node) {
          node = { path, name: levels[i]!, slug: levels.slice(0, i + 1).map(slugify).join('/'), children: [], count: 0 };
          byPath.set(path, node);
          (parent ? parent.children : roots).push(node);
        }
        if (p.listed) node.count++;
        parent = node;
      }
    }
    const sort = (ns: CategoryNode[]) => {
      ns.sort((a, b) => a.name.localeCompare(b.name));
      for (const n of ns) sort(n.children);
    };
    sort(roots);
    this.tree = roots;
    this.bySlug = new Map([...byPath.values()].map((n) => [n.slug, n]));
  }

  get(id: string): Product | undefined {
    return this.products.get(id);
  }

  all(): Product[] {
    return [...this.products.values()];
  }

  size(): number {
    return this.products.size;
  }

  categories(): CategoryNode[] {
    return this.tree;
  }

  categoryBySlug(slug: string): CategoryNode | undefined {
    return this.bySlug.get(slug.replace(/^\/+|\/+$/g, '').toLowerCase());
  }

  categoryByPath(path: string): CategoryNode | undefined {
    for (const n of this.bySlug.values()) if (n.path === path) return n;
    return undefined;
  }

  /** Listed products in a category and below it, in-stock first, then by title. */
  inCategory(path: string): Product[] {
    const out = [...this.products.values()].filter((p) => p.listed && (p.category === path || p.category.startsWith(path + ' > ')));
    return out.sort((a, b) => Number(b.stock > 0) - Number(a.stock > 0) || a.title.localeCompare(b.title));
  }

  /**
   * Every query word must match (a word prefix of the title, tags, category or description; a
   * substring for Chinese/Japanese text, which has no spaces). Title matches weigh most.
   */
  search(query: string, limit = 200): Product[] {
    const words = tokenize(query).slice(0, 12);
    if (!words.length) return [];
    const scored: Array<{ p: Product; score: number }> = [];
    for (const p of this.products.values()) {
      if (!p.listed) continue;
      const d = this.docs.get(p.product_id)!;
      let score = 0;
      let all = true;
      for (const w of words) {
        const hit = (ts: string[]) => ts.some((t) => t === w) ? 2 : ts.some((t) => t.startsWith(w)) ? 1 : 0;
        let s = 3 * hit(d.title) + 2 * hit(d.tags) + 1.5 * hit(d.category) + hit(d.description);
        if (s === 0 && CJK.test(w) && d.text.includes(w)) s = 1;
        if (s === 0) {
          all = false;
          break;
        }
        score += s;
      }
      if (all) scored.push({ p, score: score + (p.stock > 0 ? 0.5 : 0) });
    }
    scored.sort((a, b) => b.score - a.score || a.p.title.localeCompare(b.p.title));
    return scored.slice(0, limit).map((s) => s.p);
  }

  /** Called by the order writer only. */
  adjustStock(id: string, delta: number): void {
    const p = this.products.get(id);
    if (p) p.stock += delta;
  }
}
