import { createHash } from 'node:crypto';
import t from 'tap';
import { buildRequest } from '../../src/health/http-check.js';
import { ResponseReader } from '../../src/health/response.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

t.test('ResponseReader: a table of byte streams (split at every position)', async (t) => {
  const cases: { desc: string; input: string; max?: number; want: { state: string; status?: number; digest?: string; reason?: string } }[] = [
    { desc: 'Content-Length cuts the body', input: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA', want: { state: 'done', status: 200, digest: md5('hello') } },
    { desc: 'no length: until EOF', input: 'HTTP/1.0 404 Not Found\r\nServer: x\r\n\r\nbody', want: { state: 'eof', status: 404, digest: md5('body') } },
    { desc: 'bare LF header end', input: 'HTTP/1.0 200 OK\nA: b\n\nxyz', want: { state: 'eof', status: 200, digest: md5('xyz') } },
    { desc: 'chunk framing is digested raw, as keepalived', input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n', want: { state: 'eof', status: 200, digest: md5('3\r\nabc\r\n0\r\n\r\n') } },
    { desc: 'case-insensitive content-length', input: 'HTTP/1.1 200 OK\r\ncontent-length:2\r\n\r\nokNO', want: { state: 'done', status: 200, digest: md5('ok') } },
    { desc: 'Content-Length: 0', input: 'HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n', want: { state: 'done', status: 204, digest: md5('') } },
    { desc: 'garbage', input: 'SSH-2.0-OpenSSH\r\n', want: { state: 'error', reason: 'bad-response' } },
    { desc: 'bad status line', input: 'HTTP/1.1 2000 OK\r\n\r\n', want: { state: 'error', reason: 'bad-response' } },
    { desc: 'body over the limit', input: 'HTTP/1.0 200 OK\r\n\r\n0123456789', max: 9, want: { state: 'error', reason: 'body-too-large' } },
    { desc: 'body at the limit', input: 'HTTP/1.0 200 OK\r\n\r\n0123456789', max: 10, want: { state: 'eof', status: 200, digest: md5('0123456789') } },
    { desc: 'Content-Length within the limit though more is sent', input: 'HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n0123456789', max: 3, want: { state: 'done', status: 200, digest: md5('012') } },
  ];
  for (const c of cases) {
    const bytes = Buffer.from(c.input, 'latin1');
    for (let cut = 0; cut <= bytes.length; cut++) {
      const r = new ResponseReader(c.max ?? 1 << 20);
      let state = 'eof';
      let reason: string | undefined;
      for (const part of [bytes.subarray(0, cut), bytes.subarray(cut)]) {
        if (part.length === 0) continue;
        const st = r.push(part);
        if (st.kind !== 'more') {
          state = st.kind;
          if (st.kind === 'error') reason = st.reason;
          break;
        }
      }
      const got = state === 'error' ? { state, reason } : { state, status: r.status, digest: r.digest() };
      if (JSON.stringify(got) !== JSON.stringify(c.want)) {
        t.same(got, c.want, `${c.desc} (split at ${cut})`);
        break;
      }
    }
    t.pass(c.desc);
  }
});

t.test('header larger than the bound is refused', async (t) => {
  const r = new ResponseReader(1 << 20);
  t.equal(r.push(Buffer.from('HTTP/1.0 200 OK\r\n')).kind, 'more');
  let st = r.push(Buffer.from('X: y\r\n'));
  for (let i = 0; i < 5000 && st.kind === 'more'; i++) st = r.push(Buffer.from('X: y\r\n'));
  t.match(st, { kind: 'error', reason: 'bad-response', detail: /header exceeds/ });
});

t.test('buildRequest: IPv6 literal Host in brackets', async (t) => {
  t.equal(buildRequest({ host: '::1', port: 8080, path: '/' }), 'GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: [::1]:8080\r\n\r\n');
});
