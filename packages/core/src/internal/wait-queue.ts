/** What the queue orders: higher priority first, then arrival order. */
export interface Queued {
  readonly priority: number;
}

/**
 * Waiters in admission order: priority levels (highest first), FIFO within a level.
 * Removal by identity is O(level length), which only aborts and backfills pay.
 */
export class WaitQueue<T extends Queued> {
  private levels: Array<{ readonly priority: number; readonly items: T[] }> = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(item: T): void {
    let index = 0;
    while (index < this.levels.length && this.levels[index]!.priority > item.priority) index++;
    const level = this.levels[index];
    if (level !== undefined && level.priority === item.priority) level.items.push(item);
    else this.levels.splice(index, 0, { priority: item.priority, items: [item] });
    this.count++;
  }

  /** The first `n` items in admission order. */
  peek(n: number): T[] {
    const out: T[] = [];
    for (const level of this.levels) {
      for (const item of level.items) {
        if (out.length === n) return out;
        out.push(item);
      }
    }
    return out;
  }

  remove(item: T): boolean {
    for (let l = 0; l < this.levels.length; l++) {
      const level = this.levels[l]!;
      if (level.priority !== item.priority) continue;
      const index = level.items.indexOf(item);
      if (index === -1) return false;
      if (index === 0) level.items.shift();
      else level.items.splice(index, 1);
      if (level.items.length === 0) this.levels.splice(l, 1);
      this.count--;
      return true;
    }
    return false;
  }

  /** Removes and returns everything. */
  drain(): T[] {
    const all = this.levels.flatMap((level) => level.items);
    this.levels = [];
    this.count = 0;
    return all;
  }
}
