// Event ids stored recently, bounded: when full, the oldest half goes (a Set iterates in insertion order).
export class RecentIds {
  private readonly ids = new Set<string>();

  constructor(private readonly cap = 500_000) {}

  has(id: string): boolean {
    return this.ids.has(id);
  }

  remember(id: string): void {
    if (this.ids.size >= this.cap) {
      let n = this.cap / 2;
      for (const old of this.ids) {
        this.ids.delete(old);
        if (--n <= 0) break;
      }
    }
    this.ids.add(id);
  }
}
