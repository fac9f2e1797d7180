// Where a segment webhook may POST: http(s) to a public address, unless the operator allow-listed the
// host (CVM_WEBHOOK_ALLOW_HOSTS). The host is resolved once per delivery and the request connects to that
// very address (webhooks.ts), so a name cannot pass the check and then re-resolve to an internal one
// (DNS rebinding). Address classes come from ipaddr.js (the library Fastify's proxy-addr already uses):
// only its `unicast` class is public; loopback, private, link-local (cloud metadata), CGNAT, unique-local,
// multicast, reserved, IPv4-mapped/translated and tunnel prefixes are all refused.
import dns from 'node:dns/promises';
import net from 'node:net';
import ipaddr from 'ipaddr.js';

export class WebhookTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookTargetError';
  }
}

export type LookupFn = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

export interface WebhookPolicy {
  /** Hosts (names or IP literals, lower case) an operator allows whatever they resolve to. */
  allowHosts: readonly string[];
  /** Name resolution; tests pass their own to play DNS. */
  lookup: LookupFn;
}

const systemLookup: LookupFn = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

export function webhookPolicy(allowHosts: readonly string[] = [], lookup: LookupFn = systemLookup): WebhookPolicy {
  return { allowHosts: allowHosts.map(normaliseHost), lookup };
}

/** A resolved target: connect to `address`, send `url.host` as Host and (https) `url.hostname` as TLS name. */
export interface WebhookTarget {
  url: URL;
  address: string;
  family: 4 | 6;
  allowListed: boolean;
}

function normaliseHost(host: string): string {
  return host.trim().toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
}

/**
 * Why an address is not public (ipaddr.js's range name), or null when it is a public unicast address.
 * Accepts every notation ipaddr.js parses (dotted, hex, octal, single integer, IPv6, IPv4-mapped).
 */
export function nonPublicRange(address: string): string | null {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(normaliseHost(address));
  } catch {
    return 'not an IP address';
  }
  // ::ffff:127.0.0.1 is 127.0.0.1 to the kernel: judge the IPv4 address it carries.
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  const range = parsed.range();
  return range === 'unicast' ? null : range;
}

/** Checks the shape of a webhook URL (scheme, no credentials); the address is checked by resolveTarget. */
export function parseWebhookUrl(raw: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new WebhookTargetError('webhook_url must be an absolute http(s) URL');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new WebhookTargetError('webhook_url must be an http(s) URL');
  if (u.username || u.password) throw new WebhookTargetError('webhook_url must not carry credentials; the push is signed with the segment secret');
  if (!u.hostname) throw new WebhookTargetError('webhook_url needs a host');
  return u;
}

/** Resolves the URL's host once and picks the address to connect to; throws WebhookTargetError when refused. */
export async function resolveTarget(raw: string, policy: WebhookPolicy): Promise<WebhookTarget> {
  const url = parseWebhookUrl(raw);
  // WHATWG URL already turned 0x7f000001, 2130706433, 0177.0.0.1 and 127.1 into 127.0.0.1.
  const host = normaliseHost(url.hostname);
  const allowListed = policy.allowHosts.includes(host);
  let addresses: Array<{ address: string; family: number }>;
  if (net.isIP(host)) addresses = [{ address: host, family: net.isIP(host) }];
  else {
    try {
      addresses = await policy.lookup(host);
    } catch {
      throw new WebhookTargetError(`webhook_url host ${host} does not resolve`);
    }
    if (!addresses.length) throw new WebhookTargetError(`webhook_url host ${host} does not resolve`);
  }
  if (!allowListed) {
    // Every address the name has must be public: otherwise which one a connection uses is up to chance.
    for (const a of addresses) {
      const range = nonPublicRange(a.address);
      if (range) throw new WebhookTargetError(`webhook_url must point to a public address; ${host} is ${a.address === host ? '' : `${a.address}, `}${range} (an operator can allow a host with CVM_WEBHOOK_ALLOW_HOSTS)`);
    }
  }
  const first = addresses[0]!;
  return { url, address: normaliseHost(first.address), family: first.family === 6 ? 6 : 4, allowListed };
}
