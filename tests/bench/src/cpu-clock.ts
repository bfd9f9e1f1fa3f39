import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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
    return serverPids.reduce((sum, pid) => sum + processCpuMicros(pid), own.user + own.system);
  };
}

/**
 * CPU time (user + system, µs) another process has used so far, from /proc/<pid>/stat:
 * process.cpuUsage() sees only its own process.
 */
export function processCpuMicros(pid: number): number {
  // Fields 14 and 15 (utime, stime) of /proc/<pid>/stat; the name before them may contain
  // spaces, so count from the closing parenthesis.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / TICKS_PER_SECOND;
}

/**
 * CPU time (µs) every process of a container has used so far, from its cgroup: Postgres forks
 * a process per connection, and the time of one that has exited stays counted there.
 * cgroup v1 (cpuacct, ns) or v2 (cpu.stat, µs), with Docker's cgroupfs or systemd driver.
 */
export function containerCpuMicros(containerId: string): number {
  const v1 = `/sys/fs/cgroup/cpuacct/docker/${containerId}/cpuacct.usage`;
  if (existsSync(v1)) return Number(readFileSync(v1, 'utf8')) / 1000;
  for (const v2 of [
    `/sys/fs/cgroup/docker/${containerId}/cpu.stat`,
    `/sys/fs/cgroup/system.slice/docker-${containerId}.scope/cpu.stat`,
  ]) {
    if (!existsSync(v2)) continue;
    const usage = /^usage_usec (\d+)$/m.exec(readFileSync(v2, 'utf8'));
    if (usage) return Number(usage[1]);
  }
  throw new Error(`no cgroup CPU accounting found for container ${containerId}`);
}
