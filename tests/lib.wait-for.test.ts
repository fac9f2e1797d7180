// Start-up waits for its dependencies (issue 22, item 6): the backoff helper, and connectClickHouse in server
// mode against a port where nothing listens until a tiny HTTP server starts answering ClickHouse's /ping.
// No ClickHouse server runs here, so the server itself is not tested: only the wait in front of it.
import http from 'node:http';
import net from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { DependencyTimeoutError, retryDelayMs, waitFor } from '../lib/wait-for.ts';
import { connectClickHouse } from '../lib/clickhouse.ts';
import { testConfig } from '../lib/config.ts';

/** A logger whose lines the test can read. */
function capture() {
  const lines: Array<{ level: number; msg: string } & Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

/** A port nothing listens on (taken from the kernel, then released). */
async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

async function until(cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

describe('waitFor', () => {
  it('pauses longer after each failure, up to the cap, never more', () => {
    for (let attempt = 0; attempt < 30; attempt++) {
      const d = retryDelayMs(attempt, 100, 2000);
      const exp = Math.min(2000, 100 * 2 ** attempt);
      expect(d).toBeGreaterThanOrEqual(exp / 2);
      expect(d).toBeLessThanOrEqual(exp);
    }
  });

  it('says once that it waits, retries, and says when the dependency answers', async () => {
    const { log, lines } = capture();
    let calls = 0;
    const value = await waitFor(
      async () => {
        if (++calls < 4) throw new Error('connect ECONNREFUSED');
        return 'up';
      },
      { dependency: 'Thing', at: 'host:1', timeoutMs: 30_000, log, baseMs: 10, capMs: 20 },
    );
    expect(value).toBe('up');
    expect(calls).toBe(4);
    expect(lines.filter((l) => l.msg.startsWith('waiting for Thing at host:1'))).toHaveLength(1);
    expect(lines.filter((l) => l.msg === 'Thing reachable at host:1')).toHaveLength(1);
  });

  it('is silent when the dependency answers at once', async () => {
    const { log, lines } = capture();
    await waitFor(async () => 1, { dependency: 'Thing', at: 'h:1', timeoutMs: 1000, log });
    expect(lines).toHaveLength(0);
  });

  it('gives up at the deadline with an error that names what did not come and why', async () => {
    const { log } = capture();
    const err = await waitFor(() => Promise.reject(new Error('connect ECONNREFUSED 10.0.0.9:9092')), { dependency: 'Kafka', at: '10.0.0.9:9092', timeoutMs: 300, log, baseMs: 20 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DependencyTimeoutError);
    expect((err as Error).message).toMatch(/^Kafka at 10\.0\.0\.9:9092 did not answer within \d+ s \(CVM_STARTUP_TIMEOUT_S\): connect ECONNREFUSED/);
  });

  it('cuts off an attempt that hangs at the deadline', async () => {
    const { log } = capture();
    const started = Date.now();
    const err = await waitFor(() => new Promise<never>(() => {}), { dependency: 'Hole', at: 'h:1', timeoutMs: 300, log }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DependencyTimeoutError);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});

describe('connectClickHouse in server mode', () => {
  it('waits for a server that is not up yet, and connects once it answers /ping', async () => {
    const port = await freePort();
    const { log, lines } = capture();
    const config = testConfig({ CLICKHOUSE_URL: `http://127.0.0.1:${port}`, CLICKHOUSE_PASSWORD: 'not-logged', CVM_STARTUP_TIMEOUT_S: '60' });
    const connecting = connectClickHouse(config, log);
    await until(() => lines.some((l) => l.msg.startsWith(`waiting for ClickHouse at http://127.0.0.1:${port}`)));
    let pings = 0;
    const server = http.createServer((req, res) => {
      // ClickHouse's HTTP interface answers GET /ping with "Ok.\n".
      if (req.url?.startsWith('/ping')) {
        pings++;
        res.end('Ok.\n');
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    const ch = await connecting;
    expect(ch.mode).toBe('server');
    expect(pings).toBeGreaterThanOrEqual(1);
    expect(lines.some((l) => l.msg === `ClickHouse reachable at http://127.0.0.1:${port}`)).toBe(true);
    expect(JSON.stringify(lines)).not.toContain('not-logged');
    await ch.close();
  });

  it('keeps waiting while the server answers /ping with an error', async () => {
    const port = await freePort();
    let ready = false;
    const server = http.createServer((_req, res) => {
      res.statusCode = ready ? 200 : 503;
      res.end(ready ? 'Ok.\n' : 'starting');
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    const { log, lines } = capture();
    const connecting = connectClickHouse(testConfig({ CLICKHOUSE_URL: `http://127.0.0.1:${port}`, CVM_STARTUP_TIMEOUT_S: '60' }), log);
    await until(() => lines.some((l) => l.msg.startsWith('waiting for ClickHouse')));
    ready = true;
    const ch = await connecting;
    await ch.close();
  });

  it('fails after CVM_STARTUP_TIMEOUT_S naming ClickHouse and its address', async () => {
    const port = await freePort();
    const { log } = capture();
    const err = await connectClickHouse(testConfig({ CLICKHOUSE_URL: `http://127.0.0.1:${port}`, CVM_STARTUP_TIMEOUT_S: '1' }), log).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DependencyTimeoutError);
    expect((err as Error).message).toContain(`ClickHouse at http://127.0.0.1:${port} did not answer within 1 s`);
  });
});

describe('CVM_STARTUP_TIMEOUT_S', () => {
  it('defaults to 120 s and refuses what is not a whole number of seconds', () => {
    expect(testConfig().startup.timeoutS).toBe(120);
    expect(testConfig({ CVM_STARTUP_TIMEOUT_S: '0' }).startup.timeoutS).toBe(0);
    expect(() => testConfig({ CVM_STARTUP_TIMEOUT_S: 'soon' })).toThrow(/CVM_STARTUP_TIMEOUT_S/);
  });
});
