// Identity verification: a browser may only tie an anonymous id to a customer, or change a customer's
// profile, when the shop's back end vouched for the customer id. The shop computes
// HMAC-SHA256(site secret, customer_id) on its server and hands it to the page (cvm.identify(id, traits,
// { signature })), like Intercom's user_hash. Every site has its own secret, derived from one master
// secret (CVM_IDENTITY_KEY, else a key generated once into the data directory), so a write key of one
// site cannot vouch for another site's customers and no secret has to be stored per key.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../lib/config.ts';

export const IDENTITY_KEY_FILE = 'identity.key';
const SIGNATURE_RE = /^[0-9a-f]{64}$/;

/** HMAC-SHA256 of the customer id under the site's secret, as lowercase hex. */
export function signCustomerId(siteSecret: string, customerId: string): string {
  return crypto.createHmac('sha256', siteSecret).update(customerId, 'utf8').digest('hex');
}

/** Constant-time check of a signature the page sent. */
export function signatureMatches(siteSecret: string, customerId: string, signature: unknown): boolean {
  if (typeof signature !== 'string' || !SIGNATURE_RE.test(signature.toLowerCase())) return false;
  const want = Buffer.from(signCustomerId(siteSecret, customerId), 'hex');
  return crypto.timingSafeEqual(want, Buffer.from(signature.toLowerCase(), 'hex'));
}

export class IdentitySecrets {
  private readonly bySite = new Map<string, string>();
  constructor(private readonly master: string) {}

  /** The secret the shop's back end of `site` signs customer ids with (shown by `cvm keys identity-secret`). */
  forSite(site: string): string {
    let s = this.bySite.get(site);
    if (s === undefined) {
      s = 'cis_' + crypto.createHmac('sha256', this.master).update(`cvm identity v1\u0000${site}`, 'utf8').digest('base64url');
      this.bySite.set(site, s);
    }
    return s;
  }

  sign(site: string, customerId: string): string {
    return signCustomerId(this.forSite(site), customerId);
  }

  verify(site: string, customerId: string, signature: unknown): boolean {
    return signatureMatches(this.forSite(site), customerId, signature);
  }
}

const loaded = new Map<string, IdentitySecrets>();

/**
 * The identity secrets of this installation. NOTE: without CVM_IDENTITY_KEY the master is generated into
 * the data directory on first use; several collectors on different hosts must share CVM_IDENTITY_KEY.
 */
export function identitySecrets(config: Pick<Config, 'identityKey' | 'dataDir'>): IdentitySecrets {
  const cacheKey = config.identityKey ? `env:${config.identityKey}` : `dir:${config.dataDir}`;
  let found = loaded.get(cacheKey);
  if (!found) {
    found = new IdentitySecrets(config.identityKey ?? masterFromDataDir(config.dataDir));
    loaded.set(cacheKey, found);
  }
  return found;
}

function masterFromDataDir(dataDir: string): string {
  const file = path.join(dataDir, IDENTITY_KEY_FILE);
  try {
    const text = fs.readFileSync(file, 'utf8').trim();
    if (text.length >= 32) return text;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const key = crypto.randomBytes(32).toString('base64url');
  try {
    // wx: two processes starting at once keep the first one's key.
    fs.writeFileSync(file, key + '\n', { mode: 0o600, flag: 'wx' });
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return fs.readFileSync(file, 'utf8').trim();
    throw err;
  }
}
