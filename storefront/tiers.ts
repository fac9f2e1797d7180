// Member tier and points from net spend in the shop's currency: 1 point per whole unit spent on orders
// that were paid and not cancelled or refunded. Thresholds are in the base currency.
export type Tier = 'bronze' | 'silver' | 'gold';

export const TIER_THRESHOLDS: ReadonlyArray<{ tier: Tier; from: number }> = [
  { tier: 'gold', from: 1000 },
  { tier: 'silver', from: 200 },
  { tier: 'bronze', from: 0 },
];

export interface Standing {
  spend: number;
  points: number;
  tier: Tier;
  next: { tier: Tier; remaining: number } | null;
}

export function standing(netSpend: number): Standing {
  const spend = Math.max(0, Math.round(netSpend * 100) / 100);
  const current = TIER_THRESHOLDS.find((t) => spend >= t.from)!;
  const higher = [...TIER_THRESHOLDS].reverse().find((t) => t.from > spend);
  return {
    spend,
    points: Math.floor(spend),
    tier: current.tier,
    next: higher ? { tier: higher.tier, remaining: Math.round((higher.from - spend) * 100) / 100 } : null,
  };
}
