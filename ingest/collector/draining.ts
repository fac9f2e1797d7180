// Whether this process is shutting down: set once by the shutdown (bin/shutdown.ts), read by the collector
// (503 draining) and by GET /health (readiness). One per runtime, handed to buildApp, which decorates the
// Fastify instance with it so every route plugin sees the same one.
export class Drain {
  private at: number | null = null;

  begin(now = Date.now()): void {
    this.at ??= now;
  }

  get draining(): boolean {
    return this.at !== null;
  }

  /** When the drain began (ms since epoch), or null. */
  get since(): number | null {
    return this.at;
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    cvmDrain: Drain;
  }
}
