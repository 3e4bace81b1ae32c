/**
 * A multiset of numbers that answers "the k-th smallest" quickly while values come and go: sorted blocks of
 * bounded size (insert and delete touch one small block; rank queries skip whole blocks by their sizes). Medians
 * and percentiles of a sliding window then cost O(√n) per sample instead of a sort of the whole window.
 */
const BLOCK = 256;

export class OrderStatistics {
  private blocks: number[][] = [];
  private _size = 0;

  get size(): number {
    return this._size;
  }

  clear(): void {
    this.blocks = [];
    this._size = 0;
  }

  /** Index of the first block whose last value is >= v (the block v belongs in). */
  private blockFor(v: number): number {
    let lo = 0;
    let hi = this.blocks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const block = this.blocks[mid];
      if (block[block.length - 1] < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  insert(v: number): void {
    this._size++;
    if (this.blocks.length === 0) {
      this.blocks.push([v]);
      return;
    }
    const b = this.blockFor(v);
    const block = this.blocks[b];
    block.splice(lowerBound(block, v), 0, v);
    if (block.length > 2 * BLOCK) this.blocks.splice(b, 1, block.slice(0, BLOCK), block.slice(BLOCK));
  }

  /** Removes one occurrence of v; returns false when v is not there. */
  delete(v: number): boolean {
    if (this.blocks.length === 0) return false;
    const b = this.blockFor(v);
    const block = this.blocks[b];
    const i = lowerBound(block, v);
    if (i >= block.length || block[i] !== v) return false;
    block.splice(i, 1);
    this._size--;
    if (block.length === 0) this.blocks.splice(b, 1);
    return true;
  }

  /** The k-th smallest value, 0-based. */
  select(k: number): number {
    if (k < 0 || k >= this._size) throw new RangeError(`rank ${k} outside 0..${this._size - 1}`);
    for (const block of this.blocks) {
      if (k < block.length) return block[k];
      k -= block.length;
    }
    throw new RangeError('unreachable');
  }

  /**
   * The q-quantile (0..1) by linear interpolation between closest ranks (the method numpy and most spreadsheets
   * use by default); NaN when empty.
   */
  quantile(q: number): number {
    if (this._size === 0) return NaN;
    const h = (this._size - 1) * q;
    const lo = Math.floor(h);
    const a = this.select(lo);
    if (h === lo) return a;
    return a + (h - lo) * (this.select(lo + 1) - a);
  }
}

/** First index in a sorted array whose value is >= v. */
function lowerBound(a: number[], v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
