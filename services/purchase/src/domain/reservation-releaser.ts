/**
 * Gives back, in the background, the stock that a failed purchase may hold at inventory.
 * The purchase answers its caller at once; the Release (idempotent by order id) follows.
 */
export interface ReservationReleaser {
  /** Schedules the Release of the order's reservation; never waits and never throws. */
  releaseSoon(orderId: string, reason: string): void;
}
