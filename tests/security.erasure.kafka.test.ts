// Erasure with Kafka as the log: records cannot be deleted from a topic, so what must hold is that the
// topic never names the person (sealed values, pseudonymous keys) and that after erasure the copies it
// keeps open with nothing: the person's data keys are gone. The topic is read raw with kcat, as anyone
// with access to the brokers could.
import crypto from 'node:crypto';
import { identitySecrets } from '../ingest/identity.ts';
import { signedBatch } from './helpers/events.ts';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForDrain, type Runtime } from '../bin/runtime.ts';
import { SEAL_PREFIX } from '../lib/eventlog/sealed.ts';
import type { SubjectKeys } from '../lib/subject-keys.ts';
import { newKey } from './api.fixture.ts';
import { KCAT_MISSING, kcatAvailable, startKafkaMock, type KafkaMock } from './helpers/kafka-mock.ts';
import { testRuntime, WRITE } from './helpers/runtime.ts';

const available = kcatAvailable();
if (!available) console.warn(KCAT_MISSING);

describe.skipIf(!available)('erasure on Kafka', () => {
  let mock: KafkaMock;
  let rt: Runtime;
  const tag = crypto.randomBytes(5).toString('hex');
  const customer = `cus_kafka_${tag}`;
  const anon = `anon_kafka_${tag}`;
  const email = `kai.${tag}@kafka.example`;

  beforeAll(async () => {
    mock = await startKafkaMock();
    rt = await testRuntime({ KAFKA_BROKERS: mock.brokers.join(','), KAFKA_IDEMPOTENT: 'false', KAFKA_SESSION_TIMEOUT_MS: '3000' });
  });
  afterAll(async () => {
    await rt?.close();
    await mock?.stop();
  });

  /** Every value on the topic, as the brokers hold it. */
  function topicValues(): string[] {
    const r = spawnSync('kcat', ['-b', mock.brokers.join(','), '-C', '-t', rt.deps.config.topics.events, '-o', 'beginning', '-e', '-q', '-f', '%k\t%s\n'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.split('\n').filter(Boolean);
  }

  /** How many of the topic's sealed records still open with a data key that exists. */
  async function openable(lines: string[]): Promise<{ total: number; open: number }> {
    const keys = rt.deps.services.subjectKeys!;
    const parts = lines.map((l) => l.split('\t')[1] ?? '').filter((v) => v.startsWith(SEAL_PREFIX)).map((v) => {
      const [subject, kid] = v.slice(SEAL_PREFIX.length).split(':');
      return { subject: subject!, kid: kid! };
    });
    const found = await keys.find(parts);
    return { total: parts.length, open: parts.filter((p) => found.has(`${p.subject}/${p.kid}`)).length };
  }

  it('keeps the person out of the topic, and leaves their records unreadable after erasure', async () => {
    const batch = [
      { event_id: crypto.randomUUID(), type: 'identify', ts: new Date().toISOString(), customer_id: customer, anonymous_id: anon, traits: { email } },
      { event_id: crypto.randomUUID(), type: 'page_view', ts: new Date().toISOString(), anonymous_id: anon, properties: {} },
      { event_id: crypto.randomUUID(), type: 'page_view', ts: new Date().toISOString(), customer_id: `cus_other_${tag}`, properties: {} },
    ];
    const res = await rt.app!.inject({ method: 'POST', url: '/v1/batch', headers: { 'x-cvm-key': WRITE }, payload: { batch: signedBatch(identitySecrets(rt.deps.config), rt.deps.config.keys.demoSite, batch) } });
    expect(res.statusCode, res.body).toBe(200);
    expect(await waitForDrain(rt, 60_000)).toBe(true);

    const before = topicValues();
    expect(before.length).toBe(3);
    expect(before.join('\n')).not.toContain(customer);
    expect(before.join('\n')).not.toContain(anon);
    expect(before.join('\n')).not.toContain(email);
    expect(await openable(before)).toEqual({ total: 3, open: 3 });

    const admin = await newKey(rt, 'admin');
    const erase = await rt.app!.inject({ method: 'DELETE', url: `/v1/customers/${customer}`, headers: { authorization: `Bearer ${admin}` } });
    expect(erase.statusCode, erase.body).toBe(200);

    // The topic keeps its copies (Kafka deletes by retention only) but only the bystander's still opens.
    const after = topicValues();
    expect(after.length).toBe(3);
    expect(await openable(after)).toEqual({ total: 3, open: 1 });
  }, 120_000);
});
