// Member passwords: scrypt (node:crypto) with a random 16-byte salt per password, stored with its
// parameters so they can be raised later; compared with timingSafeEqual.
import crypto from 'node:crypto';

const KEYLEN = 32;
export const SCRYPT_DEFAULTS = { N: 16384, r: 8, p: 1 };

function scrypt(password: string, salt: Buffer, N: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    crypto.scrypt(password.normalize('NFKC'), salt, KEYLEN, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** "scrypt$N$r$p$salt$hash" (base64url). */
export async function hashPassword(password: string, params = SCRYPT_DEFAULTS): Promise<string> {
  const salt = crypto.randomBytes(16);
  const key = await scrypt(password, salt, params.N, params.r, params.p);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

// A stored hash to check against when the email is unknown, so "no such member" takes as long as
// "wrong password" and the login form does not reveal which emails have accounts.
let dummy: Promise<string> | null = null;

export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  const target = stored ?? (await (dummy ??= hashPassword(crypto.randomBytes(12).toString('hex'))));
  const parts = target.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  // A malformed stored hash fails closed.
  if (![N, r, p].every((x) => Number.isInteger(x) && x > 0) || N < 2 || N > 1 << 20 || (N & (N - 1)) !== 0 || r > 32 || p > 16) return false;
  const expected = Buffer.from(parts[5]!, 'base64url');
  if (expected.length !== KEYLEN) return false;
  const actual = await scrypt(password, Buffer.from(parts[4]!, 'base64url'), N, r, p);
  const ok = expected.length === actual.length && crypto.timingSafeEqual(expected, actual);
  return ok && stored !== null;
}
