import { ReservationState as ProtoReservationState } from './gen/switchboard/inventory/v1/inventory.js';

/**
 * Where a reservation is in its life, as TypeScript code says it: inventory's domain and the
 * clients share this one definition. The wire carries the .proto's enum
 * (ProtoReservationState, RESERVATION_STATE_*); the two functions below are the one mapping.
 */
export const RESERVATION_STATES = ['RESERVED', 'COMMITTED', 'RELEASED'] as const;
export type ReservationState = (typeof RESERVATION_STATES)[number];

const TO_PROTO: Record<ReservationState, ProtoReservationState> = {
  RESERVED: ProtoReservationState.RESERVATION_STATE_RESERVED,
  COMMITTED: ProtoReservationState.RESERVATION_STATE_COMMITTED,
  RELEASED: ProtoReservationState.RESERVATION_STATE_RELEASED,
};

export function toProtoReservationState(state: ReservationState): ProtoReservationState {
  return TO_PROTO[state];
}

/** Undefined for a value no reservation has (UNSPECIFIED, or one this code does not know). */
export function fromProtoReservationState(
  state: ProtoReservationState | undefined,
): ReservationState | undefined {
  return RESERVATION_STATES.find((name) => TO_PROTO[name] === state);
}
