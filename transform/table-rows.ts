// The rows the transformer writes, one interface per ClickHouse table (columns in sql/migrations).

/** Where a row came from in the event log; the high-water marks are built from it. */
export interface LogPosition { log_topic: string; log_partition: number; log_offset: number }

export interface EventRow extends LogPosition {
  event_id: string; type: string; ts: string; received_at: string; site: string; anonymous_id: string; customer_id: string;
  session_id: string; product_id: string; category: string; quantity: number; price: number; currency: string; amount: number;
  amount_base: number; order_id: string; search_query: string; search_results: number; rating: number; country: string;
  locale: string; device: string; browser: string; os: string; is_bot: number; url: string; path: string; referrer: string;
  utm_source: string; utm_medium: string; utm_campaign: string; utm_term: string; utm_content: string; props: string;
}

export interface OrderItemRow extends LogPosition {
  order_id: string; event_id: string; ts: string; site: string; customer_id: string; anonymous_id: string; product_id: string;
  category: string; quantity: number; price: number; currency: string; price_base: number; country: string;
}

/** unverified = 1: a browser identify without the shop's signature (counts only for customers the shop never vouched for). */
export interface IdentityRow { anonymous_id: string; customer_id: string; site: string; source: string; first_seen: string; unverified: number }

/**
 * One identify's contribution to the profile, merged at read (customer_profiles): the traits it names
 * (null = remove that trait), consent 0 withdrawn / 1 given / 2 not stated.
 */
export interface CustomerRow {
  customer_id: string; site: string; country: string; traits: string; consent: number; first_seen: string; updated_at: string; event_id: string; unverified: number;
}

export const CONSENT_NOT_STATED = 2;

/** A dead letter: what was refused, why, and the payload as it came (events_rejected). */
export interface RejectRow {
  reject_id: string; received_at: string; source: string; site: string; event_id: string; field: string; reason: string; raw: string;
  user_agent: string; log_topic: string; log_partition: number; log_offset: number;
}
