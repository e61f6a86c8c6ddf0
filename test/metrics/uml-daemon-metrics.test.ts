// `vigil run` with only virtual servers, in a real kernel (user-mode Linux, no topology: the
// guest's own namespace): its checker child checks two HTTP servers on the guest's loopback and
// programs the guest's IPVS. Checked: `vigil status` (text, --service, exit code) and the
// supervisor's /metrics carry the checker's report, before and after a real server goes down.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { REPO } from '../ipvs/fixtures/scenario.js';
import { describeUmlFailure, runUmlForTest } from '../lab/uml.js';
import { scenarioResult, scenarioText } from '../lab/uml-results.js';

const dir = mkdtempSync(join(tmpdir(), 'vigil-metrics-'));
process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
const script = join(dir, 'checker-metrics.sh');
const check = `HTTP_GET {
      url {
        path /
        status_code 200
      }
      connect_timeout 1
      retry 1
      delay_before_retry 0.2
      warmup 0
    }`;
writeFileSync(
  script,
  `#!/bin/bash
set -u
O=$SCENARIO_OUT
VIGIL="env -u NODE_OPTIONS node ${REPO}/bin/vigil.js"
now_ms() { echo $(($(date +%s%N) / 1000000)); }
wait_for() {
  local end=$(($(now_ms) + $1 * 1000)); shift
  while [ "$(now_ms)" -lt "$end" ]; do "$@" && return 0; sleep 0.2; done
  return 1
}
mkdir -p /tmp/www && cd /tmp/www && echo ok >index.html
python3 -m http.server --bind 127.0.0.1 8081 >/dev/null 2>&1 & echo $! >/tmp/a.pid
python3 -m http.server --bind 127.0.0.1 8082 >/dev/null 2>&1 & echo $! >/tmp/b.pid
cat >/tmp/k.conf <<'CONF'
virtual_server 192.0.2.100 80 {
  delay_loop 0.5
  lvs_sched wrr
  lvs_method NAT
  protocol TCP
  real_server 127.0.0.1 8081 {
    weight 3
    ${check}
  }
  real_server 127.0.0.1 8082 {
    weight 1
    inhibit_on_failure
    ${check}
  }
}
virtual_server 192.0.2.101 80 {
  delay_loop 0.5
  lvs_sched rr
  lvs_method NAT
  protocol TCP
  quorum 1
  sorry_server 198.51.100.9 80
  real_server 127.0.0.1 8081 {
    weight 1
    ${check}
  }
}
CONF
$VIGIL run -f /tmp/k.conf --socket /run/v.sock --metrics-listen 127.0.0.1:9650 --log-format json >"$O/vigil.log" 2>&1 &
echo $! >/tmp/v.pid
trap 'kill -TERM $(cat /tmp/v.pid) $(cat /tmp/a.pid) $(cat /tmp/b.pid) 2>/dev/null; sleep 2' EXIT
in_table() { [ "$(ipvsadm -Ln | grep -c '127.0.0.1:808')" = 3 ]; }
b_zero() { ipvsadm -Ln -t 192.0.2.100:80 | grep -q '127.0.0.1:8082 *Masq *0 '; }
wait_for 60 in_table || { echo "table never complete" >&2; ipvsadm -Ln >&2; exit 1; }
sleep 2
ipvsadm -Ln >"$O/ipvs-up.txt"
$VIGIL status --socket /run/v.sock >"$O/status-up.txt" 2>&1; echo $? >"$O/status-up.code"
curl -s http://127.0.0.1:9650/metrics >"$O/metrics-up.txt"
kill "$(cat /tmp/b.pid)"
wait_for 30 b_zero || { echo "b never inhibited" >&2; ipvsadm -Ln >&2; exit 1; }
sleep 1
ipvsadm -Ln >"$O/ipvs-down.txt"
$VIGIL status --socket /run/v.sock >"$O/status-down.txt" 2>&1; echo $? >"$O/status-down.code"
$VIGIL status --socket /run/v.sock --service 192.0.2.101 >"$O/status-vs2.txt" 2>&1; echo $? >"$O/status-vs2.code"
curl -s http://127.0.0.1:9650/metrics >"$O/metrics-down.txt"
echo "scenario checker-metrics: done"
`,
  { mode: 0o755 },
);

const res = await runUmlForTest(t, { topology: null, scenarios: [{ name: 'checker-metrics', script }], memMb: 768, scenarioTimeoutS: 150, timeoutMs: 240_000 });
const s = scenarioResult(res, 'checker-metrics');
if (s.status !== 0) t.fail(`scenario failed: ${describeUmlFailure(res)} ${s.stderr}`);
const file = (f: string): string => scenarioText(s, f);
const value = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};
const vs = 'vs="192.0.2.100:80 TCP"';
const A = `${vs},rs="127.0.0.1:8081"`;
const B = `${vs},rs="127.0.0.1:8082"`;

t.test('all up', async (t) => {
  const st = file('status-up.txt');
  t.equal(file('status-up.code').trim(), '0', 'vigil status exits 0', { status: st });
  t.match(st, /192\.0\.2\.100:80 TCP: 2\/2 up/);
  t.match(st, /127\.0\.0\.1:8081 +UP +3\/3 +ok [\d.]+ms/, 'a: UP at 3 in the kernel');
  t.match(st, /IPVS: converged; 2 service\(s\) managed/);
  const m = file('metrics-up.txt');
  t.equal(value(m, `vigil_realserver_up{${A}}`), 1);
  t.equal(value(m, `vigil_realserver_up{${B}}`), 1);
  t.equal(value(m, `vigil_realserver_weight{${A},kind="installed"}`), 3);
  t.equal(value(m, 'vigil_ipvs_converged'), 1);
  t.ok((value(m, 'vigil_ipvs_writes_total') ?? 0) >= 5, 'the writes that built the table');
  t.equal(value(m, 'vigil_child_up{child="checker",state="running"}'), 1);
});

t.test('b down', async (t) => {
  const st = file('status-down.txt');
  t.equal(file('status-down.code').trim(), '1', 'vigil status exits 1 (degraded)', { status: st });
  t.match(st, /127\.0\.0\.1:8082 +DOWN +0\/1 inhibited +connect-refused/);
  t.equal(file('status-vs2.code').trim(), '0', '--service: only the healthy virtual server, exit 0', { status: file('status-vs2.txt') });
  t.notMatch(file('status-vs2.txt'), /^ {2}192\.0\.2\.100:80 TCP:/m);
  const m = file('metrics-down.txt');
  t.equal(value(m, `vigil_realserver_up{${B}}`), 0, 'b down in the metrics');
  t.equal(value(m, `vigil_realserver_weight{${B},kind="installed"}`), 0, 'b at weight 0 in the kernel');
  t.equal(value(m, `vigil_virtualserver_realservers{${vs},state="down"}`), 1);
  t.match(file('ipvs-down.txt'), /127\.0\.0\.1:8082 +Masq +0 /, 'the kernel agrees');
});
