// Serving rules applied to a ranked candidate list: leave out what must not be shown, and keep the
// top of the list varied so one category cannot take it over.

export interface Candidate {
  product_id: string;
  score: number;
  reason: string;
}

/** Drops excluded items (bought, in the cart, the product on screen) and, when a catalogue is given, items not in it (unlisted, out of stock). */
export function excludeItems<T extends { product_id: string }>(items: T[], excluded: ReadonlySet<string>, available?: ReadonlyMap<string, unknown>): T[] {
  return items.filter((c) => !excluded.has(c.product_id) && (!available || available.size === 0 || available.has(c.product_id)));
}

/**
 * Variety: at most `maxPerCategory` items of one category among the first `window` positions. Items
 * held back keep their order and follow once the window is full. Items without a category are not
 * capped. If the candidates run out before the window is full, the held-back items fill it: a short
 * list would be worse than a repetitive one.
 */
export function applyVariety<T extends { product_id: string }>(items: T[], categoryOf: (id: string) => string | undefined, maxPerCategory: number, window = 10): T[] {
  if (maxPerCategory <= 0) return items;
  const out: T[] = [];
  const held: T[] = [];
  const perCategory = new Map<string, number>();
  for (const item of items) {
    if (out.length >= window) {
      held.push(item);
      continue;
    }
    const cat = categoryOf(item.product_id);
    const n = cat ? (perCategory.get(cat) ?? 0) : 0;
    if (cat && n >= maxPerCategory) {
      held.push(item);
      continue;
    }
    if (cat) perCategory.set(cat, n + 1);
    out.push(item);
  }
  return out.concat(held);
}

/** Adds a scored source into the candidate pool: scores are scaled to the source's best (1) times its weight; the reason of the largest contribution wins. */
export class CandidatePool {
  private readonly pool = new Map<string, { score: number; best: number; reason: string }>();

  add(items: ReadonlyArray<{ id: string; score: number }>, weight: number, reason: (id: string) => string): void {
    let max = 0;
    for (const it of items) if (it.score > max) max = it.score;
    if (max <= 0 || weight <= 0) return;
    for (const it of items) {
      const contribution = (weight * it.score) / max;
      if (contribution <= 0) continue;
      const cur = this.pool.get(it.id);
      if (!cur) this.pool.set(it.id, { score: contribution, best: contribution, reason: reason(it.id) });
      else {
        cur.score += contribution;
        if (contribution > cur.best) {
          cur.best = contribution;
          cur.reason = reason(it.id);
        }
      }
    }
  }

  ranked(): Candidate[] {
    return [...this.pool.entries()]
      .map(([product_id, c]) => ({ product_id, score: c.score, reason: c.reason }))
      .sort((a, b) => b.score - a.score || (a.product_id < b.product_id ? -1 : a.product_id > b.product_id ? 1 : 0));
  }

  get size(): number {
    return this.pool.size;
  }
}
