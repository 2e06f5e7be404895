import type { LifecycleState } from './records.js';

/**
 * The life cycle of a release (docs/DEVICE-MANAGEMENT.md, "Applications: life cycle"):
 *
 *   CREATED → IN-REVIEW → APPROVED → PUBLISHED → DEPRECATED → RETIRED
 *                 ↓                        ↑          │
 *              REJECTED → CREATED          └──────────┘ (a deprecated release may be published again)
 *
 * RETIRED is final. Review decisions (APPROVED, REJECTED) need the review scope; the others the
 * manage scope. Any other move is refused (409) and changes nothing.
 */
export const nextStates: Readonly<Record<LifecycleState, readonly LifecycleState[]>> = Object.freeze({
  CREATED: ['IN-REVIEW'],
  'IN-REVIEW': ['APPROVED', 'REJECTED'],
  REJECTED: ['CREATED'],
  APPROVED: ['PUBLISHED'],
  PUBLISHED: ['DEPRECATED'],
  DEPRECATED: ['PUBLISHED', 'RETIRED'],
  RETIRED: [],
});

export const reviewStates: readonly LifecycleState[] = ['APPROVED', 'REJECTED'];

export function canMove(from: LifecycleState, to: LifecycleState): boolean {
  return nextStates[from].includes(to);
}
