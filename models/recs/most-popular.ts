// Baseline: the same list for everyone, items ranked by how many distinct users interacted with them.
import type { Interactions } from './interactions.ts';
import { buildUserItem, itemSupport } from './matrix.ts';
import type { Recommender } from './model.ts';

export class MostPopular implements Recommender {
  readonly name = 'most-popular';
  private support: Float64Array = new Float64Array(0);

  fit(train: Interactions): void {
    this.support = itemSupport(buildUserItem(train));
  }

  score(_user: number, out: Float32Array): void {
    for (let i = 0; i < this.support.length; i++) out[i]! += this.support[i]!;
  }

  params(): Record<string, unknown> {
    return { popularity: 'distinct users' };
  }
}
