import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { CpuClock } from './measure.js';

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/**
 * CPU time used by this process (the callers) plus the given server processes, in µs. CPU
 * time per call moves much less than calls per second when other work shares the machine:
 * it counts what the code does, not how long it waited for a core.
 */
export function cpuClock(serverPids: number[]): CpuClock {
  return () => {
    const own = process.cpuUsage();
    let micros = own.user + own.system;
    for (const pid of serverPids) {
      // Fields 14 and 15 (utime, stime) of /proc/<pid>/stat; the name before them may
      // contain spaces, so count from the closing parenthesis.
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      micros += ((Number(fields[11]) + Number(fields[12])) * 1e6) / TICKS_PER_SECOND;
    }
    return micros;
  };
}
