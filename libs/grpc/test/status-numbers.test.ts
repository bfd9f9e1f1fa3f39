import { status } from '@grpc/grpc-js';
import { ERROR_CODES, GRPC_STATUS, grpcStatusOf } from '@switchboard/errors';
import { describe, expect, it } from 'vitest';

describe("the error table's gRPC numbers", () => {
  it("are grpc-js's status numbers, name for name", () => {
    for (const [name, number] of Object.entries(GRPC_STATUS)) {
      expect(status[name as keyof typeof status]).toBe(number);
    }
  });

  it('give every code a status grpc-js knows', () => {
    for (const code of ERROR_CODES) expect(status[grpcStatusOf(code)]).toBeDefined();
  });
});
