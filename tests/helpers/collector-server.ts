// A real collector on loopback for tests: buildApp (collector role) + GET /cvm.js over an embedded event
// log in a temporary directory, with a test consumer group reading back what the log holds.
// stop()/start() take the HTTP side down and up again on the same port while the log stays open.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app.ts';
import { buildServices } from '../../bin/services.ts';
import { openPiiServices } from '../../lib/pii-services.ts';
import { systemClock } from '../../lib/clock.ts';
import type { CollectedRecord, CvmEvent } from '../../ingest/contract.ts';
import { connectClickHouse, type ClickHouse } from '../../lib/clickhouse.ts';
import { testConfig, type Config } from '../../lib/config.ts';
import { EmbeddedEventLog } from '../../lib/eventlog/embedded.ts';
import type { Consumer } from '../../lib/eventlog/types.ts';
import { createLogger, initLogging } from '../../lib/logger.ts';

export interface Collected extends CollectedRecord {
  event: CvmEvent;
}

export interface CollectorServer {
  readonly url: string;
  readonly port: number;
  readonly config: Config;
  readonly dir: string;
  /** Records the test consumer has read from the log, in log order. */
  readonly records: Collected[];
  /** POST /v1/batch requests answered by the current or earlier app instances. */
  readonly batchRequests: number;
  /** Waits until pred holds for the records read so far; throws with `what` on timeout. */
  waitFor(pred: (records: Collected[]) => boolean, what: string, timeoutMs?: number): Promise<Collected[]>;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface CollectorServerOptions {
  /** Extra environment for testConfig, e.g. CVM_DEMO_ORIGINS. */
  env?: Record<string, string>;
}

export async function startCollector(opts: CollectorServerOptions = {}): Promise<CollectorServer> {
  initLogging({ level: 'silent' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cvm-'));
  const config = testConfig({ CVM_DATA_DIR: dir, ...opts.env });
  const log = createLogger({ name: 'test-collector' });
  const eventLog = await EmbeddedEventLog.open({ dir: path.join(dir, 'log'), maxBytes: 64 * 1024 * 1024, retentionMs: 3600_000, log, pollMs: 25 });
  const ch: ClickHouse = await connectClickHouse(config);
  const wired = buildServices({ config, ch, log, clock: systemClock, eventLog, services: await openPiiServices(ch, config, log) }, { models: null, transformer: null, bulkTransformer: null });
  const deps = { config, ch, log, clock: systemClock, eventLog, services: wired.services };
  const records: Collected[] = [];
  const consumer: Consumer = await eventLog.consume({
    topic: config.topics.events,
    group: 'test-reader',
    maxWaitMs: 10,
    handler: async (batch) => {
      for (const r of batch.records) records.push(JSON.parse(r.value) as Collected);
    },
  });

  let app: FastifyInstance | null = null;
  let port = 0;
  let batchRequests = 0;

  async function start(): Promise<void> {
    const a = await buildApp(deps, { collector: true, api: false });
    a.addHook('onResponse', async (req) => {
      if (req.method === 'POST' && req.url.startsWith('/v1/batch')) batchRequests++;
    });
    await a.listen({ host: '127.0.0.1', port });
    port = (a.server.address() as { port: number }).port;
    app = a;
  }

  async function stop(): Promise<void> {
    const a = app;
    app = null;
    if (a) {
      // Browsers keep connections alive; drop them so the port is really dead while stopped.
      a.server.closeAllConnections();
      await a.close();
    }
  }

  await start();

  return {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    config,
    dir,
    records,
    get batchRequests() {
      return batchRequests;
    },
    async waitFor(pred, what, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pred(records)) {
        if (Date.now() > deadline) {
          const seen = records.map((r) => r.event?.type).join(', ');
          throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; log holds ${records.length} records: ${seen}`);
        }
        await new Promise((r) => setTimeout(r, 25));
      }
      return records;
    },
    stop,
    start,
    async close() {
      await stop();
      await consumer.stop();
      await wired.close();
      await eventLog.close();
      await ch.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Counts records by event type. */
export function countByType(records: Collected[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) out[r.event.type] = (out[r.event.type] ?? 0) + 1;
  return out;
}
