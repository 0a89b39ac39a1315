#!/usr/bin/env node
// Run search at scale (docs/operations.md, "Searching runs"): a throwaway database with N runs
// (default 1,000,000), each with its webhook's event (an order, 500-700 bytes of JSON) and three
// steps (a transform's output, an HTTP action's answer, a last step), then GET /api/runs's
// search as RunQueries.list runs it: times (median of 5) and the EXPLAIN ANALYZE of each.
// Needs `npm run build`. The database is dropped at the end unless --keep (then --reuse skips the load).
//
//   node scripts/bench/search.mjs [--runs 1000000] [--keep] [--reuse]
import { createRequire } from 'node:module';
import path from 'node:path';
import pg from 'pg';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const store = require(path.join(ROOT, 'dist/libs/store/src/index.js'));
const { RunSearch1777100000000 } = require(
  path.join(ROOT, 'dist/libs/store/src/migrations/1777100000000-run-search.js'),
);

const args = process.argv.slice(2);
const RUNS = Number(args[args.indexOf('--runs') + 1]) || 1_000_000;
const KEEP = args.includes('--keep');
const REUSE = args.includes('--reuse');
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const DB = 'hookflow_search_bench';
const url = new URL(ADMIN_URL);
url.pathname = `/${DB}`;
const BATCH = 50_000;
const FLOWS = ['orders', 'refunds', 'signups', 'invoices'];
const log = (...a) => console.error(...a);

async function admin(sql) {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

async function load(ds) {
  const q = (sql, v) => ds.query(sql, v);
  // The new migration's indexes are built after the load, as on an existing installation.
  await q(`DROP INDEX IF EXISTS events_body_search, step_runs_output_search, runs_changed`);
  for (const [i, slug] of FLOWS.entries()) {
    await q(
      `INSERT INTO flows (id, slug, current_version) VALUES (md5('f' || $1)::uuid, $2, 1);
       INSERT INTO flow_versions (id, flow_id, version, definition, checksum)
       VALUES (md5('v' || $1)::uuid, md5('f' || $1)::uuid, 1, '{}', 'x')`
        .replace(/\$1/g, String(i))
        .replace('$2', `'${slug}'`),
    );
  }
  const started = Date.now();
  for (let lo = 1; lo <= RUNS; lo += BATCH) {
    const hi = Math.min(lo + BATCH - 1, RUNS);
    // Run i: flow i % 4, created 2.6 s apart (a million over 30 days), 4% failed at its action.
    await q(
      `INSERT INTO events (id, flow_id, method, headers, query, body, content_type, received_at, status_code, accepted, run_id)
       SELECT md5('e' || i)::uuid, md5('f' || (i % 4))::uuid, 'POST',
              '{"content-type":"application/json","user-agent":"shop/1.0"}', '{}',
              json_build_object(
                'id', 'ord_' || i, 'orderNumber', 100000 + i,
                'email', 'customer' || (i % 50000) || '@example.com', 'currency', 'EUR',
                'total', ((i * 7919) % 99991) / 100.0, 'status', 'paid',
                'items', json_build_array(
                  json_build_object('sku', 'SKU-' || (i % 500), 'name', 'Product ' || (i % 500) || ' in blue',
                                    'qty', 1 + i % 3, 'price', ((i * 31) % 9000) / 100.0),
                  json_build_object('sku', 'SKU-' || ((i * 7) % 500), 'name', 'Product ' || ((i * 7) % 500) || ' in red',
                                    'qty', 1 + i % 2, 'price', ((i * 17) % 9000) / 100.0)),
                'shipping', json_build_object('name', 'Customer ' || (i % 50000), 'street', (i % 200) || ' Main Street',
                                              'city', 'City ' || (i % 300), 'zip', lpad((i % 99999)::text, 5, '0'),
                                              'country', (ARRAY['DE','FR','NL','US','GB'])[1 + i % 5]),
                'note', md5(i::text) || md5((i + 1)::text),
                'createdAt', to_char(now() - (${RUNS} - i) * interval '2.6 s', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
              'application/json', now() - (${RUNS} - i) * interval '2.6 s', 202, true, md5('r' || i)::uuid
         FROM generate_series($1::bigint, $2::bigint) AS i`,
      [lo, hi],
    );
    await q(
      `INSERT INTO runs (id, flow_id, flow_version_id, event_id, status, created_at, started_at, finished_at, changed_at)
       SELECT md5('r' || i)::uuid, md5('f' || (i % 4))::uuid, md5('v' || (i % 4))::uuid, md5('e' || i)::uuid,
              CASE WHEN i % 25 = 0 THEN 'failed' ELSE 'succeeded' END,
              t, t + interval '5 ms', t + interval '80 ms', t + interval '80 ms'
         FROM generate_series($1::bigint, $2::bigint) AS i, LATERAL (SELECT now() - (${RUNS} - i) * interval '2.6 s' AS t) w`,
      [lo, hi],
    );
    await q(
      `INSERT INTO step_runs (run_id, step_id, position, status, attempts, output, error, started_at, finished_at)
       SELECT md5('r' || i)::uuid, s.id, s.pos,
              CASE WHEN s.pos = 0 THEN 'succeeded' WHEN i % 25 = 0 THEN (CASE WHEN s.pos = 1 THEN 'failed' ELSE 'skipped' END)
                   ELSE 'succeeded' END,
              CASE WHEN s.pos = 2 AND i % 25 = 0 THEN 0 ELSE 1 END,
              CASE WHEN s.pos = 0 THEN json_build_object('orderId', 'ord_' || i, 'amount', ((i * 7919) % 99991) / 100.0,
                                                         'customer', 'customer' || (i % 50000) || '@example.com', 'lines', 2)
                   WHEN i % 25 = 0 THEN NULL
                   WHEN s.pos = 1 THEN json_build_object('status', 200, 'headers', json_build_object('content-type', 'application/json'),
                                                         'body', json_build_object('messageId', 'msg_' || substr(md5('m' || i), 1, 16), 'ok', true))
                   ELSE json_build_object('archived', true, 'key', 'archive/' || i) END,
              CASE WHEN s.pos = 1 AND i % 25 = 0 THEN '{"code":"http_status","message":"HTTP 503"}'::jsonb END,
              t, t + interval '40 ms'
         FROM generate_series($1::bigint, $2::bigint) AS i,
              LATERAL (SELECT now() - (${RUNS} - i) * interval '2.6 s' AS t) w,
              (VALUES ('shape', 0), ('notify', 1), ('archive', 2)) AS s(id, pos)`,
      [lo, hi],
    );
    log(`loaded ${hi} runs (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
  await q(`VACUUM ANALYZE events`);
  await q(`VACUUM ANALYZE runs`);
  await q(`VACUUM ANALYZE step_runs`);
  const runner = ds.createQueryRunner();
  const t0 = Date.now();
  await new RunSearch1777100000000().up(runner);
  await runner.release();
  log(
    `migration 1777100000000 (CONCURRENTLY) on the loaded tables: ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  await q(`ANALYZE events`);
  await q(`ANALYZE step_runs`);
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main() {
  if (!REUSE) {
    await admin(`DROP DATABASE IF EXISTS ${DB}`);
    await admin(`CREATE DATABASE ${DB}`);
  }
  const ds = await store.openDatabase({ url: url.toString() });
  try {
    if (!REUSE) await load(ds);
    const sizes = await ds.query(
      `SELECT c.relname AS name, pg_size_pretty(pg_relation_size(c.oid)) AS size
         FROM pg_class c WHERE c.relname IN ('events', 'runs', 'step_runs', 'events_body_search',
              'step_runs_output_search', 'runs_changed', 'runs_created', 'runs_flow_created') ORDER BY 1`,
    );
    const counts = await ds.query(
      `SELECT (SELECT count(*) FROM runs) AS runs, (SELECT count(*) FROM step_runs) AS steps,
              (SELECT count(*) FROM events) AS events`,
    );
    console.log(JSON.stringify({ counts: counts[0], sizes }, null, 1));
    const flowId = (slug) => ds.query(`SELECT id FROM flows WHERE slug = $1`, [slug]).then((r) => r[0].id);
    const mid = Math.floor(RUNS / 2);
    const msg = (
      await ds.query(`SELECT 'msg_' || substr(md5('m' || $1::text), 1, 16) AS m`, [String(mid + 1)])
    )[0].m;
    const cases = [
      ['a body value (order id), one run', { q: `ord_${mid}` }],
      ['a body number (orderNumber)', { q: String(100000 + mid) }],
      ['a step output value (messageId)', { q: msg }],
      ['a miss', { q: 'no-such-value-anywhere' }],
      ['a value in 20 bodies and 20 outputs (customer email)', { q: 'customer4242@example.com' }],
      ['a value in 4,000 bodies (a SKU)', { q: 'SKU-42' }],
      ['the same, page 2', { q: 'SKU-42', page: 2 }],
      [
        'the same, flow orders + status failed',
        { q: 'SKU-42', flowId: await flowId('orders'), status: 'failed' },
      ],
      ['a common value (currency EUR, every run)', { q: 'EUR' }],
      ['a value in 200,000 bodies (country NL)', { q: 'NL' }],
      [
        'the same, flow orders + status failed (no match)',
        { q: 'NL', flowId: await flowId('orders'), status: 'failed' },
      ],
      ['no q, flow orders + status failed', { flowId: await flowId('orders'), status: 'failed' }],
      [
        'since/until one day, flow orders',
        {
          flowId: await flowId('orders'),
          since: new Date(Date.now() - 3 * 86400e3),
          until: new Date(Date.now() - 2 * 86400e3),
        },
      ],
    ];
    const queries = new store.RunQueries(ds);
    const report = [];
    for (const [name, c] of cases) {
      const filter = { limit: 50, ...c };
      if (c.page === 2) filter.cursor = (await queries.list({ ...filter, page: undefined })).nextCursor;
      const times = [];
      await queries.list(filter);
      let items = 0;
      for (let n = 0; n < 5; n++) {
        const t0 = process.hrtime.bigint();
        const page = await queries.list(filter);
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
        items = page.items.length;
      }
      const plan = filter.q === undefined ? undefined : await queries.searchPlan(filter.q);
      const { text, values } = store.runListQuery(filter, plan);
      const explained = await ds.query(`EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) ${text}`, values);
      const lines = explained.map((r) => r['QUERY PLAN']);
      report.push({
        name,
        items,
        plan: plan?.kind ?? 'no search',
        hits: plan?.ids?.length,
        medianMs: Number(median(times).toFixed(1)),
        execution: lines.at(-1),
      });
      log(`\n== ${name}: ${items} items, median ${median(times).toFixed(1)} ms\n${lines.join('\n')}`);
    }
    console.log(JSON.stringify(report, null, 1));
  } finally {
    await ds.destroy();
    if (!KEEP) await admin(`DROP DATABASE IF EXISTS ${DB}`);
  }
}

await main();
