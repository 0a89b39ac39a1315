// The bare Node forwarder of the peer table ("about 18,000/s" on the machine its targets
// were set on): a Node http server that parses the JSON body, applies the bench flow's transform in
// plain JavaScript, POSTs the result to the receiver over kept-alive connections and answers 202
// once the receiver has answered. It stores nothing and retries nothing. Measured in the same run
// as Hookflow, it tells how this machine compares with that one. Its own process; prints its port
// on stdout once listening. Usage: node forwarder.mjs <receiver port>
import http from 'node:http';

const receiverPort = Number(process.argv[2]);
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function forward(order, done) {
  const payload = JSON.stringify({
    pass: order.pass,
    id: order.id,
    sentAt: order.sentAt,
    email: order.customer?.email,
    total: (order.items ?? []).reduce((sum, item) => sum + item.price * item.qty, 0),
  });
  const req = http.request(
    {
      host: '127.0.0.1',
      port: receiverPort,
      path: '/orders',
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
    },
    (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode >= 200 && res.statusCode < 300));
    },
  );
  req.on('error', () => done(false));
  req.end(payload);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let order;
    try {
      order = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      res.writeHead(400).end();
      return;
    }
    forward(order, (ok) =>
      ok
        ? res.writeHead(202, { 'content-type': 'application/json' }).end('{"accepted":true}')
        : res.writeHead(502).end(),
    );
  });
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
process.on('SIGTERM', () => process.exit(0));
