// check.mjs: checks a `coldstart export-onnx` folder with ONNX Runtime
// (onnxruntime-node). Exit 0 = the check holds, 1 = it failed (the reason on
// stderr), 2 = bad usage. Used by tests/cli/onnx.sh.
//
// Several checks can run in one process, separated by '+'; `not CHECK`
// passes when CHECK fails (printing its message as JSON).
//
//   node check.mjs embeddings DIR [TOL]
//       regressor.onnx on reference/features.npy (all rows in one batch, and
//       every row alone) equals reference/embedding.npy within TOL (1e-5)
//   node check.mjs reject DIR COLS...
//       feeding COLS feature columns must be refused by ONNX Runtime with a
//       message naming the input; prints that message
//   node check.mjs strategy DIR semi|soft RECS.jsonl [K M MARGIN]
//       semi/soft computed from the exported tables by strategies.mjs (the
//       README's algorithm), from the reference embeddings and again from
//       ONNX Runtime's, give the same clusters and songs, in order, as
//       `coldstart recommend` (RECS.jsonl)
import { readFileSync } from 'node:fs';
import ort from 'onnxruntime-node';
import { readNpy } from './npy.mjs';
import { loadTables, semi, soft } from './strategies.mjs';

class CheckFailed extends Error {}
const fail = (msg) => {
  throw new CheckFailed(msg);
};

const sessions = new Map();
async function session(dir) {
  try {
    if (!sessions.has(dir))
      sessions.set(dir, await ort.InferenceSession.create(`${dir}/regressor.onnx`, {
        intraOpNumThreads: 1,
        graphOptimizationLevel: 'all',
      }));
    return sessions.get(dir);
  } catch (e) {
    fail(`${dir}/regressor.onnx: ONNX Runtime cannot load it: ${e.message}`);
  }
}

async function run(sess, rows, n, cols) {
  const x = new ort.Tensor('float32', rows, [n, cols]);
  const out = await sess.run({ features: x });
  return out.embedding;
}

async function embeddingsOf(sess, features) {
  const [n, F] = features.shape;
  const y = await run(sess, features.data, n, F);
  if (y.dims.length !== 2 || y.dims[0] !== n) fail(`output dims [${y.dims}] for ${n} rows`);
  return y;
}

function maxDiff(a, b, n, d) {
  let worst = 0, user = -1;
  for (let u = 0; u < n; u++)
    for (let j = 0; j < d; j++) {
      const diff = Math.abs(a[u * d + j] - b[u * d + j]);
      if (!(diff <= worst)) {
        worst = diff;
        user = u;
      }
    }
  return { worst, user };
}

async function checkEmbeddings(dir, tol) {
  const sess = await session(dir);
  if (sess.inputNames.join() !== 'features' || sess.outputNames.join() !== 'embedding')
    fail(`inputs [${sess.inputNames}] outputs [${sess.outputNames}], want [features] [embedding]`);
  const features = readNpy(`${dir}/reference/features.npy`);
  const ref = readNpy(`${dir}/reference/embedding.npy`);
  const [n, F] = features.shape;
  const d = ref.shape[1];
  if (ref.shape[0] !== n) fail(`reference: ${n} feature rows but ${ref.shape[0]} embeddings`);
  const batch = await embeddingsOf(sess, features);
  if (batch.dims[1] !== d) fail(`model gives d = ${batch.dims[1]}, reference has d = ${d}`);
  const b = maxDiff(batch.data, ref.data, n, d);
  const single = new Float32Array(n * d);
  for (let u = 0; u < n; u++) {
    const y = await run(sess, features.data.subarray(u * F, (u + 1) * F), 1, F);
    single.set(y.data, u * d);
  }
  const s = maxDiff(single, ref.data, n, d);
  console.log(JSON.stringify({ check: 'embeddings', dir, users: n, n_features: F, dim: d, tol,
    max_abs_diff_batch: b.worst, max_abs_diff_single: s.worst }));
  if (!(b.worst <= tol)) fail(`batch of ${n}: max abs diff ${b.worst} > ${tol} (user row ${b.user})`);
  if (!(s.worst <= tol)) fail(`one row at a time: max abs diff ${s.worst} > ${tol} (user row ${s.user})`);
}

async function checkReject(dir, cols) {
  const sess = await session(dir);
  const rows = new Float32Array(2 * cols);
  try {
    await run(sess, rows, 2, cols);
  } catch (e) {
    if (!/features/.test(e.message)) fail(`refused, but the message does not name the input: ${e.message}`);
    console.log(JSON.stringify({ check: 'reject', cols, message: e.message }));
    return;
  }
  fail(`ONNX Runtime accepted ${cols} feature columns`);
}

async function checkStrategy(dir, name, recsPath, source, K, m, margin) {
  const t = loadTables(dir);
  const ids = readNpy(`${dir}/reference/user_id.npy`).data;
  let emb;
  if (source === 'reference') emb = readNpy(`${dir}/reference/embedding.npy`).data;
  else emb = (await embeddingsOf(await session(dir), readNpy(`${dir}/reference/features.npy`))).data;
  const want = new Map();
  for (const line of readFileSync(recsPath, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line);
    if (r.strategy !== name) fail(`${recsPath}: strategy ${r.strategy}, expected ${name}`);
    want.set(String(r.user_id), r);
  }
  if (want.size !== ids.length) fail(`${recsPath}: ${want.size} users, reference has ${ids.length}`);
  let bad = 0, first = '', filled = 0;
  for (let u = 0; u < ids.length; u++) {
    const e = emb.subarray(u * t.dim, (u + 1) * t.dim);
    const got = name === 'semi' ? semi(t, e, K) : soft(t, e, K, m, margin);
    if (got.filled > 0) filled++;
    const songs = got.songs.map((row) => String(t.songIds[row]));
    const r = want.get(String(ids[u]));
    if (!r) fail(`user ${ids[u]} missing from ${recsPath}`);
    const wantSongs = r.items.map((it) => String(it.song_id));
    const wantMembers = r.memberships.map((x) => x.cluster);
    if (songs.join() !== wantSongs.join() || got.memberships.join() !== wantMembers.join()) {
      if (!bad) first = `user ${ids[u]}: README ${name} gives clusters [${got.memberships}] songs [${songs}], coldstart [${wantMembers}] [${wantSongs}]`;
      bad++;
    }
  }
  console.log(JSON.stringify({ check: 'strategy', strategy: name, embedding: source, users: ids.length,
    users_with_fill: filled, mismatches: bad }));
  if (bad) fail(`${bad} of ${ids.length} users differ; first: ${first}`);
}

const USAGE = 'usage: node check.mjs CHECK [+ CHECK ...], CHECK = [not] embeddings DIR [TOL] | reject DIR COLS... | strategy DIR semi|soft RECS.jsonl [K M MARGIN]';

async function runCheck([cmd, dir, ...rest]) {
  if (cmd === 'not' && dir) {
    // the check must FAIL: print why as JSON, fail when it passes
    try {
      await runCheck([dir, ...rest]);
    } catch (e) {
      console.log(JSON.stringify({ check: 'not', args: [dir, ...rest], message: e.message }));
      return;
    }
    fail(`expected to fail but passed: ${[dir, ...rest].join(' ')}`);
  }
  if (cmd === 'embeddings' && dir) return checkEmbeddings(dir, Number(rest[0] ?? 1e-5));
  if (cmd === 'reject' && dir && rest.length) {
    for (const cols of rest) await checkReject(dir, Number(cols));
    return;
  }
  if (cmd === 'strategy' && dir && rest.length >= 2) {
    const [name, recs, K = '50', m = '5', margin = '4'] = rest;
    for (const source of ['reference', 'onnx'])
      await checkStrategy(dir, name, recs, source, Number(K), Number(m), Number(margin));
    return;
  }
  console.error(USAGE);
  process.exit(2);
}

// Several checks in one process (ONNX Runtime loads once): separated by '+'.
const checks = [[]];
for (const arg of process.argv.slice(2)) {
  if (arg === '+') checks.push([]);
  else checks[checks.length - 1].push(arg);
}
for (const c of checks) {
  try {
    await runCheck(c);
  } catch (e) {
    console.error(`check.mjs: ${e.message}`);
    process.exit(1);
  }
}
