// pino loggers with one set of redaction rules, so keys and PII never reach the log.
import pino, { type Logger } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'key', '*.key', 'apiKey', '*.apiKey', 'password', '*.password', 'token', '*.token', 'secret', '*.secret',
  'email', '*.email', '*.*.email', 'phone', '*.phone', '*.*.phone', 'traits.name', '*.traits.name', 'customer.name',
  'address', '*.address', '*.*.address', 'ip', '*.ip',
  'req.headers.authorization', 'req.headers["x-cvm-key"]', 'req.headers.cookie',
  'headers.authorization', 'headers["x-cvm-key"]',
  // Segment webhooks: the signing secret, and URLs that often carry a token.
  'webhook_secret', '*.webhook_secret', 'webhook_url', '*.webhook_url',
];

let root: Logger | null = null;

export interface LoggerOptions {
  level?: string;
  destination?: pino.DestinationStream;
}

export function initLogging(opts: LoggerOptions = {}): Logger {
  root = pino(
    {
      level: opts.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      serializers: { err: pino.stdSerializers.err },
    },
    opts.destination ?? pino.destination(1),
  );
  return root;
}

export function createLogger(bindings: { name: string } & Record<string, unknown>): Logger {
  if (!root) root = initLogging({ level: 'info' });
  return root.child(bindings);
}
