// The collector's HTTP answers: errors with a status, a code and the field at fault; JSON bodies parsed
// here (not by Fastify) so a bad body gets the same error shape as every other refusal.
import type { FastifyReply } from 'fastify';
import type { EventProblem } from '../contract.ts';

export interface RejectedEntry extends EventProblem {
  index: number;
  event_id?: string;
}

export interface BatchResponse {
  accepted: number;
  rejected: RejectedEntry[];
}

export class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly field?: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

export function parseBody(body: unknown): Record<string, unknown> {
  let value: unknown = body;
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    const text = body.toString();
    if (text.trim() === '') throw new HttpError(400, 'empty_body', 'request body is empty', 'body');
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new HttpError(400, 'invalid_json', `body is not valid JSON: ${(err as Error).message}`, 'body');
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new HttpError(400, 'invalid_body', 'body must be a JSON object', 'body');
  return value as Record<string, unknown>;
}

/** Runs one request's work: 200 with the batch answer (400 when nothing was accepted), or the HttpError it threw. */
export async function answer(reply: FastifyReply, work: () => Promise<BatchResponse>): Promise<FastifyReply> {
  try {
    const res = await work();
    return reply.code(res.accepted === 0 ? 400 : 200).send(res.accepted === 0 ? { error: 'all_events_rejected', ...res } : res);
  } catch (err) {
    if (err instanceof HttpError) return refuse(reply, err);
    throw err;
  }
}

export function refuse(reply: FastifyReply, err: HttpError): FastifyReply {
  for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
  return reply.code(err.status).send({ error: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) });
}
