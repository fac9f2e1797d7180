// `cvm keys create|list|revoke`: API keys on a stopped store (or a ClickHouse server). While a cvm runs on
// the embedded store it holds the data directory, so the command names the admin API call instead.
// `cvm keys rotate-admin` replaces the bootstrap admin key file; it needs no store, so it works while cvm runs.
import { parseArgs } from 'node:util';
import { UserError, type CliContext } from '../../lib/cli-context.ts';
import { adminKeyFile, openStore } from '../runtime.ts';
import { refuseIfHeld } from '../store-guard.ts';
import { ApiKeyStore, KEY_ROLES, KeyInputError, generateAdminKey, writeAdminKeyFile, type KeyRole } from '../../api/keys.ts';
import { CLI_ACTOR, recordAudit } from '../../lib/audit.ts';
import { KEY_RELOAD_MS } from '../../api/services.ts';
import { identitySecrets } from '../../ingest/identity.ts';

async function withStore<T>(ctx: CliContext, what: string, hint: string, work: (keys: ApiKeyStore, ch: Awaited<ReturnType<typeof openStore>>) => Promise<T>): Promise<T> {
  refuseIfHeld(ctx.config, what, hint);
  const ch = await openStore(ctx.config, ctx.log);
  try {
    const keys = ApiKeyStore.forConfig(ch, ctx.config, ctx.log.child({ name: 'keys' }));
    await keys.reload();
    return await work(keys, ch);
  } finally {
    await ch.close();
  }
}

const base = (ctx: CliContext) => `http://localhost:${ctx.config.port}/v1/admin/keys`;

export const create = {
  async run(argv: string[], ctx: CliContext): Promise<number> {
    const { values } = parseArgs({ args: argv, options: { role: { type: 'string' }, name: { type: 'string' }, site: { type: 'string' }, origins: { type: 'string' }, json: { type: 'boolean', default: false } } });
    const role = values.role as KeyRole | undefined;
    if (!role || !KEY_ROLES.includes(role)) throw new UserError(`--role is required: one of ${KEY_ROLES.join(', ')}`);
    const body = JSON.stringify({ role, ...(values.name ? { name: values.name } : {}), ...(values.site ? { site: values.site } : {}), ...(values.origins ? { origins: values.origins.split(',') } : {}) });
    return withStore(ctx, `keys create --role ${role}`, `curl -X POST -H "Authorization: Bearer $CVM_ADMIN_KEY" -H 'content-type: application/json' -d '${body}' ${base(ctx)}`, async (keys, ch) => {
      try {
        const origins = values.origins?.split(',').map((s) => s.trim()).filter(Boolean);
        const { key, secret } = await keys.create({ role, createdBy: 'cli', ...(values.name ? { name: values.name } : {}), ...(values.site ? { site: values.site } : {}), ...(origins ? { origins } : {}) });
        await recordAudit(ch, CLI_ACTOR, 'key_create', key.key_id, { role: key.role, name: key.name, site: key.site });
        if (values.json) ctx.out(JSON.stringify({ ...key, key: secret }));
        else {
          ctx.out(`created ${key.role} key ${key.key_id}${key.name ? ` (${key.name})` : ''}${key.site ? ` for site ${key.site}` : ''}`);
          ctx.out(`key: ${secret}`);
          ctx.out('Store it now: only its hash is kept, it cannot be shown again.');
          if (key.role === 'write') ctx.out(`identity secret of site ${key.site} (keep it on the shop's back end; see \`cvm keys identity-secret\`): ${identitySecrets(ctx.config).forSite(key.site)}`);
        }
        return 0;
      } catch (err) {
        if (err instanceof KeyInputError) throw new UserError(`--${err.field}: ${err.message}`);
        throw err;
      }
    });
  },
};

/** `cvm keys identity-secret --site S`: the secret the shop's back end signs customer ids with (no store needed). */
export const identitySecret = {
  async run(argv: string[], ctx: CliContext): Promise<number> {
    const { values } = parseArgs({ args: argv, options: { site: { type: 'string' }, json: { type: 'boolean', default: false } } });
    const site = values.site ?? ctx.config.keys.demoSite;
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(site)) throw new UserError('--site: letters, digits, . _ - (at most 64)');
    const secret = identitySecrets(ctx.config).forSite(site);
    if (values.json) ctx.out(JSON.stringify({ site, identity_secret: secret }));
    else {
      ctx.out(`identity secret of site ${site}: ${secret}`);
      ctx.out("Keep it on the shop's back end: sign each customer id with HMAC-SHA256 and pass the hex digest to cvm.identify(id, traits, { signature }).");
    }
    return 0;
  },
};

export const list = {
  async run(_argv: string[], ctx: CliContext): Promise<number> {
    return withStore(ctx, 'keys list', `curl -H "Authorization: Bearer $CVM_ADMIN_KEY" ${base(ctx)}`, async (keys) => {
      ctx.out(JSON.stringify({ keys: keys.list() }, null, 2));
      return 0;
    });
  },
};

export const revoke = {
  async run(argv: string[], ctx: CliContext): Promise<number> {
    const id = argv[0];
    if (!id) throw new UserError('name the key: cvm keys revoke KEY_ID (see cvm keys list)');
    return withStore(ctx, `keys revoke ${id}`, `curl -X DELETE -H "Authorization: Bearer $CVM_ADMIN_KEY" ${base(ctx)}/${id}`, async (keys, ch) => {
      if (!(await keys.revoke(id))) throw new UserError(`no live key ${id}`);
      await recordAudit(ch, CLI_ACTOR, 'key_revoke', id);
      ctx.out(`revoked ${id}`);
      return 0;
    });
  },
};

export const rotateAdmin = {
  async run(argv: string[], ctx: CliContext): Promise<number> {
    const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false } } });
    if (ctx.config.keys.admin) {
      throw new UserError(`the admin key comes from CVM_ADMIN_KEY, which cvm cannot change: set a new value and restart cvm (or unset it and run cvm keys rotate-admin, so cvm keeps the key in ${adminKeyFile(ctx.config)})`);
    }
    const file = adminKeyFile(ctx.config);
    const key = generateAdminKey();
    writeAdminKeyFile(file, key);
    if (values.json) ctx.out(JSON.stringify({ key, file }));
    else {
      ctx.out(`new admin key: ${key}`);
      ctx.out(`Written to ${file}. The old key no longer works; a running cvm drops it within ${KEY_RELOAD_MS / 1000} s (its key reload).`);
      ctx.out('Store the new key now: it is not printed again.');
    }
    return 0;
  },
};
