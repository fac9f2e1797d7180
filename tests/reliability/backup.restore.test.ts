// Backup while events stream in, restore on a new directory (issue 22, item 7). Two backups of one store:
//  1. during traffic, with events written at the two moments that matter: after `events` was dumped
//     (new visitors, so new subject keys; stored and committed before the log is copied) and after the
//     other tables (not yet stored). Restored, its transformer stores the rest of the log copy: the events
//     are exactly the original's below the copy's end offset, each once, and Alice's 360 is the same.
//  2. through the admin route once the stream has stopped: every table's rows equal the original's.
// chDB binds one data directory per process, so the original is closed before a restored store opens.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN, ALICE, aliceEvents, post } from '../api.fixture.ts';
import { tempDir, testRuntime, FIXTURE_NOW } from '../helpers/runtime.ts';
import { waitForDrain, type Runtime } from '../../bin/runtime.ts';
import { demoCatalogue } from '../../storefront/demo/catalogue.ts';
import { generateHistory } from '../../storefront/demo/history.ts';
import { createBackup, type BackupStep } from '../../lib/backup/backup.ts';
import { readManifest } from '../../lib/backup/manifest.ts';
import { restoreBackup } from '../../lib/backup/restore.ts';
import { testConfig } from '../../lib/config.ts';
import { initLogging } from '../../lib/logger.ts';
import type { ClickHouse } from '../../lib/clickhouse.ts';
import { Ledger, audit, viaInject } from './helpers/stream.ts';
import { recordFault } from './helpers/report.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ENV = { CVM_API_RATE_LIMIT_PER_MINUTE: '1000000', CVM_RATE_LIMIT_PER_MINUTE: '1000000' };
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Rows per table as the API sees them: FINAL where the engine folds row versions (merges differ by store). */
async function tableCounts(ch: ClickHouse, names: string[]): Promise<Record<string, number>> {
  const engines = new Map((await ch.rows<{ name: string; engine: string }>("SELECT name, engine FROM system.tables WHERE database = currentDatabase()")).map((r) => [r.name, r.engine]));
  const out: Record<string, number> = {};
  for (const name of names) {
    const final = /Replacing|Aggregating|Collapsing|Summing/.test(engines.get(name) ?? '') ? ' FINAL' : '';
    const [row] = await ch.rows<{ n: string }>(`SELECT count() AS n FROM \`${name}\`${final}`);
    out[name] = Number(row?.n);
  }
  return out;
}

async function customer360(rt: Runtime, id: string): Promise<unknown> {
  const res = await rt.app!.inject({ method: 'GET', url: `/v1/customers/${id}`, headers: { authorization: `Bearer ${ADMIN}` } });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

/** Until the transformer committed every record appended so far (the stream goes on meanwhile). */
async function committedPastNow(rt: Runtime): Promise<void> {
  const topic = rt.deps.config.topics.events;
  const high = (await rt.eventLog!.lag(topic, 'transform'))[0]!.high;
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(50)) {
    const [p] = await rt.eventLog!.lag(topic, 'transform');
    if (p!.committed >= high) return;
  }
  throw new Error('the transformer did not commit in time');
}

async function restoreAndStart(backup: string): Promise<Runtime & { dir: string }> {
  const dir = path.join(tempDir('cvm-restored-'), 'data');
  dirs.push(path.dirname(dir));
  const config = testConfig({ CVM_DATA_DIR: dir, CVM_ADMIN_KEY: ADMIN });
  const r = await restoreBackup(config, initLogging({ level: 'silent' }), backup);
  const m = readManifest(backup);
  for (const t of r.tables) if (!t.rebuiltBy && t.name !== 'schema_views') expect(t.rows, t.name).toBe(m.tables.find((x) => x.name === t.name)!.rows);
  const rt = await testRuntime({ ...ENV, CVM_DATA_DIR: dir });
  expect(await waitForDrain(rt, 120_000)).toBe(true);
  return rt;
}

describe('backup and restore', () => {
  it('a backup taken during traffic restores every event below its cut exactly once; a quiet one restores every table', async () => {
    const t0 = Date.now();
    const root = tempDir('cvm-backup-test-');
    dirs.push(root);
    const backups = path.join(root, 'backups');
    const a = await testRuntime({ ...ENV, CVM_DATA_DIR: path.join(root, 'data'), CVM_BACKUP_DIR: backups });
    const topic = a.deps.config.topics.events;
    const history = generateHistory(demoCatalogue(), { customers: 20, days: 60, end: FIXTURE_NOW - 60_000, seed: 3 }).map((h) => h.event);
    await post(a, [...history, ...aliceEvents()]);
    expect(await waitForDrain(a, 60_000)).toBe(true);
    expect((await a.models.run('rfm'))[0]!.status).toBe('ok');

    const ledger = new Ledger('bk');
    const send = viaInject(a.app!);
    let streaming = true;
    const stream = ledger.stream(send, { senders: 2, size: 25, pauseMs: 30, until: () => !streaming });
    while (ledger.acknowledged.size < 300) await sleep(50);
    const before = new Set(ledger.acknowledged);

    const mid = new Ledger('mid'); // new visitors and customers: their subject keys are made during the backup
    const late = new Ledger('late');
    const b1 = await createBackup(
      { config: a.deps.config, ch: a.deps.ch, log: a.deps.log },
      {
        to: backups,
        afterStep: async (step: BackupStep) => {
          if (step === 'events') {
            for (let i = 0; i < 4; i++) expect(await mid.send(send, 25)).toBe(200);
            await committedPastNow(a); // stored and committed after the events dump, before the log copy
          }
          if (step === 'tables') for (let i = 0; i < 2; i++) expect(await late.send(send, 25)).toBe(200);
        },
      },
    );
    streaming = false;
    await stream;
    expect(await waitForDrain(a, 120_000)).toBe(true);
    const m1 = b1.manifest;
    expect(m1.order).toEqual(['offsets', 'events', 'tables', 'log', 'keys']);
    const cut = m1.log.positions.find((p) => p.topic === topic && p.group === 'transform')!;
    // The copy had committed past what the events dump holds: its offset was moved back.
    expect(cut.committedInCopy).toBeGreaterThan(cut.committed);

    // Backup 2 through the admin route, quiet: the stream has stopped and the transformer caught up.
    const res = await a.app!.inject({ method: 'POST', url: '/v1/admin/backups', headers: { authorization: `Bearer ${ADMIN}` }, payload: { to: backups } });
    expect(res.statusCode, res.body).toBe(201);
    const b2 = (res.json() as { path: string }).path;

    // What the original holds: its events below the first backup's cut, every table, Alice's 360.
    const below = new Set((await a.deps.ch.rows<{ id: string }>('SELECT toString(event_id) AS id FROM events WHERE log_topic = {t:String} AND log_offset < {n:UInt64}', { t: topic, n: cut.next })).map((r) => r.id));
    const names = readManifest(b2).tables.map((t) => t.name).filter((n) => n !== 'schema_views');
    const countsA = await tableCounts(a.deps.ch, names);
    const aliceA = await customer360(a, ALICE.id);
    await a.close();

    const r1 = await restoreAndStart(b1.path);
    try {
      // Everything acknowledged before the backup began, and what was stored and committed mid-backup, is there.
      const ids = new Set((await r1.deps.ch.rows<{ id: string }>('SELECT toString(event_id) AS id FROM events')).map((r) => r.id));
      for (const id of [...before, ...mid.acknowledged]) expect(ids.has(id), `event ${id} lost`).toBe(true);
      expect([...ids].filter((id) => !below.has(id))).toEqual([]);
      const cutLedger = new Ledger('cut');
      for (const id of below) {
        cutLedger.attempted.add(id);
        cutLedger.acknowledged.add(id);
      }
      const result = await audit(r1.deps.ch, cutLedger);
      expect(result.stored).toBe(below.size);
      expect(await customer360(r1, ALICE.id)).toEqual(aliceA);
      recordFault(
        9,
        'backup during traffic, restored on a new directory',
        result,
        `2 senders of 25-event batches; ${mid.acknowledged.size} events stored and committed between the events dump and the log copy, ${late.acknowledged.size} after the tables; log copy rewound from ${cut.committedInCopy} to ${cut.committed} of ${cut.next}; backup ${m1.took_ms} ms`,
        t0,
      );
    } finally {
      await r1.close();
    }

    const r2 = await restoreAndStart(b2);
    try {
      expect(await tableCounts(r2.deps.ch, names)).toEqual(countsA);
      expect(await customer360(r2, ALICE.id)).toEqual(aliceA);
    } finally {
      await r2.close();
    }
  }, 600_000);
});
