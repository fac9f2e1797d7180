// The event contract: one TypeBox schema source that gives runtime validation (collector and transformer),
// the TypeScript types, and the JSON Schema in the OpenAPI document.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { FormatRegistry } from '@sinclair/typebox';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
if (!FormatRegistry.Has('uuid')) FormatRegistry.Set('uuid', (v) => UUID_RE.test(v));
if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', (v) => !Number.isNaN(Date.parse(v)) && /^\d{4}-\d{2}-\d{2}T/.test(v));

const Id = Type.String({ minLength: 1, maxLength: 128 });
const Currency = Type.String({ pattern: '^[A-Za-z]{3}$', description: 'ISO-4217 code' });
const Money = Type.Number({ minimum: 0, maximum: 1e12 });
const Quantity = Type.Integer({ minimum: 1, maximum: 100_000 });
const Text = (max: number) => Type.String({ maxLength: max });
/** Client time: ISO-8601 string or epoch milliseconds. */
const Time = Type.Union([Type.String({ format: 'date-time', maxLength: 40 }), Type.Integer({ minimum: 946684800000, maximum: 32503680000000 })]);

export const Context = Type.Object(
  {
    url: Type.Optional(Text(2048)),
    referrer: Type.Optional(Text(2048)),
    title: Type.Optional(Text(512)),
    locale: Type.Optional(Text(35)),
    user_agent: Type.Optional(Text(1024)),
    screen: Type.Optional(Type.Object({ width: Type.Integer({ minimum: 0, maximum: 100_000 }), height: Type.Integer({ minimum: 0, maximum: 100_000 }) })),
    country: Type.Optional(Text(64)),
    timezone: Type.Optional(Text(64)),
    utm_source: Type.Optional(Text(256)),
    utm_medium: Type.Optional(Text(256)),
    utm_campaign: Type.Optional(Text(256)),
    utm_term: Type.Optional(Text(256)),
    utm_content: Type.Optional(Text(256)),
    library: Type.Optional(Type.Object({ name: Text(64), version: Text(32) })),
  },
  { additionalProperties: true },
);

const Item = Type.Object({
  product_id: Id,
  quantity: Quantity,
  price: Money,
  category: Type.Optional(Text(256)),
  title: Type.Optional(Text(512)),
});

/** Properties per known event type. Unknown (custom) types keep free properties. */
export const PropertiesByType = {
  page_view: Type.Object({}, { additionalProperties: true }),
  product_view: Type.Object(
    { product_id: Id, category: Type.Optional(Text(256)), price: Type.Optional(Money), currency: Type.Optional(Currency), title: Type.Optional(Text(512)) },
    { additionalProperties: true },
  ),
  search: Type.Object({ query: Text(512), results: Type.Optional(Type.Integer({ minimum: 0, maximum: 1e9 })) }, { additionalProperties: true }),
  add_to_cart: Type.Object(
    { product_id: Id, quantity: Type.Optional(Quantity), price: Type.Optional(Money), currency: Type.Optional(Currency), category: Type.Optional(Text(256)) },
    { additionalProperties: true },
  ),
  remove_from_cart: Type.Object(
    { product_id: Id, quantity: Type.Optional(Quantity), price: Type.Optional(Money), currency: Type.Optional(Currency), category: Type.Optional(Text(256)) },
    { additionalProperties: true },
  ),
  checkout_started: Type.Object(
    { value: Type.Optional(Money), currency: Type.Optional(Currency), items: Type.Optional(Type.Array(Item, { maxItems: 500 })) },
    { additionalProperties: true },
  ),
  purchase: Type.Object(
    { order_id: Id, items: Type.Array(Item, { minItems: 1, maxItems: 500 }), total: Money, currency: Currency },
    { additionalProperties: true },
  ),
  refund: Type.Object(
    { order_id: Id, amount: Money, currency: Currency, items: Type.Optional(Type.Array(Item, { maxItems: 500 })) },
    { additionalProperties: true },
  ),
  review: Type.Object({ product_id: Id, rating: Type.Integer({ minimum: 1, maximum: 5 }), text: Type.Optional(Text(5000)) }, { additionalProperties: true }),
  identify: Type.Object({}, { additionalProperties: true }),
  alias: Type.Object({}, { additionalProperties: true }),
  rec_impression: Type.Object({ list_id: Id, product_ids: Type.Array(Id, { maxItems: 100 }), placement: Type.Optional(Text(64)) }, { additionalProperties: true }),
  rec_click: Type.Object({ list_id: Id, product_id: Id, placement: Type.Optional(Text(64)) }, { additionalProperties: true }),
} as const;

export type KnownEventType = keyof typeof PropertiesByType;
export const KNOWN_TYPES = Object.keys(PropertiesByType) as KnownEventType[];

/** A trait sent as null is removed from the profile; a trait left out is kept (identify merges). */
const Clearable = <T extends TSchema>(t: T) => Type.Optional(Type.Union([t, Type.Null()]));

export const Traits = Type.Object(
  {
    email: Clearable(Text(320)),
    name: Clearable(Text(256)),
    phone: Clearable(Text(64)),
    address: Clearable(Text(1024)),
    country: Clearable(Text(64)),
    signup_date: Clearable(Text(40)),
    consent: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: true },
);

export const EventEnvelope = Type.Object(
  {
    event_id: Type.String({ format: 'uuid', description: 'UUID made by the client; the dedup key' }),
    type: Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$', description: `one of ${KNOWN_TYPES.join(', ')}, or a custom snake_case name` }),
    ts: Time,
    sent_at: Type.Optional(Time),
    anonymous_id: Type.Optional(Id),
    customer_id: Type.Optional(Id),
    session_id: Type.Optional(Id),
    context: Type.Optional(Context),
    properties: Type.Optional(Type.Object({}, { additionalProperties: true })),
    traits: Type.Optional(Traits),
    identity_signature: Type.Optional(
      Type.String({ pattern: '^[0-9a-fA-F]{64}$', description: "identify/alias from a browser: hex HMAC-SHA256 of customer_id under the site's identity secret" }),
    ),
  },
  { additionalProperties: false },
);

export type CvmEvent = Static<typeof EventEnvelope>;

export const BatchBody = Type.Object({
  key: Type.Optional(Type.String()),
  sent_at: Type.Optional(Time),
  batch: Type.Array(Type.Unknown(), { maxItems: 500 }),
});

export interface EventProblem {
  field: string;
  reason: string;
}

const envelopeCheck = TypeCompiler.Compile(EventEnvelope);
const propertyChecks = new Map<string, TypeCheck<TSchema>>(Object.entries(PropertiesByType).map(([k, s]) => [k, TypeCompiler.Compile(s)]));

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_DEPTH = 8;

/** Walks a parsed JSON value for prototype-pollution keys and excessive nesting. */
function structuralProblem(value: unknown, path: string, depth: number): EventProblem | null {
  if (value === null || typeof value !== 'object') return null;
  if (depth > MAX_DEPTH) return { field: path, reason: `nested deeper than ${MAX_DEPTH} levels` };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const p = structuralProblem(value[i], `${path}[${i}]`, depth + 1);
      if (p) return p;
    }
    return null;
  }
  for (const key of Object.keys(value)) {
    const field = path ? `${path}.${key}` : key;
    if (FORBIDDEN_KEYS.has(key)) return { field, reason: `key '${key}' is not allowed` };
    const p = structuralProblem((value as Record<string, unknown>)[key], field, depth + 1);
    if (p) return p;
  }
  return null;
}

function pointerToField(pointer: string, prefix = ''): string {
  const parts = pointer.split('/').filter(Boolean);
  let out = prefix;
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out ? `.${p}` : p;
  return out || prefix || 'event';
}

function firstError(check: TypeCheck<TSchema>, value: unknown, prefix: string): EventProblem | null {
  // The compiled check is fast; the error walk is not, so it only runs for values that fail.
  if (check.Check(value)) return null;
  const first = check.Errors(value).First();
  if (!first) return null;
  let field = pointerToField(first.path, prefix);
  let reason = first.message;
  // For a missing required key TypeBox reports the parent path; name the key itself.
  const schema = first.schema as { [k: string]: unknown };
  if (first.value === undefined && first.path) reason = 'is required';
  if (!first.path && (first.value as unknown) !== undefined && typeof first.value === 'object' && schema) {
    // additionalProperties: false on the envelope — find the stray key.
    const known = Object.keys((EventEnvelope as unknown as { properties: object }).properties);
    const stray = Object.keys(first.value as object).find((k) => !known.includes(k));
    if (stray && !prefix) {
      field = stray;
      reason = 'is not a field of the event contract';
    }
  }
  return { field, reason };
}

export function parseTime(v: string | number): number {
  return typeof v === 'number' ? v : Date.parse(v);
}

/**
 * Validates one event against the contract. Returns the typed event, or the first problem with the
 * field path and a reason a developer can act on.
 */
export function validateEvent(raw: unknown, opts: { now?: number; maxFutureMs?: number } = {}): { ok: true; event: CvmEvent } | { ok: false; problem: EventProblem } {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, problem: { field: 'event', reason: 'must be a JSON object' } };
  const structural = structuralProblem(raw, '', 0);
  if (structural) return { ok: false, problem: structural };
  const envelopeProblem = firstError(envelopeCheck, raw, '');
  if (envelopeProblem) return { ok: false, problem: envelopeProblem };
  const event = raw as CvmEvent;
  if (!event.anonymous_id && !event.customer_id) return { ok: false, problem: { field: 'anonymous_id', reason: 'anonymous_id or customer_id is required' } };
  if ((event.type === 'identify' || event.type === 'alias') && !event.customer_id) return { ok: false, problem: { field: 'customer_id', reason: `is required for ${event.type}` } };
  if (event.type === 'alias' && !event.anonymous_id) return { ok: false, problem: { field: 'anonymous_id', reason: 'is required for alias' } };
  const check = propertyChecks.get(event.type);
  if (check) {
    const p = firstError(check, event.properties ?? {}, 'properties');
    if (p) return { ok: false, problem: p };
  }
  // An amount without its currency cannot be converted; say so now rather than dead-letter it later.
  const props = (event.properties ?? {}) as Record<string, unknown>;
  const priced = ['price', 'value', 'total', 'amount'].find((k) => typeof props[k] === 'number' && (props[k] as number) > 0);
  if (priced && typeof props.currency !== 'string') return { ok: false, problem: { field: 'properties.currency', reason: `is required with properties.${priced}` } };
  const now = opts.now ?? Date.now();
  const maxFuture = opts.maxFutureMs ?? 24 * 3600_000;
  const ts = parseTime(event.ts);
  if (ts > now + maxFuture) return { ok: false, problem: { field: 'ts', reason: 'is more than a day in the future' } };
  if (event.sent_at !== undefined && parseTime(event.sent_at) > now + maxFuture) return { ok: false, problem: { field: 'sent_at', reason: 'is more than a day in the future' } };
  return { ok: true, event };
}

/** The record the collector appends to the log: the raw event plus what only the server knows. */
export interface CollectedRecord {
  v: 1;
  site: string;
  received_at: number;
  source: 'browser' | 'server' | 'import' | 'replay';
  user_agent?: string;
  /**
   * Set by the collector on every identify and alias it takes: 'verified' when the event carried the shop's
   * signature of its customer id. Absent on records cvm itself wrote (shop back end in-process, import).
   * Only verified identifies link ids or change a profile the shop already vouched for.
   */
  identity?: 'verified' | 'unverified';
  /** Present when the collector already rejected the event: the transformer stores it as a dead letter. */
  reject?: EventProblem;
  event: unknown;
}

/** Partition key: one person's events stay in order on one partition. */
export function partitionKey(event: { customer_id?: unknown; anonymous_id?: unknown }): string {
  const c = typeof event.customer_id === 'string' ? event.customer_id : '';
  const a = typeof event.anonymous_id === 'string' ? event.anonymous_id : '';
  return c || a || 'unknown';
}
