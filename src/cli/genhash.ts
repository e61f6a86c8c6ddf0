import net from 'node:net';
import { parseArgs } from 'node:util';
import { httpGet } from '../health/http-check.js';
import { UsageError, type Io } from './io.js';

/** Help of `vigil genhash`. */
export const genhashHelp = `Usage: vigil genhash -s SERVER -p PORT [-u URL] [-S] [-V VIRTUALHOST] [options]

Fetches URL from SERVER:PORT the way the HTTP_GET/SSL_GET checkers do and prints the MD5 digest of
the body (the bytes after the header, cut at Content-Length), for a url's 'digest' keyword, as
keepalived's genhash does.

Options:
  -s, --server ADDR        IP address of the server (required)
  -p, --port PORT          TCP port (required)
  -u, --url PATH           path to GET (default /)
  -S, --use-ssl            use TLS (SSL_GET); the certificate is not verified, as keepalived
  -I, --use-sni            send the virtualhost as TLS SNI (enable_sni)
  -V, --virtualhost HOST   Host header (default SERVER:PORT)
  -P, --protocol VER       HTTP version sent: 1.0 (default), 1.0C or 1.1
  -t, --timeout SECONDS    hard deadline for the whole exchange (default 5)
      --max-body BYTES     stop with an error past this many body bytes (default 16777216)
  -v, --verbose            also print the status, the response header and the body size

Exit status: 0 digest printed, 1 the fetch failed (reason on stderr), 2 usage error.
`;

/** `vigil genhash`: resolves to the exit code. */
export async function genhashCommand(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      server: { type: 'string', short: 's' },
      port: { type: 'string', short: 'p' },
      url: { type: 'string', short: 'u', default: '/' },
      'use-ssl': { type: 'boolean', short: 'S' },
      'use-sni': { type: 'boolean', short: 'I' },
      virtualhost: { type: 'string', short: 'V' },
      protocol: { type: 'string', short: 'P', default: '1.0' },
      timeout: { type: 'string', short: 't', default: '5' },
      'max-body': { type: 'string', default: String(16 * 1024 * 1024) },
      verbose: { type: 'boolean', short: 'v' },
    },
  });
  const server = values.server;
  if (server === undefined || net.isIP(server) === 0) throw new UsageError(`genhash: -s/--server needs an IP address${server !== undefined ? `, got '${server}'` : ''}`);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`genhash: -p/--port needs a port 1-65535${values.port !== undefined ? `, got '${values.port}'` : ''}`);
  const proto = values.protocol;
  if (proto !== '1.0' && proto !== '1.0C' && proto !== '1.1') throw new UsageError(`genhash: -P/--protocol expects 1.0, 1.0C or 1.1, got '${proto}'`);
  const timeoutS = Number(values.timeout);
  if (!(timeoutS > 0)) throw new UsageError(`genhash: -t/--timeout needs a positive number of seconds, got '${values.timeout}'`);
  const maxBody = Number(values['max-body']);
  if (!Number.isInteger(maxBody) || maxBody < 0) throw new UsageError(`genhash: --max-body needs a byte count, got '${values['max-body']}'`);
  const vhost = values.virtualhost;
  const r = await httpGet({
    host: server,
    port,
    path: values.url,
    httpProtocol: proto,
    deadlineMs: timeoutS * 1000,
    maxBodyBytes: maxBody,
    keepHeader: values.verbose === true,
    ...(vhost !== undefined ? { virtualhost: vhost } : {}),
    ...(values['use-ssl'] ? { tls: { verify: false, ...(values['use-sni'] && vhost !== undefined ? { servername: vhost } : {}) } } : {}),
  });
  if (!r.ok || !r.http) {
    io.err(`genhash: ${server}:${port}${values.url}: ${r.reason}: ${r.detail}\n`);
    return 1;
  }
  if (values.verbose) {
    io.out(`${r.http.header ?? ''}\n`);
    io.out(`status ${r.http.status}, ${r.http.bodyBytes} body bytes, ${r.latencyMs.toFixed(1)} ms\n`);
    io.out(`MD5SUM = ${r.http.digest}\n`);
  } else io.out(`${r.http.digest}\n`);
  return 0;
}
