// Serving rules of the RecsStore on a hand-built snapshot: exclusions, variety, identity resolution,
// cold start. (Loading from ClickHouse and the atomic swap are in recs.job.test.ts.)
import { describe, expect, it } from 'vitest';
import { buildSnapshot, RecsStore, type ListRow } from '../models/recs/store.ts';
import { applyVariety, CandidatePool } from '../models/recs/rules.ts';

const categories: Record<string, string> = {
  m1: 'mugs', m2: 'mugs', m3: 'mugs', m4: 'mugs', m5: 'mugs', m6: 'mugs',
  t1: 'tea', t2: 'tea', t3: 'tea', t4: 'tea',
  p1: 'posters', p2: 'posters', p3: 'posters',
  l1: 'lamps', l2: 'lamps',
  x1: '',
};

function lists(): ListRow[] {
  const rows: ListRow[] = [];
  const add = (kind: string, list: string, key: string, ids: string[], extra = '') =>
    ids.forEach((id, r) => rows.push({ kind, list, key, id, score: 10 - r, extra }));
  add('personal', '', 'c1', ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'gone', 't2', 'p1'], 'm9');
  add('similar', '', 't1', ['t2', 't3']);
  add('similar', '', 'm1', ['m3', 'm4']);
  add('bought_together', '', 't1', ['m1', 'gone']);
  add('popular', 'overall', '', ['m1', 't1', 'p1', 'l1', 'x1']);
  add('popular', 'trending', '', ['l2', 'p2']);
  add('popular', 'category', 'mugs', ['m1', 'm3']);
  add('popular', 'category', 'tea', ['t4', 't1']);
  add('popular', 'country', 'DE', ['p3', 'l1']);
  return rows;
}

function store(opts = {}) {
  const s = new RecsStore(opts);
  s.swap(
    buildSnapshot('run-1', {
      lists: lists(),
      history: [
        { actor_id: 'c1', purchased: ['m2'], recent: ['m2', 'm1'], country: 'FR' },
        { actor_id: 'anon-2', purchased: [], recent: ['t1'], country: '' },
      ],
      // 'gone' is not in the catalogue: unlisted or out of stock when the run was made.
      catalogue: Object.entries(categories).map(([product_id, category]) => ({ product_id, category })),
      identities: [{ anonymous_id: 'anon-1', customer_id: 'c1' }],
    }),
  );
  return s;
}

const ids = (items: Array<{ product_id: string }>) => items.map((i) => i.product_id);

describe('exclusion rules', () => {
  it('leaves out bought items, unavailable items, the cart and the product on screen', () => {
    const s = store();
    const r = s.recommend({ customerId: 'c1', limit: 50 });
    expect(ids(r.items)).not.toContain('m2'); // bought
    expect(ids(r.items)).not.toContain('gone'); // not in the catalogue
    expect(r.items[0]).toMatchObject({ product_id: 'm1', reason: 'for_you' });
    const withCart = s.recommend({ customerId: 'c1', cart: ['t1', 'm1'], contextProduct: 'm3', limit: 50 });
    for (const x of ['t1', 'm1', 'm3', 'm2', 'gone']) expect(ids(withCart.items)).not.toContain(x);
    expect(r.runId).toBe('run-1');
  });
});

describe('variety', () => {
  it('at most 3 items of one category in the top 10; held-back items follow', () => {
    const s = store();
    const r = s.recommend({ customerId: 'c1', limit: 20 });
    const top10 = r.items.slice(0, 10).map((i) => categories[i.product_id]);
    expect(top10.filter((c) => c === 'mugs').length).toBeLessThanOrEqual(3);
    // The personal list was mugs first (m1, m3, m4, m5, m6 after m2 was removed): m5 and m6 wait.
    expect(ids(r.items.slice(0, 3))).toEqual(['m1', 'm3', 'm4']);
    expect(ids(r.items)).toContain('m5');
    expect(ids(r.items).indexOf('m5')).toBeGreaterThanOrEqual(ids(r.items.slice(0, 10)).filter((x) => categories[x] !== 'mugs').length + 3);
    const loose = store({ maxPerCategory: 10 }).recommend({ customerId: 'c1', limit: 5 });
    expect(ids(loose.items)).toEqual(['m1', 'm3', 'm4', 'm5', 'm6']);
  });

  it('applyVariety on its own: cap within the window, uncategorised items uncapped, fills when short', () => {
    const cat = (id: string) => ({ a1: 'a', a2: 'a', a3: 'a', b1: 'b', n1: undefined, n2: undefined } as Record<string, string | undefined>)[id];
    const items = ['a1', 'a2', 'a3', 'n1', 'n2', 'b1'].map((product_id) => ({ product_id }));
    expect(ids(applyVariety(items, cat, 2, 4))).toEqual(['a1', 'a2', 'n1', 'n2', 'a3', 'b1']);
    expect(ids(applyVariety(items.slice(0, 3), cat, 1, 10))).toEqual(['a1', 'a2', 'a3']);
  });

  it('CandidatePool scales each source to its best item and keeps the strongest reason', () => {
    const pool = new CandidatePool();
    pool.add([{ id: 'x', score: 4 }, { id: 'y', score: 2 }], 1, () => 'first');
    pool.add([{ id: 'y', score: 100 }], 0.8, () => 'second');
    const r = pool.ranked();
    expect(r).toEqual([
      { product_id: 'y', score: 0.5 + 0.8, reason: 'second' },
      { product_id: 'x', score: 1, reason: 'first' },
    ]);
  });
});

describe('identity and cold start', () => {
  it('an anonymous id linked to a customer gets the customer list and exclusions', () => {
    const r = store().recommend({ anonymousId: 'anon-1', limit: 5 });
    expect(r.items[0]).toMatchObject({ product_id: 'm1', reason: 'for_you' });
    expect(ids(r.items)).not.toContain('m2');
  });

  it('an unlinked visitor with history gets items viewed with what they looked at', () => {
    const r = store().recommend({ anonymousId: 'anon-2', limit: 3 });
    expect(r.items[0]).toMatchObject({ product_id: 't2', reason: 'viewed_with:t1' });
    expect(r.items[1]).toMatchObject({ product_id: 't3', reason: 'viewed_with:t1' });
  });

  it('an unknown visitor without anything gets trending and popular items', () => {
    const r = store().recommend({ anonymousId: 'never-seen', limit: 10 });
    expect(r.items.length).toBeGreaterThanOrEqual(5);
    expect(r.items[0]).toMatchObject({ product_id: 'l2', reason: 'trending' });
    for (const i of r.items) expect(['trending', 'popular_in:all']).toContain(i.reason);
    expect(ids(r.items)).not.toContain('gone');
  });

  it('an unknown visitor from a country gets that country first', () => {
    const r = store().recommend({ country: 'DE', limit: 5 });
    // l1 is popular in DE and overall (0.2·9/10 + 0.1·7/10), p3 only in DE (0.2), as strong as the top trending item.
    expect(r.items[0]).toMatchObject({ product_id: 'l1', reason: 'popular_in:DE', score: 0.25 });
    expect(ids(r.items.slice(0, 3))).toContain('p3');
    expect(r.items.find((i) => i.product_id === 'p3')!.reason).toBe('popular_in:DE');
  });

  it('an unknown visitor on a product page gets bought-with, viewed-with and the category', () => {
    const r = store().recommend({ anonymousId: 'never-seen', contextProduct: 't1', limit: 10 });
    expect(r.items[0]).toMatchObject({ product_id: 'm1', reason: 'bought_with:t1' });
    expect(r.items[1]).toMatchObject({ product_id: 't2', reason: 'viewed_with:t1' });
    expect(r.items.map((i) => i.reason)).toContain('popular_in:tea');
    expect(ids(r.items)).not.toContain('t1');
  });

  it('a cart drives bought-with items', () => {
    const r = store().recommend({ cart: ['t1'], limit: 3 });
    expect(r.items[0]).toMatchObject({ product_id: 'm1', reason: 'bought_with:t1' });
  });

  it('similar and bought-together lists, with the category as similar fallback', () => {
    const s = store();
    expect(s.similar('t1', 5).items).toEqual([
      { product_id: 't2', score: 10, reason: 'viewed_with:t1' },
      { product_id: 't3', score: 9, reason: 'viewed_with:t1' },
      { product_id: 't4', score: 0, reason: 'popular_in:tea' },
    ]);
    expect(s.boughtTogether('t1', 5).items).toEqual([{ product_id: 'm1', score: 10, reason: 'bought_with:t1' }]);
    expect(s.boughtTogether('p1', 5).items).toEqual([]);
  });

  it('an empty store answers with empty lists', () => {
    const r = new RecsStore().recommend({ customerId: 'c1', limit: 10 });
    expect(r).toEqual({ items: [], runId: null });
  });
});
