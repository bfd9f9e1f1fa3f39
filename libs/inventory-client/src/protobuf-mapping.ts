import { ReservationState, type Stock } from '@switchboard/contracts';
import { AppError } from '@switchboard/errors';
import type { ReservationState as State, StockLevel } from './inventory-client.js';

/** Shared by every adapter: they differ in transport only, never in what the messages mean. */
export function toStockLevel(stock: Stock | undefined): StockLevel {
  const { sku = '', name = '', onHand = 0, reserved = 0, available = 0 } = stock ?? {};
  return { sku, name, onHand, reserved, available };
}

export function toState(state: ReservationState | undefined): State {
  switch (state) {
    case ReservationState.RESERVATION_STATE_RESERVED:
      return 'RESERVED';
    case ReservationState.RESERVATION_STATE_COMMITTED:
      return 'COMMITTED';
    case ReservationState.RESERVATION_STATE_RELEASED:
      return 'RELEASED';
    default:
      throw new AppError(
        'INTERNAL',
        `inventory answered Reserve with reservation state ${String(state)}`,
      );
  }
}
