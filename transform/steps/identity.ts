// Step 6: what an identify or alias says about who someone is: the anonymous id → customer link, and the
// profile (traits, consent, country). Trust decides whether it counts at all:
//  - the collector marks browser identifies that lack the shop's signature 'unverified'; records cvm wrote
//    itself carry no mark; a replayed dead letter lost its mark with the record, so it only counts where
//    unverified ones do;
//  - CVM_IDENTITY_VERIFICATION=required (the default): an unsigned browser identify links nothing and
//    changes no profile; 'provisional' lets it count for customers the shop never vouched for.
import { chTime } from '../../lib/clickhouse.ts';
import { cap, PROPS_CAP } from '../fields/text.ts';
import { ok, type PipelineResult } from '../pipeline-result.ts';
import { CONSENT_NOT_STATED, type CustomerRow, type IdentityRow } from '../table-rows.ts';
import type { StandardEvent } from './standardise.ts';

export interface IdentityContext {
  /** Encrypts PII trait values before they are stored; identity when no key is configured. */
  protectTraits?: (traits: Record<string, unknown>) => Record<string, unknown>;
  identityVerification?: 'required' | 'provisional';
  /** Told each profile's country, so later events of the customer that name none get it. */
  learnCountry?: (customerId: string, country: string) => void;
}

export interface IdentifiedEvent extends Pick<StandardEvent, 'row' | 'lines'> {
  identity: IdentityRow | null;
  customer: CustomerRow | null;
}

export function identityStep(ctx: IdentityContext): (input: StandardEvent) => PipelineResult<IdentifiedEvent> {
  return (input) => {
    const { record: rec, row, lines, traits, time } = input;
    const unverified = rec.identity === 'unverified' || rec.source === 'replay' ? 1 : 0;
    const countsForProfile = !(rec.identity === 'unverified' && ctx.identityVerification !== 'provisional');
    const links = row.type === 'identify' || row.type === 'alias';
    const identity: IdentityRow | null =
      countsForProfile && links && row.anonymous_id && row.customer_id
        ? { anonymous_id: row.anonymous_id, customer_id: row.customer_id, site: row.site, source: row.type, first_seen: time, unverified }
        : null;
    let customer: CustomerRow | null = null;
    if (countsForProfile && row.type === 'identify' && row.customer_id) {
      const stored = ctx.protectTraits ? ctx.protectTraits(traits) : traits;
      const signup = typeof traits.signup_date === 'string' ? Date.parse(traits.signup_date) : NaN;
      customer = {
        customer_id: row.customer_id,
        site: row.site,
        country: row.country,
        traits: cap(JSON.stringify(stored), PROPS_CAP),
        consent: traits.consent === false ? 0 : traits.consent === true ? 1 : CONSENT_NOT_STATED,
        first_seen: Number.isNaN(signup) ? time : chTime(signup),
        updated_at: time,
        event_id: row.event_id,
        unverified,
      };
      if (customer.country && ctx.learnCountry) ctx.learnCountry(customer.customer_id, customer.country);
    }
    // Readers tell unverified events apart by this mark in their properties.
    if (unverified) row.props = cap(JSON.stringify({ ...input.properties, $identity: 'unverified' }), PROPS_CAP);
    return ok({ row, lines, identity, customer });
  };
}
