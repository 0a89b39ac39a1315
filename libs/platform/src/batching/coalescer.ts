/**
 * Coalesces concurrent calls into batches (docs/architecture.md, Batching and caching). `run` answers
 * one result per item in order (an `ItemFailure` rejects that item alone), or throws for all.
 */
export class ItemFailure {
  constructor(readonly error: unknown) {}
}

export class Coalescer<I, O> {
  private readonly waiting: { item: I; resolve: (out: O) => void; reject: (err: unknown) => void }[] = [];
  private inFlight = 0;
  private turnEnd: NodeJS.Immediate | undefined;

  constructor(
    private readonly run: (items: I[]) => Promise<(O | ItemFailure)[]>,
    private readonly opts: { maxBatch: number; maxInFlight: number; sameTurn?: boolean },
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (!this.opts.sameTurn) this.pump();
      else
        this.turnEnd ??= setImmediate(() => {
          this.turnEnd = undefined;
          this.pump();
        });
    });
  }

  private pump(): void {
    while (this.inFlight < this.opts.maxInFlight && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.opts.maxBatch);
      this.inFlight++;
      this.run(batch.map((b) => b.item))
        .then(
          (outs) =>
            batch.forEach((b, i) => {
              const out = outs[i];
              if (out instanceof ItemFailure) b.reject(out.error);
              else b.resolve(out);
            }),
          (err: unknown) => batch.forEach((b) => b.reject(err)),
        )
        .finally(() => {
          this.inFlight--;
          this.pump();
        });
    }
  }
}
