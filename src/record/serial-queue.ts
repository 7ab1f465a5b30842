/**
 * Runs async jobs one after another, in the order they were queued: a track's files are written in
 * segment order, and a playlist is never renamed before the segment it lists. Tracks have their
 * own queue, so a slow rendition does not hold the others back.
 *
 * The bytes held by queued jobs are counted so the caller can bound memory when the disk is
 * slower than the stream.
 */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();
  private held = 0;
  private queued = 0;

  /** Bytes of queued jobs not yet finished. */
  get pendingBytes(): number {
    return this.held;
  }

  /** Jobs queued and not yet finished. */
  get length(): number {
    return this.queued;
  }

  /**
   * Queues `job` after every job queued before it. A job that rejects does not stop the queue:
   * `onError` hears about it and the next job runs.
   */
  push(job: () => Promise<void>, bytes: number, onError: (err: unknown) => void): void {
    this.held += bytes;
    this.queued++;
    this.tail = this.tail
      .then(job)
      .catch(onError)
      .finally(() => {
        this.held -= bytes;
        this.queued--;
      });
  }

  /** Resolves when every job queued so far has finished. */
  idle(): Promise<void> {
    return this.tail;
  }
}
