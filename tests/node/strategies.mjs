// strategies.mjs: `semi` and `soft` written from the export's README.md
// alone (plain float64 JavaScript, no coldstart code): the export's tables
// plus an embedding give a ranked list of song rows. check.mjs compares the
// result with `coldstart recommend`, which proves the README is complete.
import { readNpy } from './npy.mjs';

export function loadTables(dir) {
  const centroids = readNpy(`${dir}/centroids.npy`);
  const seg = {
    indptr: readNpy(`${dir}/segments_indptr.npy`).data,
    songs: readNpy(`${dir}/segments_songs.npy`).data,
    p: readNpy(`${dir}/segments_p.npy`).data,
  };
  const songIds = readNpy(`${dir}/songs_id.npy`).data;
  return {
    k: centroids.shape[0],
    dim: centroids.shape[1],
    centroids: centroids.data,
    seg,
    songIds,
    nSongs: songIds.length,
  };
}

// The m nearest centroids to e: [{c, d}] by ascending Euclidean distance,
// ties by lower index.
export function nearest(t, e, m) {
  const all = [];
  for (let c = 0; c < t.k; c++) {
    let s = 0;
    for (let i = 0; i < t.dim; i++) {
      const x = e[i] - t.centroids[c * t.dim + i];
      s += x * x;
    }
    all.push({ c, d: Math.sqrt(s) });
  }
  all.sort((a, b) => a.d - b.d || a.c - b.c);
  return all.slice(0, m);
}

const segStart = (t, c) => Number(t.seg.indptr[c]);
const segEnd = (t, c) => Number(t.seg.indptr[c + 1]);

// The first K songs of segment c's ranking, continued by ascending row.
export function semi(t, e, K) {
  const [{ c }] = nearest(t, e, 1);
  const out = [];
  const taken = new Set();
  for (let i = segStart(t, c); i < segEnd(t, c) && out.length < K; i++) {
    out.push(t.seg.songs[i]);
    taken.add(t.seg.songs[i]);
  }
  for (let s = 0; s < t.nSongs && out.length < K; s++) if (!taken.has(s)) out.push(s);
  return { memberships: [c], songs: out };
}

// p_c(song): 0 when the song is not in segment c's list.
function pOf(t, c, song) {
  t.pCache ??= new Map();
  let m = t.pCache.get(c);
  if (!m) {
    m = new Map();
    for (let i = segStart(t, c); i < segEnd(t, c); i++) m.set(t.seg.songs[i], t.seg.p[i]);
    t.pCache.set(c, m);
  }
  return m.get(song) ?? 0;
}

export function soft(t, e, K, m, margin) {
  const near = nearest(t, e, m);
  const inv = near.map(({ d }) => 1 / (d + 1e-10));
  const total = inv.reduce((a, b) => a + b, 0);
  const w = inv.map((x) => x / total);
  const T = K + margin;
  const a = w.map((x) => Math.floor(x * T));
  const frac = w.map((x, j) => x * T - a[j]);
  let left = T - a.reduce((x, y) => x + y, 0);
  const order = frac.map((f, j) => ({ f, j })).sort((x, y) => y.f - x.f || x.j - y.j);
  for (let i = 0; left > 0 && i < order.length; i++, left--) a[order[i].j]++;
  const out = [];
  const taken = new Set();
  near.forEach(({ c }, j) => {
    const end = Math.min(segEnd(t, c), segStart(t, c) + a[j]);
    for (let i = segStart(t, c); i < end; i++) {
      const s = t.seg.songs[i];
      if (!taken.has(s)) {
        taken.add(s);
        out.push(s);
      }
    }
  });
  out.length = Math.min(out.length, K);
  const kept = new Set(out);
  const nCandidates = out.length;
  if (out.length < K) {
    const score = new Map();
    near.forEach(({ c }) => {
      for (let i = segStart(t, c); i < segEnd(t, c); i++) score.set(t.seg.songs[i], 0);
    });
    for (const s of score.keys())
      score.set(s, near.reduce((acc, { c }, j) => acc + w[j] * pOf(t, c, s), 0));
    const fill = [...score.entries()].filter(([s]) => !kept.has(s))
      .sort((x, y) => y[1] - x[1] || x[0] - y[0]);
    for (const [s] of fill) {
      if (out.length >= K) break;
      out.push(s);
      kept.add(s);
    }
    for (let s = 0; s < t.nSongs && out.length < K; s++) if (!kept.has(s)) out.push(s);
  }
  return { memberships: near.map(({ c }) => c), weights: w, songs: out, filled: K - nCandidates };
}
