/** CPU accounting for the gateway bench (Linux /proc; undefined elsewhere). */
import { createConnection } from 'node:net';
import { platform } from 'node:os';
import { readdir, readFile } from 'node:fs/promises';

/**
 * /proc/<pid>/stat after the command name (undefined when the process is gone): fields[0] is field
 * 3 (state), fields[1] the parent pid, fields[11] and [12] utime and stime in clock ticks (USER_HZ = 100).
 */
async function statFields(pid: number | string): Promise<string[] | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
}

const cpuTicks = (fields: string[]) => Number(fields[11]) + Number(fields[12]);

/** CPU seconds (utime + stime) of one process. */
export async function processCpuSeconds(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined || platform() !== 'linux') return undefined;
  const fields = await statFields(pid);
  return fields && cpuTicks(fields) / 100;
}

/** Busy and stolen CPU seconds of the whole machine, all CPUs added (/proc/stat). */
export async function machineCpuSeconds(): Promise<{ busy: number; steal: number } | undefined> {
  if (platform() !== 'linux') return undefined;
  try {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
    const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const busy = ticks.slice(0, 7).reduce((sum, value) => sum + value, 0) - (ticks[3] ?? 0) - (ticks[4] ?? 0);
    return { busy: busy / 100, steal: (ticks[7] ?? 0) / 100 };
  } catch {
    return undefined;
  }
}

/** One INFO section of redis-server, over one raw RESP command (undefined when it does not answer). */
function redisInfo(port: number, section: string): Promise<string | undefined> {
  return new Promise((done) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let text = '';
    let expected: number | undefined;
    const finish = (value: string | undefined) => {
      socket.destroy();
      done(value);
    };
    socket.setTimeout(1000, () => finish(undefined));
    socket.once('error', () => finish(undefined));
    socket.once('connect', () => socket.write(`INFO ${section}\r\n`));
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      // A bulk string: $<length>\r\n<payload>\r\n
      const header = /^\$(\d+)\r\n/.exec(text);
      if (header) expected ??= header[0].length + Number(header[1]);
      if (expected !== undefined && text.length >= expected) finish(text.slice(header![0].length, expected));
    });
  });
}

/** redis-server's own CPU seconds (INFO cpu: used_cpu_user + used_cpu_sys). */
export async function redisCpuSeconds(port: number): Promise<number | undefined> {
  const text = await redisInfo(port, 'cpu');
  const user = text && /used_cpu_user:([\d.]+)/.exec(text)?.[1];
  const sys = text && /used_cpu_sys:([\d.]+)/.exec(text)?.[1];
  return user && sys ? Number(user) + Number(sys) : undefined;
}

/** Calls per command so far (INFO commandstats), e.g. { evalsha: 1200, exists: 3 }. */
export async function redisCommandCalls(port: number): Promise<Record<string, number> | undefined> {
  const text = await redisInfo(port, 'commandstats');
  if (text === undefined) return undefined;
  const calls: Record<string, number> = {};
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[match[1]!] = Number(match[2]);
  return calls;
}

/**
 * CPU seconds of a server and its live child processes (PostgreSQL: the postmaster and the
 * backends it forks per connection). Exited children are left out: their time reaches the parent
 * when it reaps them, which may fall in a later round (a closed pool's backends after its round).
 */
export async function processTreeCpuSeconds(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined || platform() !== 'linux') return undefined;
  const root = await statFields(pid);
  if (root === undefined) return undefined;
  let ticks = cpuTicks(root);
  for (const entry of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = await statFields(entry);
    if (fields !== undefined && Number(fields[1]) === pid) ticks += cpuTicks(fields);
  }
  return ticks / 100;
}
