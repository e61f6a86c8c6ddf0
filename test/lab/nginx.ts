import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from './netns.js';
import type { Proc } from './proc.js';
import { waitFor } from './wait.js';

/** Options of an nginx that answers every request with a fixed body. */
export interface NginxOptions {
  /** `listen` arguments, e.g. `['192.168.77.11:80']`. */
  listen: readonly string[];
  /** Response body (a newline is appended). */
  body: string;
}

/** A minimal nginx.conf keeping every file (pid, logs, temp) inside `prefix`. */
export function nginxConf(prefix: string, opts: NginxOptions): string {
  const body = opts.body.replace(/["\\]/g, '');
  return [
    'worker_processes 1;',
    `pid ${prefix}/nginx.pid;`,
    `error_log ${prefix}/error.log info;`,
    'events { worker_connections 64; }',
    'http {',
    '  access_log off;',
    `  client_body_temp_path ${prefix}/body;`,
    `  proxy_temp_path ${prefix}/proxy;`,
    `  fastcgi_temp_path ${prefix}/fastcgi;`,
    `  uwsgi_temp_path ${prefix}/uwsgi;`,
    `  scgi_temp_path ${prefix}/scgi;`,
    '  server {',
    ...opts.listen.map((l) => `    listen ${l};`),
    `    location / { default_type text/plain; return 200 "${body}\\n"; }`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Starts nginx in the foreground in `node`'s namespace and waits until `probeUrl` answers there. */
export async function startNginx(lab: Lab, node: string, opts: NginxOptions & { probeUrl: string }): Promise<Proc> {
  const prefix = lab.folder(`nginx-${node}`);
  mkdirSync(join(prefix, 'logs'), { recursive: true });
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(conf, nginxConf(prefix, opts));
  // -e: error log before the config is read, so nothing is written to /var/log/nginx on the host
  const p = lab.spawn(node, ['nginx', '-p', prefix, '-c', conf, '-e', join(prefix, 'error.log'), '-g', 'daemon off;'], {
    name: `nginx-${node}`,
  });
  await waitFor(
    async () => {
      if (!p.running) throw new Error(`nginx exited: ${p.stderr().trim()}`);
      const r = await lab.exec(node, ['curl', '-sS', '--max-time', '1', opts.probeUrl], { timeoutMs: 2000 });
      return r.code === 0;
    },
    { desc: `nginx in ${node} answering ${opts.probeUrl}`, timeoutMs: 5000, intervalMs: 50 },
  );
  return p;
}
