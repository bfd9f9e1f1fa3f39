import {
  fromProtoReservationState,
  type ProtoReservationState,
  type ReservationState,
  type Stock as ProtoStock,
} from '@switchboard/contracts';
import { AppError } from '@switchboard/errors';
import type { Stock } from './inventory-client.js';

/** Shared by every adapter: they differ in transport only, never in what the messages mean. */
export function toStock(stock: ProtoStock | undefined): Stock {
  const { sku = '', name = '', onHand = 0, reserved = 0, available = 0 } = stock ?? {};
  return { sku, name, onHand, reserved, available };
}

export function toState(state: ProtoReservationState | undefined): ReservationState {
  const known = fromProtoReservationState(state);
  if (known === undefined) {
    throw new AppError(
      'INTERNAL',
      `inventory answered Reserve with reservation state ${String(state)}`,
    );
  }
  return known;
}
