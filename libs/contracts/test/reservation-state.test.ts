import { describe, expect, it } from 'vitest';
import {
  ProtoReservationState,
  RESERVATION_STATES,
  fromProtoReservationState,
  toProtoReservationState,
} from '../src/index.js';

describe('ReservationState on the wire', () => {
  it('maps every state to its own enum value and back', () => {
    const onTheWire = RESERVATION_STATES.map(toProtoReservationState);

    expect(new Set(onTheWire).size).toBe(RESERVATION_STATES.length);
    expect(onTheWire.map(fromProtoReservationState)).toEqual(RESERVATION_STATES);
  });

  it('has no state for an unspecified or unknown value', () => {
    expect(fromProtoReservationState(ProtoReservationState.RESERVATION_STATE_UNSPECIFIED)).toBe(
      undefined,
    );
    expect(fromProtoReservationState(ProtoReservationState.UNRECOGNIZED)).toBe(undefined);
    expect(fromProtoReservationState(undefined)).toBe(undefined);
  });
});
