// Start-up that waits for Kafka (issue 22, item 6). `cvm start` with KAFKA_BROKERS set to librdkafka's mock
// cluster died at once (KafkaJSBrokerNotFound: the idempotent producer asks for the controller, id 0, which the
// mock does not have), and with no broker listening it exited after kafkajs's ~8 s of retries. Now:
//   - `cvm start` (embedded ClickHouse, Kafka log) comes up on the mock with the default settings;
//   - the collector role's log (openEventLog, which `cvm collector` opens: that command needs a ClickHouse
//     server, and none runs here) connects to the mock and appends;
//   - a start before the broker is up logs "waiting for Kafka at …" and comes up once a broker answers there;
//   - with no broker at all it stops after CVM_STARTUP_TIMEOUT_S naming Kafka and the address.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { Writable } from 'node:stream';
import { ADMIN, WRITE, tempDir } from '../helpers/runtime.ts';
import { waitForHealthyDrain } from '../helpers/cvm-process.ts';
import { KCAT_MISSING, kcatAvailable, startKafkaMock, type KafkaMock } from '../helpers/kafka-mock.ts';
import { connectClickHouse } from '../../lib/clickhouse.ts';
import { testConfig } from '../../lib/config.ts';
import { openEventLog } from '../../lib/eventlog/index.ts';
import { Ledger, audit, viaFetch, waitFor } from './helpers/stream.ts';

const CVM = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'cvm.mjs');
const available = kcatAvailable();
if (!available) console.warn(KCAT_MISSING);

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  /** The base URL once `cvm start` printed its health line. */
  url: () => string | null;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

/** `cvm start` as an operator runs it; logs at info so the wait's lines show. */
function startCvm(env: Record<string, string>): Started {
  const child = spawn(process.execPath, [CVM, 'start'], {
    env: { ...process.env, CVM_LOG_LEVEL: 'info', PORT: '0', CVM_DEMO: 'false', CVM_ADMIN_KEY: ADMIN, CVM_DEMO_WRITE_KEY: WRITE, CVM_TRANSFORM_FLUSH_MS: '100', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  });
  return { child, output: () => out, exited, url: () => /health\s+(http:\/\/[\d.]+:\d+)\/health/.exec(out)?.[1] ?? null };
}

async function stopCvm(cvm: Started): Promise<void> {
  cvm.child.kill('SIGTERM');
  const timer = setTimeout(() => cvm.child.kill('SIGKILL'), 30_000);
  await cvm.exited;
  clearTimeout(timer);
}

async function mock(): Promise<KafkaMock> {
  const m = await startKafkaMock();
  cleanups.push(() => m.stop());
  return m;
}

/** A port nothing listens on yet. */
async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/**
 * The mock cluster picks its own port, so "a broker comes up at the configured address" is a TCP relay that
 * starts listening there and passes bytes to the mock. Only the bootstrap connection goes through it: the
 * cluster's metadata names the mock's own address, which kafkajs uses from then on.
 */
async function relay(port: number, to: string): Promise<void> {
  const [host, toPort] = to.split(':') as [string, string];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(toPort), host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => { client.destroy(); upstream.destroy(); });
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
}

/** Streams a few batches at the running process, waits for the transformer, stops it, and audits the store. */
async function streamAndAudit(cvm: Started, dir: string, tag: string) {
  const url = cvm.url()!;
  const ledger = new Ledger(tag);
  await ledger.stream(viaFetch(url), { senders: 2, maxBatches: 5, until: () => false });
  expect(ledger.statusSummary()).toBe('200: 10');
  await waitForHealthyDrain(url, 90_000);
  await stopCvm(cvm);
  const ch = await connectClickHouse(testConfig({ CVM_DATA_DIR: dir }));
  try {
    return await audit(ch, ledger);
  } finally {
    await ch.close();
  }
}

describe.skipIf(!available)('start-up against Kafka (librdkafka mock cluster)', () => {
  it('cvm start runs on the mock cluster with the default settings (idempotent producer asked for)', async () => {
    const m = await mock();
    const dir = tempDir('cvm-startup-kafka-');
    const cvm = startCvm({ CVM_DATA_DIR: dir, KAFKA_BROKERS: m.brokers.join(',') });
    await waitFor('cvm start to come up', () => cvm.url() !== null || cvm.child.exitCode !== null, 120_000);
    expect(cvm.url(), cvm.output()).not.toBeNull();
    // It says why it produces without idempotence, and that the topic is left to auto-creation.
    expect(cvm.output()).toContain('producing without idempotence');
    expect(cvm.output()).toContain('topic left to auto-creation');
    const result = await streamAndAudit(cvm, dir, 'su');
    expect(result).toMatchObject({ acknowledged: 250, stored: 250, duplicated: 0, lost: 0, strays: 0 });
  });

  it("the collector role's log (openEventLog) connects to the mock with the default settings and appends", async () => {
    const m = await mock();
    const lines: string[] = [];
    const log = pino({ level: 'info' }, new Writable({ write: (c: Buffer, _e, done) => { lines.push(c.toString()); done(); } }));
    // As `cvm collector` would load it: KAFKA_IDEMPOTENT left at its default (true).
    const config = testConfig({ CVM_DATA_DIR: tempDir(), KAFKA_BROKERS: m.brokers.join(',') });
    expect(config.kafka!.idempotent).toBe(true);
    const eventLog = await openEventLog(config, log);
    cleanups.push(() => eventLog.close());
    await eventLog.append(config.topics.events, [{ key: 'c1', value: '{"v":1}' }]);
    await waitFor('the record to be in the log', async () => (await eventLog.lag(config.topics.events, 'nobody')).some((p) => p.high > 0), 30_000);
    expect(lines.join('')).toContain('producing without idempotence');
  });

  it('a start before the broker is up waits for it and comes up once it answers', async () => {
    const port = await freePort();
    const dir = tempDir('cvm-startup-late-');
    const cvm = startCvm({ CVM_DATA_DIR: dir, KAFKA_BROKERS: `127.0.0.1:${port}`, CVM_STARTUP_TIMEOUT_S: '300' });
    await waitFor('"waiting for Kafka"', () => cvm.output().includes(`waiting for Kafka at 127.0.0.1:${port}`) || cvm.child.exitCode !== null, 120_000);
    expect(cvm.child.exitCode, cvm.output()).toBeNull();
    expect(cvm.output().match(/waiting for Kafka at/g)).toHaveLength(1);
    const m = await mock();
    await relay(port, m.brokers[0]!);
    await waitFor('cvm start to come up', () => cvm.url() !== null || cvm.child.exitCode !== null, 120_000);
    expect(cvm.url(), cvm.output()).not.toBeNull();
    expect(cvm.output()).toContain(`Kafka reachable at 127.0.0.1:${port}`);
    // The wait is the only report of the missing broker: no error line per failed attempt.
    expect(cvm.output()).not.toContain('"level":50');
    const result = await streamAndAudit(cvm, dir, 'sl');
    expect(result).toMatchObject({ acknowledged: 250, stored: 250, duplicated: 0, lost: 0, strays: 0 });
  });

  it('with no broker at all it stops after CVM_STARTUP_TIMEOUT_S, naming Kafka and the address', async () => {
    const port = await freePort();
    const cvm = startCvm({ CVM_DATA_DIR: tempDir('cvm-startup-none-'), KAFKA_BROKERS: `127.0.0.1:${port}`, CVM_STARTUP_TIMEOUT_S: '3' });
    const code = await cvm.exited;
    expect(code).toBe(1);
    expect(cvm.output()).toContain(`Kafka at 127.0.0.1:${port} did not answer within 3 s (CVM_STARTUP_TIMEOUT_S)`);
    expect(cvm.output()).toMatch(/ECONNREFUSED/);
  });
});
