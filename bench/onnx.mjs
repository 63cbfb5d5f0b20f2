// onnx.mjs: the ONNX Runtime side of bench/onnx.sh (onnxruntime-node from
// tests/node/node_modules).
//
//   node bench/onnx.mjs rows EXPORT_DIR OUT_DIR N SEED
//       OUT_DIR/real.f32: the first N rows of EXPORT_DIR/reference/features.npy
//       (a real test split); OUT_DIR/random.f32: N dense random rows, every
//       value uniform in [-1, 1) (xorshift64*, SEED), same width
//   node bench/onnx.mjs ort MODEL.onnx ROWS.f32 N F THREADS CALLS1 CALLS64 CS_PREFIX
//       session.run timed per call on 1 row (cycling through the N rows) and on
//       64 rows (cycling through the N/64 blocks), after a warm-up, with
//       intra-op THREADS; then the max abs difference of its outputs from
//       coldstart's (CS_PREFIX.b1.f32 / .b64.f32 from onnx_bench on the same
//       rows). One JSON line on stdout.
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';

const require = createRequire(new URL('../tests/node/package.json', import.meta.url));
const BATCH = 64, WARMUP = 200;

function readF32(path, count) {
  const buf = readFileSync(path);
  if (buf.length !== count * 4) throw new Error(`${path}: ${buf.length} bytes, expected ${count * 4}`);
  const out = new Float32Array(count);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

async function rows(exportDir, outDir, n, seed) {
  const { readNpy } = await import('../tests/node/npy.mjs');
  const feats = readNpy(`${exportDir}/reference/features.npy`);
  const [total, F] = feats.shape;
  if (total < n) throw new Error(`reference has ${total} rows, asked for ${n}`);
  writeFileSync(`${outDir}/real.f32`, feats.data.subarray(0, n * F));
  let s = BigInt(seed) | 1n;
  const mask = (1n << 64n) - 1n;
  const rnd = new Float32Array(n * F);
  for (let i = 0; i < rnd.length; i++) {
    s ^= s >> 12n; s ^= (s << 25n) & mask; s ^= s >> 27n;
    const u = Number(((s * 0x2545F4914F6CDD1Dn) & mask) >> 40n) / 2 ** 24;
    rnd[i] = 2 * u - 1;
  }
  writeFileSync(`${outDir}/random.f32`, rnd);
  console.log(JSON.stringify({ rows: n, n_features: F }));
}

const pct = (sorted, p) => sorted[Math.round((p / 100) * (sorted.length - 1))];

async function timed(sess, ort, X, n, F, batch, calls, out, dim) {
  const nBlocks = Math.floor(n / batch);
  const feeds = [];
  for (let b = 0; b < nBlocks; b++)
    feeds.push({ features: new ort.Tensor('float32', X.subarray(b * batch * F, (b + 1) * batch * F), [batch, F]) });
  const t = new Float64Array(calls);
  for (let c = -WARMUP; c < calls; c++) {
    const b = (c + WARMUP) % nBlocks;
    const t0 = process.hrtime.bigint();
    const res = await sess.run(feeds[b]);
    const dt = Number(process.hrtime.bigint() - t0) / 1e3;
    if (c >= 0) t[c] = dt;
    out.set(res.embedding.data, b * batch * dim);
  }
  t.sort();
  return t;
}

function maxDiff(a, b, count) {
  let worst = 0;
  for (let i = 0; i < count; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

async function bench(model, rowsPath, n, F, threads, calls1, calls64, csPrefix) {
  const ort = require('onnxruntime-node');
  const sess = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const X = readF32(rowsPath, n * F);
  const probe = await sess.run({ features: new ort.Tensor('float32', X.subarray(0, F), [1, F]) });
  const dim = probe.embedding.dims[1];
  const out1 = new Float32Array(n * dim), out64 = new Float32Array(n * dim);
  const t1 = await timed(sess, ort, X, n, F, 1, calls1, out1, dim);
  const t64 = await timed(sess, ort, X, n, F, BATCH, calls64, out64, dim);
  const n64 = Math.floor(n / BATCH) * BATCH;
  const cs1 = readF32(`${csPrefix}.b1.f32`, n * dim);
  const cs64 = readF32(`${csPrefix}.b64.f32`, n64 * dim);
  console.log(JSON.stringify({
    tool: 'onnxruntime', version: ort.env.versions?.node ?? 'unknown', threads, rows: n,
    batch1: { calls: calls1, p50_us: pct(t1, 50), p99_us: pct(t1, 99) },
    batch64: { calls: calls64, p50_us: pct(t64, 50), p99_us: pct(t64, 99),
      p50_us_per_user: pct(t64, 50) / BATCH, p99_us_per_user: pct(t64, 99) / BATCH },
    max_abs_diff_vs_coldstart: { batch1: maxDiff(out1, cs1, n * dim), batch64: maxDiff(out64, cs64, n64 * dim) },
  }));
}

const [cmd, ...a] = process.argv.slice(2);
if (cmd === 'rows' && a.length === 4) await rows(a[0], a[1], Number(a[2]), a[3]);
else if (cmd === 'ort' && a.length === 8)
  await bench(a[0], a[1], Number(a[2]), Number(a[3]), Number(a[4]), Number(a[5]), Number(a[6]), a[7]);
else {
  console.error('usage: node bench/onnx.mjs rows EXPORT_DIR OUT_DIR N SEED | ort MODEL.onnx ROWS.f32 N F THREADS CALLS1 CALLS64 CS_PREFIX');
  process.exit(2);
}
