// The identity step: links and profiles from identifies and aliases, and only where they are trusted.
import { describe, expect, it } from 'vitest';
import { identityStep } from '../transform/steps/identity.ts';
import { CONSENT_NOT_STATED } from '../transform/table-rows.ts';
import { standardEvent } from './transform.step.fixture.ts';

const identify = (extra: Parameters<typeof standardEvent>[1] = {}, traits: Record<string, unknown> = { country: 'Spain' }) =>
  standardEvent({ type: 'identify', anonymous_id: 'a1', customer_id: 'C1', traits }, extra);

describe('identity step', () => {
  it('an identify links the anonymous id and contributes to the profile; the profile country is learnt', () => {
    const learnt: Array<[string, string]> = [];
    const r = identityStep({ learnCountry: (c, k) => learnt.push([c, k]) })(identify({}, { country: 'Spain', consent: false, signup_date: '2023-01-05' }));
    if (r.kind !== 'ok') throw new Error(r.kind);
    expect(r.value.identity).toEqual({ anonymous_id: 'a1', customer_id: 'C1', site: 'shop', source: 'identify', first_seen: '2024-03-01 10:00:00.000', unverified: 0 });
    expect(r.value.customer).toMatchObject({ customer_id: 'C1', country: 'ES', consent: 0, first_seen: '2023-01-05 00:00:00.000', updated_at: '2024-03-01 10:00:00.000', unverified: 0 });
    expect(learnt).toEqual([['C1', 'ES']]);
  });

  it('an alias links without a profile; other events do neither', () => {
    const step = identityStep({});
    const alias = step(standardEvent({ type: 'alias', anonymous_id: 'a2', customer_id: 'C2' }));
    expect(alias.kind === 'ok' && [alias.value.identity?.source, alias.value.customer]).toEqual(['alias', null]);
    const view = step(standardEvent({ customer_id: 'C2' }));
    expect(view.kind === 'ok' && [view.value.identity, view.value.customer]).toEqual([null, null]);
  });

  it('traits are protected before they are stored; consent not stated is 2', () => {
    const r = identityStep({ protectTraits: (t) => ({ ...t, email: 'enc:xyz' }) })(identify({}, { email: 'a@b.example' }));
    expect(r.kind === 'ok' && r.value.customer).toMatchObject({ traits: JSON.stringify({ email: 'enc:xyz' }), consent: CONSENT_NOT_STATED });
  });

  it('an unsigned browser identify counts only when verification is provisional, and is marked either way', () => {
    const strict = identityStep({ identityVerification: 'required' })(identify({ identity: 'unverified' }));
    if (strict.kind !== 'ok') throw new Error(strict.kind);
    expect([strict.value.identity, strict.value.customer]).toEqual([null, null]);
    expect(JSON.parse(strict.value.row.props)).toMatchObject({ $identity: 'unverified' });
    const provisional = identityStep({ identityVerification: 'provisional' })(identify({ identity: 'unverified' }));
    expect(provisional.kind === 'ok' && [provisional.value.identity?.unverified, provisional.value.customer?.unverified]).toEqual([1, 1]);
  });

  it('a replayed dead letter lost its mark, so it counts as unverified', () => {
    const r = identityStep({})(identify({ source: 'replay' }));
    expect(r.kind === 'ok' && [r.value.identity?.unverified, r.value.customer?.unverified]).toEqual([1, 1]);
  });
});
