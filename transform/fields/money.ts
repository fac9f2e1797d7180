// Money: the original amount and currency kept, plus the rate to the base currency on the event's day.
// An amount without a currency, or in a currency without a rate, is a dead letter: never a guessed value.
import { dlq, ok, type PipelineResult } from '../pipeline-result.ts';
import type { FxTable } from '../fx.ts';

export interface Money { price: number; quantity: number; amount: number; currency: string; rate: number }

export interface MoneyContext { fx: FxTable; baseCurrency: string }

const CURRENCY_FIELD = 'properties.currency';

/** The event's money fields, from its validated properties (the contract guarantees the types it names). */
export function money(type: string, p: Record<string, unknown>, tsMs: number, ctx: MoneyContext): PipelineResult<Money> {
  const price = typeof p.price === 'number' ? p.price : 0;
  const isCart = type === 'add_to_cart' || type === 'remove_from_cart';
  const quantity = typeof p.quantity === 'number' ? p.quantity : isCart ? 1 : 0;
  let amount = 0;
  if (type === 'purchase') amount = p.total as number;
  else if (type === 'refund') amount = p.amount as number;
  else if (isCart) amount = price * quantity;
  else if (type === 'checkout_started' && typeof p.value === 'number') amount = p.value;
  const currency = typeof p.currency === 'string' ? p.currency.toUpperCase() : '';
  const hasMoney = amount > 0 || price > 0 || typeof p.currency === 'string';
  if (!hasMoney) return ok({ price, quantity, amount, currency, rate: 1 });
  if (!currency) return dlq('is required with an amount or price', CURRENCY_FIELD);
  const rate = ctx.fx.rate(currency, ctx.baseCurrency, tsMs);
  if (rate === null) return dlq(`unknown currency ${currency}: no exchange rate to ${ctx.baseCurrency}`, CURRENCY_FIELD);
  return ok({ price, quantity, amount, currency, rate });
}

/** A value in the base currency, to the micro-unit. */
export const inBase = (value: number, rate: number): number => Math.round(value * rate * 1e6) / 1e6;
