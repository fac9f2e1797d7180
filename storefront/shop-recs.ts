// The shop's recommendation shelves, answered in-process by the API's RecsStore (the same store that
// serves GET /v1/recommendations), kept to products the shop can sell now. Each shelf carries the
// list_id the store issued, which the page puts in data-cvm-list-id so cvm.js reports impressions and
// clicks against it.
import type { RecsStore } from '../models/recs/store.ts';
import { newListId } from '../models/recs/store.ts';
import type { Catalogue, Product } from './catalogue.ts';

export type ShelfKind = 'for_you' | 'popular' | 'similar' | 'bought_together' | 'cart';

export interface Shelf {
  kind: ShelfKind;
  listId: string;
  products: Array<{ product: Product; reason: string }>;
}

export class ShopRecs {
  constructor(private readonly store: RecsStore | null, private readonly catalogue: Catalogue) {}

  private shelf(kind: ShelfKind, answer: { items: Array<{ product_id: string; reason: string }>; runId: string | null }, limit: number): Shelf {
    const products: Shelf['products'] = [];
    for (const item of answer.items) {
      const p = this.catalogue.get(item.product_id);
      if (!p || !p.listed || p.stock <= 0) continue;
      products.push({ product: p, reason: item.reason });
      if (products.length >= limit) break;
    }
    return { kind, listId: newListId(answer.runId), products };
  }

  /** "Recommended for you": personal for a known customer, else from the visitor's browsing, else popular. */
  forVisitor(who: { customerId?: string; anonymousId?: string; country?: string }, limit = 8, context: { product?: string; cart?: string[] } = {}): Shelf {
    if (!this.store) return { kind: 'popular', listId: newListId(null), products: [] };
    const answer = this.store.recommend({
      ...(who.customerId ? { customerId: who.customerId } : {}),
      ...(who.anonymousId ? { anonymousId: who.anonymousId } : {}),
      ...(who.country ? { country: who.country } : {}),
      ...(context.product ? { contextProduct: context.product } : {}),
      ...(context.cart?.length ? { cart: context.cart } : {}),
      limit: limit * 2, // room for what the shop cannot sell now
    });
    const personal = answer.items.some((i) => i.reason === 'for_you' || i.reason.startsWith('viewed_with:') || i.reason.startsWith('bought_with:'));
    const kind: ShelfKind = context.cart?.length ? 'cart' : personal ? 'for_you' : 'popular';
    return this.shelf(kind, answer, limit);
  }

  similar(productId: string, limit = 6): Shelf {
    if (!this.store) return { kind: 'similar', listId: newListId(null), products: [] };
    return this.shelf('similar', this.store.similar(productId, limit * 2), limit);
  }

  boughtTogether(productId: string, limit = 4): Shelf {
    if (!this.store) return { kind: 'bought_together', listId: newListId(null), products: [] };
    return this.shelf('bought_together', this.store.boughtTogether(productId, limit * 2), limit);
  }
}
