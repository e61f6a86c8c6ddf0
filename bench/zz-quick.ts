import { runE2e } from '../test/lab/e2e/engine.js';
const impls = (process.env['IMPLS'] ?? 'vigil').split(',') as ('vigil' | 'keepalived')[];
const scen = (process.env['SCEN'] ?? 'steady rs').split(' ') as never[];
const { uml, runs } = await runE2e({ impls, scenarios: scen, keep: 'always', onStart: (w) => console.log('work', w) });
console.log('ok', uml.ok, 'total', uml.totalMs, 'kept', uml.keptDir);
for (const r of runs) { console.log(r.impl, r.status, r.errors); for (const s of r.scenarios) console.log(JSON.stringify({ ...s, all: undefined })); }
