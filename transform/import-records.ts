// Records that never went through the event log (`cvm import transactions`) run through the same steps
// as the log's, straight into ClickHouse. `source` names where they came from (one per imported file):
// the rows carry it as their log topic and their ordinal in the file as the offset, so the stored
// high-water marks make a re-import of the same file store nothing twice, as they do for the log.
import type { ClickHouse } from '../lib/clickhouse.ts';
import type { Config } from '../lib/config.ts';
import type { CollectedRecord } from '../ingest/contract.ts';
import { advanceMarks, ChunkRows, sendChunk, type PreparedChunk } from './chunk-rows.ts';
import { CustomerCountries } from './customer-countries.ts';
import { FxTable } from './fx.ts';
import { RecentIds } from './recent-ids.ts';
import { recordSteps } from './record-steps.ts';
import { rowWriter } from './row-writer.ts';
import { Sessioniser } from './sessionise.ts';
import { loadMarks } from './stored-marks.ts';

export interface ImportCounts { records: number; stored: number; rejected: number; duplicates: number }

/** Records per chunk: one set of inserts each, as a log batch of the default size gets. */
const CHUNK = 5000;
const PARTITION = 0;

export async function importRecords(deps: { ch: ClickHouse; config: Config }, source: string, batches: AsyncIterable<CollectedRecord[]>): Promise<ImportCounts> {
  const { ch, config } = deps;
  const fx = await FxTable.load(ch);
  const countries = new CustomerCountries();
  await countries.load(ch);
  const mark = await loadMarks(ch, source, PARTITION, 0);
  const recentIds = new RecentIds();
  const sessions = new Sessioniser();
  const writer = rowWriter(ch, config.dataDir);
  const ctx = { fx, baseCurrency: config.baseCurrency, customerCountry: countries.get, learnCountry: countries.learn, identityVerification: config.identityVerification };
  const counts: ImportCounts = { records: 0, stored: 0, rejected: 0, duplicates: 0 };

  const store = async (c: PreparedChunk) => {
    await sendChunk(c);
    for (const id of c.eventIds) recentIds.remember(id);
    advanceMarks(mark, c);
    counts.stored += c.eventIds.length;
    counts.rejected += c.rejectReasons.length;
  };
  // While ClickHouse stores one chunk, the next is prepared.
  const chunks: { inflight: Promise<void> | null; waiting: PreparedChunk | null } = { inflight: null, waiting: null };
  let pending: CollectedRecord[] = [];
  const flush = async () => {
    if (!pending.length) return;
    const first = counts.records;
    const steps = recordSteps({ ctx, dedupe: { seen: new Set(), stored: recentIds }, sessions, storedAt: (at) => at.log_offset <= mark.events });
    const rows = new ChunkRows(mark);
    for (const record of pending) {
      const at = { log_topic: source, log_partition: PARTITION, log_offset: counts.records++ };
      rows.add(steps({ record, at }), at, { record });
    }
    pending = [];
    const chunk = rows.prepare(writer, `${source}:${PARTITION}:${first}-${counts.records - 1}`);
    counts.duplicates += chunk.duplicates;
    chunks.waiting = chunk;
    if (chunks.inflight) await chunks.inflight;
    chunks.waiting = null;
    chunks.inflight = store(chunk);
    chunks.inflight.catch(() => {}); // observed at the next flush or at the end
  };
  try {
    for await (const batch of batches) {
      for (const r of batch) {
        pending.push(r);
        if (pending.length >= CHUNK) await flush();
      }
    }
    await flush();
    if (chunks.inflight) await chunks.inflight;
  } catch (err) {
    if (chunks.inflight) await chunks.inflight.catch(() => {});
    for (const w of chunks.waiting?.writes ?? []) w.discard();
    throw err;
  }
  return counts;
}
