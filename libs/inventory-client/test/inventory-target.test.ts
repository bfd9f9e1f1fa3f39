import { describe, expect, it } from 'vitest';
import { parseInventoryTarget } from '../src/index.js';

describe('parseInventoryTarget', () => {
  it('reads each transport from its target', () => {
    expect(parseInventoryTarget('dns:///inventory:50051')).toEqual({
      transport: 'grpc-tcp',
      target: 'dns:///inventory:50051',
    });
    expect(parseInventoryTarget('ipv4:10.0.0.1:50051,10.0.0.2:50051')).toMatchObject({
      transport: 'grpc-tcp',
    });
    expect(parseInventoryTarget('unix:///run/switchboard/inventory.sock')).toEqual({
      transport: 'grpc-uds',
      target: 'unix:///run/switchboard/inventory.sock',
      socketPath: '/run/switchboard/inventory.sock',
    });
    expect(parseInventoryTarget('nats:inventory.v1')).toEqual({
      transport: 'nats',
      target: 'nats:inventory.v1',
      subjectPrefix: 'inventory.v1',
      serviceName: 'inventory',
    });
  });

  it('names the problem of a socket path that is too long or relative', () => {
    const long = `/run/${'x'.repeat(103)}`;
    expect(parseInventoryTarget(`unix://${long}`)).toEqual({
      problem: `unix target: socket path ${long} is 108 bytes; Linux allows at most 107`,
    });
    expect(parseInventoryTarget('unix://inventory.sock')).toEqual({
      problem: 'unix target: socket path inventory.sock must be absolute',
    });
  });

  it('lists the accepted forms for anything else', () => {
    for (const raw of ['inventory:50051', 'nats:inventory', 'http://inventory', '']) {
      expect(parseInventoryTarget(raw)).toEqual({
        problem:
          'must look like dns:///host:port, ipv4:10.0.0.1:50051[,...], unix:///absolute/path.sock or nats:service.version',
      });
    }
  });
});
