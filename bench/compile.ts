/*
 * Config compile benchmark: a generated keepalived.conf the size of the largest keepalived
 * deployment reported publicly (2,000 virtual servers, 37,000 real servers with HTTP_GET
 * checks), checked by `vigil check-config` and by `keepalived -t` in the same run, each as a fresh
 * process. Prints wall time and peak RSS (min / median of N runs) and the ratios.
 *
 *   npm run bench:compile            (VIGIL_BENCH_RUNS=5 VIGIL_BENCH_VS=2000 VIGIL_BENCH_RS=37000)
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.VIGIL_BENCH_RUNS ?? 5);
const VS = Number(process.env.VIGIL_BENCH_VS ?? 2000);
const RS = Number(process.env.VIGIL_BENCH_RS ?? 37000);

/** Writes the generated configuration; real servers are spread as evenly as possible. */
function generate(file: string): { lines: number; bytes: number } {
  const out: string[] = [
    'global_defs {\n  router_id bench\n}\n',
    'vrrp_instance VI_1 {\n  state BACKUP\n  interface lo\n  virtual_router_id 51\n  priority 100\n  advert_int 1\n  virtual_ipaddress {\n    10.255.0.1/32\n  }\n}\n',
  ];
  let rsLeft = RS;
  for (let v = 0; v < VS; v++) {
    const n = Math.round(rsLeft / (VS - v));
    rsLeft -= n;
    const vip = `10.${(v >> 8) & 255}.${v & 255}.1`;
    out.push(`virtual_server ${vip} 80 {\n  delay_loop 5\n  lb_algo wrr\n  lb_kind TUN\n  protocol TCP\n`);
    for (let r = 0; r < n; r++) {
      const id = v * 32 + r;
      out.push(
        `  real_server 172.${16 + ((id >> 16) & 15)}.${(id >> 8) & 255}.${id & 255} 80 {\n    weight 10\n    HTTP_GET {\n      url {\n        path /healthz\n        status_code 200\n      }\n      connect_timeout 2\n      retry 2\n      delay_before_retry 1\n    }\n  }\n`,
      );
    }
    out.push('}\n');
  }
  const text = out.join('');
  fs.writeFileSync(file, text);
  return { lines: text.split('\n').length, bytes: text.length };
}

/** Runs a command, sampling /proc/PID/status for the peak RSS (VmHWM) until it exits. */
function measure(cmd: string, args: string[]): Promise<{ ms: number; rssMb: number; code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let peakKb = 0;
    const sample = () => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
      } catch {
        /* exited */
      }
    };
    const timer = setInterval(sample, 5);
    child.on('exit', (code) => {
      clearInterval(timer);
      resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, rssMb: peakKb / 1024, code, stderr });
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (xs: number[], d = 0) => `${Math.min(...xs).toFixed(d)} / ${median(xs).toFixed(d)}`;

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-'));
  try {
    const file = path.join(dir, 'keepalived.conf');
    const g = generate(file);
    const keepalived = spawnSync('sh', ['-c', 'command -v keepalived'], { encoding: 'utf8' }).stdout.trim();
    const rows: { name: string; ms: number[]; rss: number[] }[] = [];
    const vigil = { name: 'vigil check-config', ms: [] as number[], rss: [] as number[] };
    const ka = { name: 'keepalived -t', ms: [] as number[], rss: [] as number[] };
    for (let i = 0; i < RUNS; i++) {
      const v = await measure(process.execPath, [path.join(root, 'bin/vigil.js'), 'check-config', '-f', file, '--no-host-checks', '-q']);
      if (v.code !== 0) throw new Error(`vigil check-config failed (${v.code}): ${v.stderr.slice(0, 2000)}`);
      vigil.ms.push(v.ms);
      vigil.rss.push(v.rssMb);
      if (keepalived) {
        const k = await measure(keepalived, ['-t', '-f', file, '-n', '-l', '-D', '-p', path.join(dir, 'k.pid'), '-r', path.join(dir, 'v.pid'), '-c', path.join(dir, 'c.pid')]);
        ka.ms.push(k.ms);
        ka.rss.push(k.rssMb);
      }
    }
    rows.push(vigil);
    if (keepalived) rows.push(ka);
    console.log(`# Config compile benchmark — ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, node ${process.version}`);
    console.log(`# ${VS} virtual servers, ${RS} real servers (HTTP_GET each): ${g.lines} lines, ${(g.bytes / 1048576).toFixed(1)} MiB; ${RUNS} runs each, min / median`);
    console.log('');
    console.log('| program | wall time (ms) | peak RSS (MiB) |');
    console.log('|---|---|---|');
    for (const r of rows) console.log(`| ${r.name} | ${fmt(r.ms)} | ${fmt(r.rss, 1)} |`);
    if (keepalived) {
      console.log('');
      console.log(`ratio vigil / keepalived (median): time ${(median(vigil.ms) / median(ka.ms)).toFixed(2)}×, peak RSS ${(median(vigil.rss) / median(ka.rss)).toFixed(2)}×`);
    } else console.log('\nkeepalived is not installed: no side-by-side figures (apt-get install keepalived).');
    console.log('Rerun: npm run bench:compile');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
