// Interactions as columns of typed arrays over two string dictionaries (users, items), so splits and
// models work on small integers. Train and test subsets share the dictionaries: an item index means
// the same item everywhere.

export class Dictionary {
  readonly ids: string[] = [];
  private readonly index = new Map<string, number>();

  /** The index of id, added on first sight. */
  intern(id: string): number {
    let i = this.index.get(id);
    if (i === undefined) {
      i = this.ids.length;
      this.ids.push(id);
      this.index.set(id, i);
    }
    return i;
  }

  get(id: string): number | undefined {
    return this.index.get(id);
  }

  get size(): number {
    return this.ids.length;
  }
}

export interface Interactions {
  users: Dictionary;
  items: Dictionary;
  user: Int32Array;
  item: Int32Array;
  /** Epoch milliseconds. */
  ts: Float64Array;
  /** Strength of the interaction (1 for a purchase line, the rating for MovieLens, the generic weight column). */
  weight: Float32Array;
  length: number;
}

/** Appends rows into growing typed arrays; `build()` trims them. */
export class InteractionsBuilder {
  readonly users = new Dictionary();
  readonly items = new Dictionary();
  private user = new Int32Array(1024);
  private item = new Int32Array(1024);
  private ts = new Float64Array(1024);
  private weight = new Float32Array(1024);
  private n = 0;

  add(user: string, item: string, ts: number, weight = 1): void {
    if (this.n === this.user.length) this.grow();
    this.user[this.n] = this.users.intern(user);
    this.item[this.n] = this.items.intern(item);
    this.ts[this.n] = ts;
    this.weight[this.n] = weight;
    this.n++;
  }

  private grow(): void {
    const size = this.user.length * 2;
    const u = new Int32Array(size); u.set(this.user); this.user = u;
    const i = new Int32Array(size); i.set(this.item); this.item = i;
    const t = new Float64Array(size); t.set(this.ts); this.ts = t;
    const w = new Float32Array(size); w.set(this.weight); this.weight = w;
  }

  get length(): number {
    return this.n;
  }

  build(): Interactions {
    return {
      users: this.users,
      items: this.items,
      user: this.user.slice(0, this.n),
      item: this.item.slice(0, this.n),
      ts: this.ts.slice(0, this.n),
      weight: this.weight.slice(0, this.n),
      length: this.n,
    };
  }
}

/** Rows of `data` picked by `rows` (indices), keeping the dictionaries. */
export function subset(data: Interactions, rows: ArrayLike<number>): Interactions {
  const n = rows.length;
  const user = new Int32Array(n);
  const item = new Int32Array(n);
  const ts = new Float64Array(n);
  const weight = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    const r = rows[k]!;
    user[k] = data.user[r]!;
    item[k] = data.item[r]!;
    ts[k] = data.ts[r]!;
    weight[k] = data.weight[r]!;
  }
  return { users: data.users, items: data.items, user, item, ts, weight, length: n };
}

/** Convenience for tests and small callers: build from [user, item, ts, weight?] tuples. */
export function fromRows(rows: ReadonlyArray<readonly [string, string, number, number?]>): Interactions {
  const b = new InteractionsBuilder();
  for (const [u, i, t, w] of rows) b.add(u, i, t, w ?? 1);
  return b.build();
}

export function maxTs(data: Interactions): number {
  let m = -Infinity;
  for (let k = 0; k < data.length; k++) if (data.ts[k]! > m) m = data.ts[k]!;
  return m;
}
