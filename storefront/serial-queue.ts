// One writer for everything that changes stock or orders. chDB runs one query at a time and has no
// transactions, so "check stock, then reserve" must never interleave between two requests: each job
// here runs alone, start to finish, in arrival order. A failed job does not stop the ones behind it.
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  run<T>(job: () => Promise<T>): Promise<T> {
    this.waiting++;
    const result = this.tail.then(job).finally(() => {
      this.waiting--;
    });
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Jobs queued or running. */
  get pending(): number {
    return this.waiting;
  }

  /** Resolves when every job queued so far has finished. */
  idle(): Promise<void> {
    return this.tail.then(() => undefined);
  }
}
