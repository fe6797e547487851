/**
 * Group commit: finishes requested in the same event-loop turn, or while a flush is running,
 * are written by one backend write transaction with one durable flush. Each still gets its own
 * tid, in request order.
 */

/** Writes a batch; returns, per item in order, its result or the error that failed it. */
export type BatchWriter<T, R> = (batch: readonly T[]) => Promise<ReadonlyArray<R | Error>>;

interface Waiting<T, R> {
  readonly item: T;
  readonly resolve: (result: R) => void;
  readonly reject: (error: Error) => void;
}

/** A queue that batches requests into as few writes as possible. */
export class GroupCommit<T, R> {
  #queue: Array<Waiting<T, R>> = [];
  #scheduled = false;
  #running: Promise<void> | null = null;
  /** Size of the last batch written: more than one means committers run concurrently. */
  #lastBatch = 0;

  constructor(private readonly writeBatch: BatchWriter<T, R>) {}

  /**
   * Queues `item` for the next batch; resolves with its own result once its batch is written.
   * @param alone true when no other request is pending (the caller knows): unless the last batch
   *   had several requests (their committers are likely to come back within this turn), the
   *   batch is then written at once instead of after the event-loop turn
   */
  submit(item: T, alone = false): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (alone && this.#lastBatch <= 1 && !this.#scheduled && this.#running === null) this.#start();
      else this.#schedule();
    });
  }

  /** Resolves once every submitted item has been written (or failed). */
  async drain(): Promise<void> {
    while (this.#running !== null || this.#queue.length > 0 || this.#scheduled) {
      if (this.#running !== null) await this.#running;
      else await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  #schedule(): void {
    if (this.#scheduled || this.#running !== null) return;
    this.#scheduled = true;
    // setImmediate, not a microtask: every finish requested during this turn joins the batch.
    setImmediate(() => {
      this.#scheduled = false;
      this.#start();
    });
  }

  #start(): void {
    this.#running = this.#run().finally(() => {
      this.#running = null;
      if (this.#queue.length > 0) this.#schedule();
    });
  }

  async #run(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      this.#lastBatch = batch.length;
      let results: ReadonlyArray<R | Error>;
      try {
        results = await this.writeBatch(batch.map((w) => w.item));
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        results = batch.map(() => error);
      }
      batch.forEach((w, i) => {
        const result = results[i];
        if (result instanceof Error) w.reject(result);
        else w.resolve(result as R);
      });
    }
  }
}
