// Hands a command's work to the cvm that holds the embedded store (chDB allows one process per data
// directory): the holder's URL comes from the store's lock (bin/instance-lock.ts), the admin key from
// CVM_ADMIN_KEY or <dataDir>/admin.key.
import http from 'node:http';
import https from 'node:https';
import { UserError, type CliContext } from '../lib/cli-context.ts';
import { readAdminKeyFile } from '../api/keys.ts';
import { describeHolder, type Held } from './instance-lock.ts';
import { adminKeyFile } from './runtime.ts';

export interface ServerAnswer {
  status: number;
  body: string;
}

/** POSTs `payload` as JSON to the holder's `route`, as admin. */
export async function postToHolder(ctx: CliContext, held: Held, route: string, payload: unknown): Promise<ServerAnswer> {
  const url = held.info?.url;
  if (!url) throw new UserError(`a running cvm (${describeHolder(held)}) holds ${ctx.config.dataDir} but does not say where it serves, and chDB allows one process per data directory; try again once it is up`);
  const key = ctx.config.keys.admin ?? readAdminKeyFile(adminKeyFile(ctx.config));
  if (!key) throw new UserError(`a running cvm (${describeHolder(held)}) holds the store; set CVM_ADMIN_KEY so this command can hand it the work`);
  return postJson(`${url}${route}`, key, payload);
}

/** node:http rather than fetch: fetch gives up waiting for the answer after 300 s, and a backup or a model run may take longer. */
function postJson(url: string, key: string, payload: unknown): Promise<ServerAnswer> {
  const data = JSON.stringify(payload);
  const u = new URL(url);
  const lib = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(u, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(data);
  });
}
