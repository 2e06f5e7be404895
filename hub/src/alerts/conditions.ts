import type { Condition } from './records.js';

/** Whether a value meets a condition. Ordering compares numbers only; a string or boolean never is "greater". */
export function holds(c: Condition, v: unknown): boolean {
  switch (c.op) {
    case 'eq':
      return v === c.value;
    case 'ne':
      return v !== c.value;
    default: {
      if (typeof v !== 'number' || typeof c.value !== 'number' || !Number.isFinite(v)) return false;
      if (c.op === 'gt') return v > c.value;
      if (c.op === 'gte') return v >= c.value;
      if (c.op === 'lt') return v < c.value;
      return v <= c.value;
    }
  }
}
