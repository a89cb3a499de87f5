/**
 * Runs the work it is given one piece at a time, in the order given: a call made while another
 * runs waits for it, and a failure does not stop the ones queued behind it. The schedulers and the
 * alert engine each keep one, so a timer's run and an API caller's run never overlap.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  /** Queues `work` behind everything queued before it; resolves or rejects with its outcome. */
  run<T>(work: () => Promise<T>): Promise<T> {
    const next = this.tail.catch(() => undefined).then(work);
    this.tail = next;
    return next;
  }

  /** Resolves once everything queued so far has settled. */
  async idle(): Promise<void> {
    await this.tail.catch(() => undefined);
  }
}
