import type { Worker } from "node:worker_threads";

/** What a worker posts back for request `id`: its result, or the message of the error it caught. */
export interface WorkerReply<Result> {
  readonly id: number;
  readonly result?: Result;
  readonly error?: string;
}

interface Pending<Result> {
  resolve(result: Result): void;
  reject(error: Error): void;
}

/**
 * Request/response over one worker thread: each request gets an id, its promise settles when the
 * worker replies with that id, and a worker that fails or exits rejects every request in flight.
 * The worker keeps the process alive only while requests are in flight.
 */
export class WorkerRpc<Request extends object, Result = void> {
  private readonly pending = new Map<number, Pending<Result>>();
  private nextId = 0;
  private failure: Error | undefined;

  /** `fail` turns a worker's error message (and the error, when thrown) into the error callers see. */
  constructor(
    readonly worker: Worker,
    private readonly fail: (message: string, cause?: unknown) => Error,
  ) {
    worker.on("message", (reply: WorkerReply<Result>) => this.settle(reply));
    worker.on("error", (e) => this.rejectAll(fail(e.message, e)));
    worker.on("exit", (code) => this.rejectAll(fail(`worker exited with code ${code}`)));
    worker.unref();
  }

  /** False once the worker has failed or exited: requests would never be answered. */
  get alive(): boolean {
    return this.failure === undefined;
  }

  request(message: Request): Promise<Result> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<Result>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage({ id, ...message });
    });
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }

  private settle(reply: WorkerReply<Result>): void {
    const p = this.pending.get(reply.id);
    if (p === undefined) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (reply.error !== undefined) p.reject(this.fail(reply.error));
    else p.resolve(reply.result as Result);
  }

  private rejectAll(error: Error): void {
    this.failure ??= error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }
}
