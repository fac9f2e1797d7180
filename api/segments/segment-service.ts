// Segments: the built-in RFM segments (id `rfm:<name>`) and saved ones defined by a rule. After every
// model run their sizes are recorded in segment_sizes and saved segments with a webhook get their
// (consenting) members pushed.
import crypto from 'node:crypto';
import type { ClickHouse } from '../../lib/clickhouse.ts';
import { chTime } from '../../lib/clickhouse.ts';
import type { PiiCipher } from '../../lib/crypto.ts';
import type { Logger } from '../../lib/logger.ts';
import { RFM_SEGMENTS } from '../../models/rfm/segments.ts';
import type { ModelRunRecord } from '../../models/runner.ts';
import { SYSTEM_ACTOR, actorOf, recordAudit } from '../../lib/audit.ts';
import type { Principal } from '../auth.ts';
import { listFeatures, type ListPage } from '../customer-list.ts';
import { compileRuleText, type CompiledRule } from './rule-sql.ts';
import { DEFAULT_WEBHOOK_OPTIONS, deliver, webhookHost, type WebhookOptions } from './webhooks.ts';
import { resolveTarget, webhookPolicy, WebhookTargetError, type WebhookPolicy } from './webhook-target.ts';

export interface SegmentView {
  id: string;
  kind: 'rfm' | 'custom';
  name: string;
  rule: string;
  webhook_url: string | null;
  created_by: string | null;
  created_at: string | null;
  size: number | null;
  size_at: string | null;
}

interface SegmentRow {
  segment_id: string;
  name: string;
  rule: string;
  webhook_url: string;
  webhook_secret: string;
  created_by: string;
  created_at: string;
  deleted: number;
  updated_at: string;
}

export class SegmentInputError extends Error {
  constructor(readonly field: string, message: string, readonly position?: number) {
    super(message);
  }
}

/** The key may not do this to this segment (403). */
export class SegmentForbiddenError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

/**
 * What an analyst sees of a webhook URL: scheme and host only. The path and query often carry the
 * receiver's token, which only admins (who set webhooks) may read.
 */
export function maskWebhookUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/…`;
  } catch {
    return '…';
  }
}

export const WEBHOOK_MEMBER_CAP = 100_000;
const RFM_PREFIX = 'rfm:';

export class SegmentService {
  private readonly inflight = new Set<Promise<void>>();
  webhookOptions: WebhookOptions = DEFAULT_WEBHOOK_OPTIONS;
  /** Which webhook targets are allowed (CVM_WEBHOOK_ALLOW_HOSTS) and how names resolve. */
  webhookPolicy: WebhookPolicy;

  constructor(private readonly ch: ClickHouse, private readonly pii: PiiCipher, private readonly log: Logger, webhookAllowHosts: readonly string[] = []) {
    this.webhookPolicy = webhookPolicy(webhookAllowHosts);
  }

  private async rows(id?: string): Promise<SegmentRow[]> {
    return this.ch.rows<SegmentRow>(
      `SELECT * FROM segments FINAL WHERE deleted = 0 AND ({id:String} = '' OR segment_id = {id:String}) ORDER BY created_at, segment_id`,
      { id: id ?? '' },
    );
  }

  private async latestSizes(): Promise<Map<string, { size: number; at: string }>> {
    const rows = await this.ch.rows<{ segment_id: string; size: string; last_at: string }>(
      `SELECT segment_id, argMax(customers, at) AS size, max(at) AS last_at FROM segment_sizes GROUP BY segment_id`,
    );
    return new Map(rows.map((r) => [r.segment_id, { size: Number(r.size), at: r.last_at }]));
  }

  private view(r: SegmentRow, sizes: Map<string, { size: number; at: string }>, viewer: Principal | undefined): SegmentView {
    const s = sizes.get(r.segment_id);
    const webhook = r.webhook_url ? (viewer?.role === 'admin' ? r.webhook_url : maskWebhookUrl(r.webhook_url)) : null;
    return {
      id: r.segment_id, kind: 'custom', name: r.name, rule: r.rule, webhook_url: webhook, created_by: r.created_by, created_at: r.created_at,
      size: s?.size ?? null, size_at: s?.at ?? null,
    };
  }

  private builtin(name: string, sizes: Map<string, { size: number; at: string }>): SegmentView {
    const id = RFM_PREFIX + name;
    const s = sizes.get(id);
    return { id, kind: 'rfm', name, rule: `segment = '${name}'`, webhook_url: null, created_by: null, created_at: null, size: s?.size ?? null, size_at: s?.at ?? null };
  }

  /** `viewer`: webhook URLs are shown whole to admins only, masked for everyone else. */
  async list(viewer?: Principal): Promise<SegmentView[]> {
    const sizes = await this.latestSizes();
    return [...RFM_SEGMENTS.map((n) => this.builtin(n, sizes)), ...(await this.rows()).map((r) => this.view(r, sizes, viewer))];
  }

  async get(id: string, viewer?: Principal): Promise<SegmentView | null> {
    const sizes = await this.latestSizes();
    if (id.startsWith(RFM_PREFIX)) {
      const name = id.slice(RFM_PREFIX.length);
      return (RFM_SEGMENTS as readonly string[]).includes(name) ? this.builtin(name, sizes) : null;
    }
    const [row] = await this.rows(id);
    return row ? this.view(row, sizes, viewer) : null;
  }

  async create(input: { name: string; rule: string; webhook_url?: string | null }, by: Principal): Promise<{ segment: SegmentView; webhook_secret: string | null }> {
    const name = input.name.trim();
    if (!name || name.length > 128) throw new SegmentInputError('name', 'name must be 1 to 128 characters');
    try {
      compileRuleText(input.rule);
    } catch (err) {
      const e = err as { position?: number; problem?: string; message: string };
      if (typeof e.position === 'number') throw new SegmentInputError('rule', `rule ${e.message}`, e.position);
      throw err;
    }
    let webhookUrl = '';
    let secret: string | null = null;
    if (input.webhook_url) {
      // A webhook sends customer data out of cvm: only an admin may point one somewhere.
      if (by.role !== 'admin') throw new SegmentForbiddenError('webhook_url', 'only an admin key may set a webhook_url; save the segment without it, or ask an admin');
      try {
        webhookUrl = (await resolveTarget(input.webhook_url, this.webhookPolicy)).url.toString();
      } catch (err) {
        if (err instanceof WebhookTargetError) throw new SegmentInputError('webhook_url', err.message);
        throw err;
      }
      secret = `whsec_${crypto.randomBytes(32).toString('base64url')}`;
    }
    const now = chTime(Date.now());
    const row: SegmentRow = {
      segment_id: `seg_${crypto.randomBytes(8).toString('hex')}`, name, rule: input.rule, webhook_url: webhookUrl,
      webhook_secret: secret ? this.pii.encrypt(secret) : '', created_by: by.keyId, created_at: now, deleted: 0, updated_at: now,
    };
    await this.ch.insert('segments', [row]);
    await recordAudit(this.ch, actorOf(by), 'segment_create', row.segment_id, { name, rule: input.rule, webhook_host: webhookUrl ? webhookHost(webhookUrl) : null });
    return { segment: this.view(row, new Map(), by), webhook_secret: secret };
  }

  /** Only the key that created a segment, or an admin, deletes it. */
  async remove(id: string, by: Principal): Promise<boolean> {
    const [row] = await this.rows(id);
    if (!row) return false;
    if (by.role !== 'admin' && row.created_by !== by.keyId) throw new SegmentForbiddenError('id', `segment ${id} was saved by another key; only its creator or an admin may delete it`);
    await this.ch.insert('segments', [{ ...row, deleted: 1, updated_at: chTime(Math.max(Date.now(), Date.parse(row.updated_at + 'Z') + 1)) }]);
    await recordAudit(this.ch, actorOf(by), 'segment_delete', id);
    return true;
  }

  /** The WHERE condition over customer_features for a segment id, or null when there is no such segment. */
  async condition(id: string, prefix = 'r'): Promise<CompiledRule | null> {
    if (id.startsWith(RFM_PREFIX)) {
      const name = id.slice(RFM_PREFIX.length);
      if (!(RFM_SEGMENTS as readonly string[]).includes(name)) return null;
      return { where: `segment = {${prefix}_seg:String}`, params: { [`${prefix}_seg`]: name } };
    }
    const [row] = await this.rows(id);
    return row ? compileRuleText(row.rule, prefix) : null;
  }

  async members(id: string, page: { sort?: string; cursor?: string; limit: number }): Promise<ListPage | null> {
    const cond = await this.condition(id);
    if (!cond) return null;
    return listFeatures(this.ch, { ...cond, ...page });
  }

  async sizes(id: string, limit = 1000): Promise<Array<{ at: string; run_id: string; model: string; customers: number }>> {
    const rows = await this.ch.rows<{ at: string; run_id: string; model: string; customers: string }>(
      `SELECT at, run_id, model, customers FROM segment_sizes WHERE segment_id = {id:String} ORDER BY at DESC LIMIT {limit:UInt32}`,
      { id, limit },
    );
    return rows.reverse().map((r) => ({ ...r, customers: Number(r.customers) }));
  }

  /** ModelRunner.afterRun: sizes now, webhook pushes in the background (see idle()). */
  async afterRun(run: Pick<ModelRunRecord, 'runId' | 'model'>): Promise<void> {
    const saved = await this.rows();
    const at = chTime(Date.now());
    const rfm = await this.ch.rows<{ segment: string; n: string }>(
      `SELECT segment, count() AS n FROM customer_features WHERE segment IS NOT NULL GROUP BY segment`,
    );
    const sizes = rfm.map((r) => ({ at, run_id: run.runId, model: run.model, segment_id: RFM_PREFIX + r.segment, kind: 'rfm', customers: Number(r.n) }));
    if (saved.length) {
      // One pass over customer_features for every saved segment: countIf per rule.
      const compiled = saved.map((s, i) => compileRuleText(s.rule, `s${i}`));
      const params = Object.assign({}, ...compiled.map((c) => c.params)) as Record<string, unknown>;
      const [counts] = await this.ch.rows<Record<string, string>>(
        `SELECT ${compiled.map((c, i) => `countIf(${c.where}) AS c${i}`).join(', ')} FROM customer_features`,
        params,
      );
      saved.forEach((s, i) => sizes.push({ at, run_id: run.runId, model: run.model, segment_id: s.segment_id, kind: 'custom', customers: Number(counts?.[`c${i}`] ?? 0) }));
    }
    await this.ch.insert('segment_sizes', sizes);
    for (const s of saved.filter((x) => x.webhook_url)) {
      const p = this.push(s, run).finally(() => this.inflight.delete(p));
      this.inflight.add(p);
    }
  }

  private async push(s: SegmentRow, run: Pick<ModelRunRecord, 'runId' | 'model'>): Promise<void> {
    try {
      const cond = compileRuleText(s.rule, 'w');
      // Consent: customers who opted out are never pushed to a third party.
      const members = await this.ch.rows<Record<string, unknown>>(
        `SELECT customer_id, country, segment, clv, p_alive, churn_risk FROM customer_features
         WHERE consent = 1 AND (${cond.where}) ORDER BY customer_id LIMIT {cap:UInt32}`,
        { ...cond.params, cap: WEBHOOK_MEMBER_CAP },
      );
      const secret = String(this.pii.decrypt(s.webhook_secret));
      const payload = { segment_id: s.segment_id, name: s.name, rule: s.rule, model: run.model, run_id: run.runId, at: new Date().toISOString(), count: members.length, members };
      // Checked again at every push: the name may resolve elsewhere now, and rows saved before the check existed.
      const result = await deliver(s.webhook_url, secret, payload, this.log, this.webhookOptions, this.webhookPolicy);
      if (!result.ok) this.log.error({ segmentId: s.segment_id, host: webhookHost(s.webhook_url), attempts: result.attempts, status: result.status, problem: result.error }, 'webhook push gave up');
      await recordAudit(this.ch, SYSTEM_ACTOR, result.ok ? 'webhook_push' : result.refused ? 'webhook_refused' : 'webhook_failed', s.segment_id, { run_id: run.runId, members: members.length, attempts: result.attempts, status: result.status });
    } catch (err) {
      this.log.error({ err, segmentId: s.segment_id }, 'webhook push failed');
    }
  }

  /** Resolves when every webhook push started so far has finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
  }
}
