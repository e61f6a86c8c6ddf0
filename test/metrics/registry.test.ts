// Every metric family the daemon registers lives in one registry: two modules registering the same
// name make prom-client throw and the whole /metrics endpoint fail to start (seen when failover and
// the real-server overrides both named a gauge vigil_override_active).
import t from 'tap';
import pino from 'pino';
import { Registry } from 'prom-client';
import { FailoverControl, failoverMetrics } from '../../src/daemon/failover.js';
import { overrideMetrics } from '../../src/overrides/metrics.js';
import { checkerMetrics, daemonMetrics, vrrpRegistry } from '../../src/metrics/server.js';

t.test('failover, overrides, checker, daemon and VRRP metrics register side by side', async (t) => {
  const reg: Registry = vrrpRegistry(() => []);
  const sup = { current: { vrrpInstances: [] }, override: async () => ({}) } as unknown as ConstructorParameters<typeof FailoverControl>[0]['sup'];
  const fc = new FailoverControl({ sup, log: pino({ level: 'silent' }) });
  t.doesNotThrow(() => {
    daemonMetrics(reg, { children: () => [], reloads: () => ({ ok: 0, failed: 0 }) } as unknown as Parameters<typeof daemonMetrics>[1]);
    checkerMetrics(reg, () => undefined);
    failoverMetrics(reg, fc);
    overrideMetrics(reg, () => undefined);
  }, 'no two modules register the same name');
  const text = await reg.metrics();
  t.match(text, /# TYPE vigil_failover_held gauge/);
  t.match(text, /# TYPE vigil_override_active gauge/);
  fc.close();
});
