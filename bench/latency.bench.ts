// Freshness: how long a live event takes from its acknowledgement (the collector's 2xx) to being
// queryable through the API, p50/p99, for single events posted at a steady 10/s by this process against
// `cvm start` running as a child process. Three cases, each on the same machine in the same run:
//  - alone: nothing else running (the baseline every other row is compared with);
//  - during the demo load: a fresh store's `cvm start` appends ~107k history events to the bulk topic,
//    which a consumer of its own drains beside the live one; only events acknowledged while the bulk
//    topic had lag count;
//  - during a 100k-event bulk POSTed through the collector (batches of 500): that bulk shares the live
//    topic, which is what the demo load did before it had a topic of its own.
// "Queryable" is seen by polling POST /v1/query for the pending ids, a poll leaving every POLL_MS (up to
// POLLS_IN_FLIGHT at once). A figure is acknowledgement → the answer of the first poll that found the
// event (an upper bound: it carries that poll's round trip, whose audit row is an insert on the engine's
// query lane); lower_bound_* is acknowledgement → when that poll was sent.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { demoCatalogue } from '../storefront/demo/catalogue.ts';
import { generateHistory } from '../storefront/demo/history.ts';
import { percentile, type BenchModule, type BenchRow } from './harness.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ADMIN = 'sk_admin_latency_bench_000000000';
const WRITE = 'wk_latency_bench';
const LIVE_EVERY_MS = 100;
const POLL_MS = 100;
const VISITORS = 20;
const DEMO = { customers: 2000, days: 180 };

interface Server { child: ChildProcess; url: string; exited: Promise<number | null> }

async function startServer(dataDir: string, demo: boolean): Promise<Server> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'cvm.mjs'), 'start'], {
    env: {
      ...process.env,
      CVM_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', CVM_LOG_LEVEL: 'warn', CVM_ADMIN_KEY: ADMIN, CVM_DEMO_WRITE_KEY: WRITE,
      CVM_DEMO: demo ? 'true' : 'false', CVM_DEMO_CUSTOMERS: String(DEMO.customers), CVM_DEMO_DAYS: String(DEMO.days), CVM_RATE_LIMIT_PER_MINUTE: '10000000', CVM_API_RATE_LIMIT_PER_MINUTE: '10000000',
      CVM_SCHEDULE_RFM: 'off', CVM_SCHEDULE_CLV: 'off', CVM_SCHEDULE_CHURN: 'off', CVM_SCHEDULE_RECS: 'off',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // With the demo, the URL is printed before the history is appended ("cvm is up at … — loading").
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`cvm did not start within 120 s:\n${out.slice(-2000)}`)), 120_000);
    const check = () => {
      const m = /(?:cvm is up at|health)\s+(http:\/\/[\d.]+:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`cvm exited (${code}) before it was ready:\n${out.slice(-2000)}`));
    });
  });
  return { child, url, exited };
}

async function stopServer(s: Server, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  s.child.kill(signal);
  const timer = setTimeout(() => s.child.kill('SIGKILL'), 60_000);
  await s.exited;
  clearTimeout(timer);
}

const auth = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };

async function bulkLag(url: string): Promise<{ total: number; high: number }> {
  const res = await fetch(`${url}/v1/pipeline/status`, { headers: { authorization: `Bearer ${ADMIN}` } });
  const body = (await res.json()) as { bulk_lag?: { total: number; partitions: Array<{ high: number }> } | null };
  const b = body.bulk_lag;
  return { total: b?.total ?? 0, high: (b?.partitions ?? []).reduce((n, p) => n + p.high, 0) };
}

interface Sample {
  ackedAt: number;
  ackMs: number;
  /** Acknowledged → the answer of the first poll that found it (an upper bound). */
  queryableMs: number | null;
  /** Acknowledged → when that poll was sent (a lower bound: the row was stored before the poll ran). */
  sentMs: number | null;
  tag: boolean;
}

/** Polls in flight at most: a new one leaves every POLL_MS, so a slow answer does not coarsen the next. */
const POLLS_IN_FLIGHT = 3;

/**
 * Posts one live event every LIVE_EVERY_MS until `stop()` says so, and polls for the pending ones.
 * `tag()` is read when an event is acknowledged: only tagged samples (and polls) count in a case's figures.
 */
function liveProbe(url: string, tag: () => boolean) {
  const samples = new Map<string, Sample>();
  const pending = new Set<string>();
  const pollRtts: number[] = [];
  let posting = true;
  let n = 0;
  const inflight: Array<Promise<void>> = [];
  const poster = (async () => {
    while (posting) {
      const i = n++;
      const event = { event_id: crypto.randomUUID(), type: 'page_view', ts: new Date().toISOString(), anonymous_id: `live-${i % VISITORS}`, context: { page: { url: 'https://demo-shop.example/', path: '/' } }, properties: {} };
      const sent = performance.now();
      inflight.push(
        fetch(`${url}/v1/track`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-cvm-key': WRITE }, body: JSON.stringify(event) }).then(async (res) => {
          await res.arrayBuffer();
          const at = performance.now();
          if (!res.ok) return;
          samples.set(event.event_id, { ackedAt: at, ackMs: at - sent, queryableMs: null, sentMs: null, tag: tag() });
          pending.add(event.event_id);
        }, () => undefined),
      );
      await new Promise((r) => setTimeout(r, LIVE_EVERY_MS));
    }
  })();
  let polling = true;
  let polls = 0;
  const poll = async (ids: string[]) => {
    const sent = performance.now();
    const counted = tag();
    const res = await fetch(`${url}/v1/query`, { method: 'POST', headers: auth, body: JSON.stringify({ sql: `SELECT event_id FROM events WHERE event_id IN (${ids.map((id) => `'${id}'`).join(',')})` }) }).catch(() => null);
    const at = performance.now();
    if (counted) pollRtts.push(at - sent);
    const body = res?.ok ? ((await res.json()) as { rows: Array<{ event_id: string }> }) : null;
    for (const r of body?.rows ?? []) {
      const s = samples.get(r.event_id);
      if (s && s.queryableMs === null) {
        s.queryableMs = at - s.ackedAt;
        s.sentMs = Math.max(0, sent - s.ackedAt);
      }
      pending.delete(r.event_id);
    }
  };
  const poller = (async () => {
    const running = new Set<Promise<void>>();
    while (polling || pending.size) {
      if (pending.size && running.size < POLLS_IN_FLIGHT) {
        const p: Promise<void> = poll([...pending]).finally(() => running.delete(p));
        running.add(p);
        polls++;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    await Promise.all(running);
  })();
  return {
    /** Stops posting, waits until every acknowledged event was seen (or 120 s), and returns the samples. */
    async stop(): Promise<{ samples: Sample[]; pollRtts: number[] }> {
      posting = false;
      await poster;
      await Promise.all(inflight);
      const deadline = Date.now() + 120_000;
      while (pending.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, POLL_MS));
      polling = false;
      pending.clear();
      await poller;
      return { samples: [...samples.values()], pollRtts };
    },
  };
}

interface Figures { n: number; p50: number; p99: number; lowP50: number; lowP99: number; max: number; unseen: number; ackP50: number; ackP99: number; pollP50: number; pollP99: number }

function figures(run: { samples: Sample[]; pollRtts: number[] }): Figures {
  const counted = run.samples.filter((s) => s.tag);
  const sorted = (xs: Array<number | null>) => xs.filter((v): v is number => v !== null).sort((a, b) => a - b);
  const q = sorted(counted.map((s) => s.queryableMs));
  const low = sorted(counted.map((s) => s.sentMs));
  const ack = sorted(counted.map((s) => s.ackMs));
  const rtt = sorted(run.pollRtts);
  return {
    n: counted.length, p50: percentile(q, 50), p99: percentile(q, 99), lowP50: percentile(low, 50), lowP99: percentile(low, 99), max: q[q.length - 1] ?? NaN,
    unseen: counted.length - q.length, ackP50: percentile(ack, 50), ackP99: percentile(ack, 99), pollP50: percentile(rtt, 50), pollP99: percentile(rtt, 99),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const bench: BenchModule = {
  name: 'latency',
  async run({ quick, log }) {
    const rows: BenchRow[] = [];
    const aloneSeconds = quick ? 10 : 30;
    // The demo's default size (what `cvm start` loads, CVM_DEMO_CUSTOMERS/DAYS): also the collector bulk below.
    const history = generateHistory(demoCatalogue(), { customers: DEMO.customers, days: DEMO.days, end: Date.now() }).map((h) => h.event);

    // 1. Alone, then 2. during a bulk POSTed through the collector (the live topic), on one store.
    const dirA = fs.mkdtempSync(path.join(os.tmpdir(), 'cvm-bench-latency-a-'));
    const a = await startServer(dirA, false);
    let alone: Figures;
    let shared: Figures;
    let sharedSeconds: number;
    try {
      const warm = liveProbe(a.url, () => false);
      await sleep(2000);
      await warm.stop();
      log(`latency: live events alone for ${aloneSeconds} s`);
      const p = liveProbe(a.url, () => true);
      await sleep(aloneSeconds * 1000);
      alone = figures(await p.stop());

      const bodies: string[] = [];
      for (let i = 0; i < history.length; i += 500) bodies.push(JSON.stringify({ batch: history.slice(i, i + 500) }));
      log(`latency: live events during ${history.length} events POSTed in ${bodies.length} batches of 500 (the live topic)`);
      let bulkRunning = true;
      const q = liveProbe(a.url, () => bulkRunning);
      const t0 = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: 2 }, async () => {
          while (next < bodies.length) {
            const body = bodies[next++]!;
            const res = await fetch(`${a.url}/v1/batch`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-cvm-key': WRITE }, body });
            await res.arrayBuffer();
          }
        }),
      );
      // Until the live transformer has stored the bulk (the live topic's lag is 0 once the bulk is through).
      for (;;) {
        const h = (await (await fetch(`${a.url}/health`)).json()) as { transform_lag?: number };
        if ((h.transform_lag ?? 0) === 0) break;
        await sleep(200);
      }
      sharedSeconds = (performance.now() - t0) / 1000;
      bulkRunning = false;
      shared = figures(await q.stop());
    } finally {
      await stopServer(a);
      fs.rmSync(dirA, { recursive: true, force: true });
    }

    // 3. During the demo load of a fresh store: the history on the bulk topic.
    const dirB = fs.mkdtempSync(path.join(os.tmpdir(), 'cvm-bench-latency-b-'));
    const b = await startServer(dirB, true);
    let during: Figures;
    let bulk = { events: 0, seconds: 0 };
    try {
      let inBulk = false;
      const p = liveProbe(b.url, () => inBulk);
      let started = 0;
      for (;;) {
        const lag = await bulkLag(b.url);
        if (!inBulk && lag.total > 0) {
          inBulk = true;
          started = performance.now();
          log('latency: the demo history is draining from the bulk topic');
        }
        // Drained: all of the history appended (it goes in chunks, between which the topic may be empty) and consumed.
        if (inBulk && lag.total === 0 && lag.high >= history.length * 0.99) {
          bulk = { events: lag.high, seconds: (performance.now() - started) / 1000 };
          break;
        }
        await sleep(250);
      }
      inBulk = false;
      during = figures(await p.stop());
    } finally {
      // The demo goes on to run every model; the store is thrown away, so no need to wait for them.
      await stopServer(b, 'SIGKILL');
      fs.rmSync(dirB, { recursive: true, force: true });
    }

    const bulkBatches = Math.ceil(bulk.events / 5000);
    const extra = (f: Figures) => ({
      p50_ms: f.p50, p99_ms: f.p99, max_ms: f.max, lower_bound_p50_ms: f.lowP50, lower_bound_p99_ms: f.lowP99, events: f.n, never_seen: f.unseen,
      ack_p50_ms: f.ackP50, ack_p99_ms: f.ackP99, poll_rtt_p50_ms: f.pollP50, poll_rtt_p99_ms: f.pollP99,
    });
    rows.push({ name: 'live event ack → queryable p50, alone', value: alone.p50, unit: 'ms', extra: extra(alone) });
    rows.push({
      name: `live event ack → queryable p99, during the demo load (${bulk.events} events on the bulk topic)`,
      value: during.p99,
      unit: 'ms',
      baseline: { name: 'p99 alone', value: alone.p99 },
      extra: { ...extra(during), bulk_drain_s: bulk.seconds, bulk_ms_per_batch_of_5000: bulkBatches ? (bulk.seconds * 1000) / bulkBatches : NaN },
    });
    rows.push({ name: 'live event ack → queryable p50, during the demo load', value: during.p50, unit: 'ms', baseline: { name: 'p50 alone', value: alone.p50 } });
    rows.push({
      name: 'live event ack → queryable p99, during a 100k bulk POSTed to the collector (shares the live topic)',
      value: shared.p99,
      unit: 'ms',
      baseline: { name: 'p99 alone', value: alone.p99 },
      extra: { ...extra(shared), bulk_s: sharedSeconds },
    });
    return rows;
  },
};

export default bench;
