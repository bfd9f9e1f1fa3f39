import { describe, expect, it } from 'vitest';
import {
  parseAddress,
  parseInetTable,
  parseUnixTable,
  splitHostPort,
  unmapIpv4,
} from '../src/index.js';

// Rows as a little-endian kernel prints them (trimmed to the columns the parser reads).
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:24F8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0000000000000000 100 0 0 10 0
   1: 0100007F:24F8 0100007F:D431 01 00000000:00000000 00:00000000 00000000  1000        0 4243 1 0000000000000000 20 4 30 10 -1
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 51 1 0
   1: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000100007F:C350 01 00000000:00000000 00:00000000 00000000  1000        0 52 1 0
   2: 000080FE000000000000000001000000:0050 00000000000000000000000001000000:A000 06 00000000:00000000 00:00000000 00000000  1000        0 0 1 0
`;
const UDP = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  1: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000   100        0 77 2 0 0
  2: 0B00000A:C001 0B00000A:0035 01 00000000:00000000 00:00000000 00000000   100        0 78 2 0 0
`;
const UNIX = `Num       RefCount Protocol Flags    Type St Inode Path
0000000000000000: 00000002 00000000 00010000 0001 01 901 /run/switchboard/inventory.sock
0000000000000000: 00000003 00000000 00000000 0001 03 902 /run/switchboard/inventory.sock
0000000000000000: 00000003 00000000 00000000 0001 03 903
0000000000000000: 00000002 00000000 00010000 0001 01 904 @abstract name
`;

describe('the /proc/net parsers', () => {
  it('reads IPv4 TCP listeners and connections, little-endian, with their states', () => {
    expect(parseInetTable(TCP, 'tcp')).toEqual([
      {
        inode: 4242,
        protocol: 'tcp',
        state: 'LISTEN',
        listening: true,
        local: '0.0.0.0:9464',
        localPort: 9464,
      },
      {
        inode: 4243,
        protocol: 'tcp',
        state: 'ESTABLISHED',
        listening: false,
        local: '127.0.0.1:9464',
        localPort: 9464,
        peer: '127.0.0.1:54321',
        peerPort: 54321,
      },
    ]);
  });

  it('reads IPv6, v4-mapped and compressed, and TIME_WAIT', () => {
    const rows = parseInetTable(TCP6, 'tcp');
    expect(rows.map((row) => [row.state, row.local, row.peer])).toEqual([
      ['LISTEN', '[::]:8080', undefined],
      ['ESTABLISHED', '[::ffff:127.0.0.1]:8080', '[::ffff:127.0.0.1]:50000'],
      ['TIME_WAIT', '[fe80::1]:80', '[::1]:40960'],
    ]);
  });

  it('tells a bound UDP socket (a listener) from a connected one', () => {
    expect(
      parseInetTable(UDP, 'udp').map((row) => [row.state, row.listening, row.local, row.peer]),
    ).toEqual([
      ['UNCONNECTED', true, '0.0.0.0:5353', undefined],
      ['ESTABLISHED', false, '10.0.0.11:49153', '10.0.0.11:53'],
    ]);
  });

  it('reads unix sockets: the listening flag, states, paths with spaces', () => {
    expect(
      parseUnixTable(UNIX).map((row) => [row.inode, row.state, row.listening, row.local]),
    ).toEqual([
      [901, 'LISTEN', true, '/run/switchboard/inventory.sock'],
      [902, 'CONNECTED', false, '/run/switchboard/inventory.sock'],
      [903, 'CONNECTED', false, ''],
      [904, 'LISTEN', true, '@abstract name'],
    ]);
  });

  it('parses addresses and unmaps v4-mapped ones', () => {
    expect(parseAddress('0100007F:0050')).toEqual({ ip: '127.0.0.1', port: 80 });
    expect(parseAddress('00000000000000000000000001000000:0016')).toEqual({ ip: '::1', port: 22 });
    expect(unmapIpv4('::ffff:172.18.0.4')).toBe('172.18.0.4');
    expect(unmapIpv4('::1')).toBe('::1');
    expect(splitHostPort('[::ffff:172.18.0.4]:5432')).toEqual({ ip: '172.18.0.4', port: 5432 });
    expect(splitHostPort('[::1]:80')).toEqual({ ip: '::1', port: 80 });
    expect(splitHostPort('10.0.0.1:4222')).toEqual({ ip: '10.0.0.1', port: 4222 });
  });
});
