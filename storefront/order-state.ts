// The order state machine. Pure: the table below is the whole of it.
//
//   created ──pay──▶ paid ──ship──▶ shipped ──deliver──▶ delivered
//      │              │  │             │                     │
//    cancel         cancel refund    refund                refund
//      ▼              ▼    ▼           ▼                     ▼
//   cancelled     cancelled refunded  refunded             refunded
//
// Stock is reserved when the order is created. Cancelling (before shipping) releases it; a refund
// before shipping releases it too (the goods never left). A refund after shipping does not: returned
// goods are restocked by hand (a products import), after they were checked.
export const ORDER_STATES = ['created', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded'] as const;
export type OrderState = (typeof ORDER_STATES)[number];

export const ORDER_ACTIONS = ['pay', 'ship', 'deliver', 'cancel', 'refund'] as const;
export type OrderAction = (typeof ORDER_ACTIONS)[number];

export const TRANSITIONS: Record<OrderState, Partial<Record<OrderAction, OrderState>>> = {
  created: { pay: 'paid', cancel: 'cancelled' },
  paid: { ship: 'shipped', cancel: 'cancelled', refund: 'refunded' },
  shipped: { deliver: 'delivered', refund: 'refunded' },
  delivered: { refund: 'refunded' },
  cancelled: {},
  refunded: {},
};

/** Who may ask for an action: the customer who owns the order, or the shop's admin. */
export const ACTION_ACTORS: Record<OrderAction, ReadonlyArray<'customer' | 'admin'>> = {
  pay: ['customer'],
  cancel: ['customer', 'admin'],
  ship: ['admin'],
  deliver: ['admin'],
  refund: ['admin'],
};

export class TransitionError extends Error {
  readonly allowed: OrderAction[];
  constructor(readonly orderId: string, readonly state: OrderState, readonly action: string) {
    const allowed = allowedActions(state);
    super(
      `order ${orderId} is ${state}; it cannot be ${pastTense(action)}. ` +
        (allowed.length ? `Allowed from ${state}: ${allowed.map((a) => `${a} (→ ${TRANSITIONS[state][a]})`).join(', ')}.` : `${state} is final: no transition is allowed.`),
    );
    this.name = 'TransitionError';
    this.allowed = allowed;
  }
}

function pastTense(action: string): string {
  const map: Record<string, string> = { pay: 'paid', ship: 'shipped', deliver: 'delivered', cancel: 'cancelled', refund: 'refunded' };
  return map[action] ?? action;
}

export function allowedActions(state: OrderState): OrderAction[] {
  return Object.keys(TRANSITIONS[state]) as OrderAction[];
}

export function isOrderAction(a: string): a is OrderAction {
  return (ORDER_ACTIONS as readonly string[]).includes(a);
}

/** The next state, or a TransitionError naming the current state and what is allowed from it. */
export function nextState(orderId: string, state: OrderState, action: string): OrderState {
  const next = isOrderAction(action) ? TRANSITIONS[state][action] : undefined;
  if (!next) throw new TransitionError(orderId, state, action);
  return next;
}

/** Whether a transition gives the reserved stock back. */
export function releasesStock(from: OrderState, action: OrderAction): boolean {
  return action === 'cancel' || (action === 'refund' && from === 'paid');
}

/** Whether the money was taken before this transition, so it must be handed back (a refund event). */
export function returnsMoney(from: OrderState, action: OrderAction): boolean {
  return (action === 'refund' || action === 'cancel') && from !== 'created';
}
