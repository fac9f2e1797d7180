// Property: the CLV model answers for every shop the demo generator can make — 200 seeds × 20–500
// customers × `now` at several times of day — with a finite, non-negative score for every customer, and
// a fit that says when it needed the penalty. It fails only when nobody bought twice, and says so.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FitError } from '../models/clv/fit-error.ts';
import { fitAndScoreClv } from '../models/clv/fit-and-score.ts';
import { monthlySchedule } from '../models/clv/lifetime-value.ts';
import { CustomerDays } from '../models/transactions/customer-days.ts';
import { buildSummary } from '../models/transactions/rfm-summary.ts';
import { demoCatalogue } from '../storefront/demo/catalogue.ts';
import { generateHistory } from '../storefront/demo/history.ts';
import { DEFAULT_RATES_USD } from '../transform/fx-defaults.ts';
import { FIXTURE_NOW } from './helpers/runtime.ts';

const DAY = 86_400_000;
const catalogue = demoCatalogue();
const schedule = monthlySchedule(365, 0.1, 7);

/** The job's rules in miniature: orders in USD, an order refunded whole is no purchase, UTC days merged. */
function summaryOf(customers: number, seed: number, end: number) {
  const history = generateHistory(catalogue, { customers, days: 120, end, seed });
  const refunded = new Set<string>();
  for (const { event } of history) if (event.type === 'refund') refunded.add(String((event.properties as { order_id: string }).order_id));
  const days = new CustomerDays();
  for (const { event } of history) {
    if (event.type !== 'purchase' || typeof event.customer_id !== 'string') continue;
    const p = event.properties as { order_id: string; total: number; currency: string };
    if (refunded.has(p.order_id)) continue;
    days.add({ customer: event.customer_id, day: Math.floor(Date.parse(String(event.ts)) / DAY), amount: p.total * (DEFAULT_RATES_USD[p.currency] ?? 1), purchase: true });
  }
  return buildSummary(days, Math.floor(end / DAY), null, 7);
}

// Times of day a run can start at: midnight, just after, early morning, noon, just before midnight.
const ALIGNMENTS = [0, 1, 30 * 60_000, 6 * 3_600_000, 12 * 3_600_000, DAY - 1];

describe('CLV on any shop the generator makes', () => {
  it('scores every customer, finite and non-negative, and flags penalised fits', () => {
    const modes = { plain: 0, penalised: 0, nothingToFit: 0 };
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 20, max: 500 }),
        fc.constantFrom(...ALIGNMENTS),
        fc.integer({ min: 0, max: 40 }),
        (seed, customers, alignment, dayShift) => {
          const end = Math.floor(FIXTURE_NOW / DAY) * DAY - dayShift * DAY + alignment;
          const s = summaryOf(customers, seed, end);
          if (!s.x.some((v) => v > 0)) {
            modes.nothingToFit++;
            expect(() => fitAndScoreClv(s, schedule)).toThrow(FitError);
            expect(() => fitAndScoreClv(s, schedule)).toThrow(/no repeat buyers at all/);
            return;
          }
          const r = fitAndScoreClv(s, schedule);
          modes[r.fit]++;
          for (let i = 0; i < s.x.length; i++) {
            const clv = r.scores.clv[i]!;
            const pa = r.scores.pAlive[i]!;
            const ep = r.scores.expectedPurchases[i]!;
            if (!(Number.isFinite(clv) && clv >= 0 && Number.isFinite(ep) && ep >= 0 && pa >= 0 && pa <= 1)) {
              throw new Error(`seed ${seed}, ${customers} customers, end ${new Date(end).toISOString()}: customer ${s.ids[i]} clv ${clv}, E[purchases] ${ep}, P(alive) ${pa} (fit ${JSON.stringify(r.bg.fit)})`);
            }
          }
          // A penalised run always says why and with which coefficient.
          for (const f of [r.bg.fit, r.gg.fit]) {
            if (f.mode === 'plain') expect(f).toEqual({ mode: 'plain', penalty: 0, reason: null });
            else {
              expect(f.penalty).toBeGreaterThan(0);
              expect(f.reason).toBeTruthy();
              expect(r.fit).toBe('penalised');
            }
          }
        },
      ),
      { numRuns: 200, seed: 20261203 },
    );
    // Both paths were exercised: small shops need the penalty, larger ones fit plainly.
    expect(modes.penalised).toBeGreaterThan(0);
    expect(modes.plain).toBeGreaterThan(0);
  }, 600_000);
});
