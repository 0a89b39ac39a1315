// The receiver Hookflow delivers to: counts deliveries per bench pass and the delay between the
// time the sender stamped into the webhook (`sentAt`, ms since the epoch) and its arrival here.
// Its own process, so autocannon's load does not skew the arrival times. `GET /stats?pass=`
// answers { received, unique, p50Ms, p99Ms, maxMs }.
import http from 'node:http';

/** pass -> { received, ids: Set, delays: number[] } */
const passes = new Map();

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url.startsWith('/stats')) {
    const pass = new URL(req.url, 'http://x').searchParams.get('pass');
    const s = passes.get(pass);
    const sorted = s ? Float64Array.from(s.delays).sort() : [];
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        received: s?.received ?? 0,
        unique: s?.ids.size ?? 0,
        p50Ms: percentile(sorted, 50),
        p99Ms: percentile(sorted, 99),
        maxMs: sorted.length ? sorted[sorted.length - 1] : null,
      }),
    );
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const now = Date.now();
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      let s = passes.get(body.pass);
      if (!s) passes.set(body.pass, (s = { received: 0, ids: new Set(), delays: [] }));
      s.received++;
      if (!s.ids.has(body.id)) {
        s.ids.add(body.id);
        s.delays.push(now - Number(body.sentAt));
      }
    } catch {
      // A malformed delivery is not ours to judge here; it simply does not count.
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
process.on('SIGTERM', () => process.exit(0));
