// The behaviour every EventLog implementation owes the pipeline, as one vitest suite.
// An implementation's test file calls describeEventLogContract with a function that opens a fresh log.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Consumer, EventLog, LogBatch, LogRecord, StoredRecord } from '../../lib/eventlog/types.ts';

export interface OpenedLog {
  log: EventLog;
  /** Closes the log and removes whatever open() made (directories, ...). */
  cleanup(): Promise<void>;
}

export interface Payload {
  key: string;
  seq: number;
  run: string;
}

/** `perKey` records for each of `keys` keys, interleaved the way a collector sees traffic. */
export function keyedRecords(keys: number, perKey: number, run: string, seqFrom = 0): LogRecord[] {
  const out: LogRecord[] = [];
  for (let seq = seqFrom; seq < seqFrom + perKey; seq++) {
    for (let k = 0; k < keys; k++) {
      const key = `cust-${k}`;
      out.push({ key, value: JSON.stringify({ key, seq, run } satisfies Payload) });
    }
  }
  return out;
}

export function payload(r: StoredRecord): Payload {
  return JSON.parse(r.value) as Payload;
}

export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Every batch a handler accepted, in call order. */
export class Received {
  readonly batches: LogBatch[] = [];
  add(batch: LogBatch): void {
    this.batches.push(batch);
  }
  get records(): StoredRecord[] {
    return this.batches.flatMap((b) => b.records);
  }
  get count(): number {
    return this.batches.reduce((n, b) => n + b.records.length, 0);
  }
  /** "partition:offset" of every record, duplicates kept. */
  positions(): string[] {
    return this.batches.flatMap((b) => b.records.map((r) => `${b.partition}:${r.offset}`));
  }
}

export function values(records: Array<{ value: string }>): string[] {
  return records.map((r) => r.value).sort();
}

/** Per key, the seq numbers in the order they were handled must be strictly increasing. */
export function expectPerKeyOrder(records: StoredRecord[]): void {
  const last = new Map<string, number>();
  for (const r of records) {
    const p = payload(r);
    expect(r.key).toBe(p.key);
    const prev = last.get(p.key) ?? -1;
    expect(p.seq, `key ${p.key}: seq ${p.seq} after ${prev}`).toBeGreaterThan(prev);
    last.set(p.key, p.seq);
  }
}

/** Batches are well formed: offsets rising, first/last matching, no bigger than maxBatch. */
export function expectWellFormed(batches: LogBatch[], topic: string, maxBatch: number): void {
  const lastByPartition = new Map<number, number>();
  for (const b of batches) {
    expect(b.topic).toBe(topic);
    expect(b.records.length).toBeGreaterThan(0);
    expect(b.records.length).toBeLessThanOrEqual(maxBatch);
    expect(b.firstOffset).toBe(b.records[0]?.offset);
    expect(b.lastOffset).toBe(b.records[b.records.length - 1]?.offset);
    let prev = lastByPartition.get(b.partition) ?? -1;
    for (const r of b.records) {
      expect(Number.isInteger(r.offset)).toBe(true);
      expect(r.offset).toBeGreaterThan(prev);
      prev = r.offset;
    }
    lastByPartition.set(b.partition, prev);
  }
}

const sumLag = async (log: EventLog, topic: string, group: string) =>
  (await log.lag(topic, group)).reduce((n, p) => n + p.lag, 0);

export interface ContractOptions {
  /** Run the tests side by side (each opens its own log): worth it where most time is spent waiting on a broker. */
  concurrent?: boolean;
}

export interface ContractContext {
  log: EventLog;
  /** log.consume, with the consumer stopped when the test ends however it ends. */
  consume: EventLog['consume'];
}

export function describeEventLogContract(name: string, open: () => Promise<OpenedLog>, options: ContractOptions = {}): void {
  const suite = options.concurrent ? describe.concurrent : describe;
  const unique = (what: string) => `contract-${what}-${randomUUID().slice(0, 8)}`;
  /** A fresh log per test, so tests share nothing and can run side by side. */
  const withLog = (test: (ctx: ContractContext) => Promise<void>) => async () => {
    const opened = await open();
    const started: Consumer[] = [];
    try {
      await test({
        log: opened.log,
        consume: async (opts) => {
          const c = await opened.log.consume(opts);
          started.push(c);
          return c;
        },
      });
    } finally {
      await Promise.allSettled(started.map((c) => c.stop()));
      await opened.cleanup();
    }
  };

  suite(`event log contract: ${name}`, () => {
    it('hands appended records to the handler once each, in order per key, in well-formed batches', withLog(async ({ log, consume }) => {
      const topic = unique('order');
      const run = randomUUID();
      const sent = [...keyedRecords(6, 5, run), ...keyedRecords(6, 5, run, 5)];
      const t0 = Date.now();
      await log.append(topic, sent.slice(0, 25));
      await log.append(topic, sent.slice(25));
      const got = new Received();
      await consume({ topic, group: unique('g'), maxBatch: 7, maxWaitMs: 100, handler: async (b) => got.add(b) });
      await waitFor(() => got.count >= sent.length, `${sent.length} records`);
      await pause(300); // anything delivered twice would show up now

      expect(values(got.records)).toEqual(values(sent));
      expectPerKeyOrder(got.records);
      expectWellFormed(got.batches, topic, 7);
      for (const r of got.records) {
        expect(r.timestamp).toBeGreaterThanOrEqual(t0 - 5000);
        expect(r.timestamp).toBeLessThanOrEqual(Date.now() + 5000); // real clock on purpose: the log stamps appends with the wall clock
      }
    }));

    it('a group that restarts resumes right after its last committed batch', withLog(async ({ log, consume }) => {
      const topic = unique('resume');
      const group = unique('g');
      const run = randomUUID();
      const first = keyedRecords(4, 10, run);
      await log.append(topic, first);

      // First life: accept batches until 15 records are in, then refuse (so nothing more is committed) and stop.
      const accepted = new Received();
      let refused = 0;
      const c1 = await consume({
        topic, group, maxBatch: 5, maxWaitMs: 100,
        handler: async (b) => {
          if (accepted.count >= 15) {
            refused++;
            throw new Error('not now');
          }
          accepted.add(b);
        },
        onError: () => undefined,
      });
      await waitFor(() => accepted.count >= 15 && refused > 0, 'first consumer to take 15 records and refuse one batch');
      await c1.stop();
      const acceptedAtStop = accepted.count;

      const later = keyedRecords(4, 3, run, 10);
      await log.append(topic, later);

      // Second life: must start exactly where the first one's commits left off.
      const second = new Received();
      await consume({ topic, group, maxBatch: 5, maxWaitMs: 100, handler: async (b) => second.add(b) });
      const total = first.length + later.length;
      await waitFor(() => acceptedAtStop + second.count >= total, 'the rest of the records');
      await pause(300);

      expect(accepted.count).toBe(acceptedAtStop);
      expect(values([...accepted.records, ...second.records])).toEqual(values([...first, ...later]));
      expectPerKeyOrder([...accepted.records, ...second.records]);
      const lastAccepted = new Map<number, number>();
      for (const b of accepted.batches) lastAccepted.set(b.partition, b.lastOffset);
      const firstResumed = new Map<number, number>();
      for (const b of second.batches) if (!firstResumed.has(b.partition)) firstResumed.set(b.partition, b.firstOffset);
      for (const [partition, offset] of lastAccepted) {
        if (firstResumed.has(partition)) expect(firstResumed.get(partition)).toBe(offset + 1);
      }
    }));

    it('a handler that throws gets the very same records again; nothing is skipped or committed early', withLog(async ({ log, consume }) => {
      const topic = unique('retry');
      const group = unique('g');
      const sent = keyedRecords(1, 12, randomUUID());
      await log.append(topic, sent);

      const calls: StoredRecord[][] = [];
      const errors: number[] = [];
      const handled = new Received();
      let releaseSecond!: () => void;
      const secondGate = new Promise<void>((r) => (releaseSecond = r));
      await consume({
        topic, group, maxBatch: 50, maxWaitMs: 100,
        handler: async (b) => {
          calls.push(b.records.map((r) => ({ ...r })));
          if (calls.length === 1) throw new Error('first attempt fails');
          if (calls.length === 2) {
            await secondGate; // held open so the test can look at the committed offset mid-retry
            throw new Error('second attempt fails');
          }
          handled.add(b);
        },
        onError: (_err, attempt) => errors.push(attempt),
      });
      await waitFor(() => calls.length === 2, 'the retried call');
      expect(await sumLag(log, topic, group)).toBe(sent.length);
      releaseSecond();
      await waitFor(() => handled.count >= sent.length, 'all records handled');
      await waitFor(async () => (await sumLag(log, topic, group)) === 0, 'lag 0 after success');

      expect(errors).toEqual([0, 1]);
      expect(calls[1]).toEqual(calls[0]);
      const third = calls[2];
      expect(third?.map((r) => r.offset)).toEqual(calls[0]?.map((r) => r.offset));
      expect(values(handled.records)).toEqual(values(sent));
      expect(handled.positions()).toEqual([...new Set(handled.positions())]);
    }));

    it('two groups each see every record', withLog(async ({ log, consume }) => {
      const topic = unique('groups');
      const sent = keyedRecords(5, 4, randomUUID());
      await log.append(topic, sent);
      const a = new Received();
      const b = new Received();
      await Promise.all([
        consume({ topic, group: unique('ga'), maxWaitMs: 100, handler: async (x) => a.add(x) }),
        consume({ topic, group: unique('gb'), maxWaitMs: 100, handler: async (x) => b.add(x) }),
      ]);
      await waitFor(() => a.count >= sent.length && b.count >= sent.length, 'both groups to get everything');
      await pause(300);
      expect(values(a.records)).toEqual(values(sent));
      expect(values(b.records)).toEqual(values(sent));
    }));

    it('lag counts what the group has not committed, then drops to 0', withLog(async ({ log, consume }) => {
      const topic = unique('lag');
      const group = unique('g');
      const sent = keyedRecords(5, 5, randomUUID());
      await log.append(topic, sent);

      const before = await log.lag(topic, group);
      expect(before.reduce((n, p) => n + p.lag, 0)).toBe(sent.length);
      expect(before.reduce((n, p) => n + (p.high - p.committed), 0)).toBe(sent.length);

      const got = new Received();
      await consume({ topic, group, maxBatch: 10, maxWaitMs: 100, handler: async (b) => got.add(b) });
      await waitFor(async () => (await sumLag(log, topic, group)) === 0, 'lag 0');
      const after = await log.lag(topic, group);
      for (const p of after) expect(p.committed).toBe(p.high);
      expect(got.count).toBe(sent.length);
    }));

    it('stop() lets the batch in hand finish and commit, then nothing more is handled', withLog(async ({ log, consume }) => {
      const topic = unique('stop');
      const group = unique('g');
      const sent = keyedRecords(1, 10, randomUUID());
      await log.append(topic, sent);

      const got = new Received();
      let inHandler = false;
      let finishedAt = 0;
      const c = await consume({
        topic, group, maxBatch: 100, maxWaitMs: 100,
        handler: async (b) => {
          inHandler = true;
          await pause(400);
          got.add(b);
          finishedAt = Date.now();
          inHandler = false;
        },
      });
      await waitFor(() => inHandler, 'the handler to start');
      await c.stop();
      const stoppedAt = Date.now();
      expect(inHandler).toBe(false);
      expect(finishedAt).toBeGreaterThan(0);
      expect(finishedAt).toBeLessThanOrEqual(stoppedAt);
      await c.stop(); // a second stop is harmless

      await log.append(topic, keyedRecords(1, 5, randomUUID(), 10));
      const handledAtStop = got.count;
      await pause(1000);
      expect(got.count).toBe(handledAtStop);
      // What was handled is committed; what was not is still owed.
      expect(await sumLag(log, topic, group)).toBe(sent.length + 5 - handledAtStop);
    }));
  });
}
