// parquet.mjs: DuckDB side of bench/parquet.sh (run from bench/.cache/duckdb
// so @duckdb/node-api resolves). Usage:
//   node parquet.mjs gen OUT ROWS COLS     write the wide test file
//   node parquet.mjs release DIR SONGS USERS DIM
//                                          a release-shaped svd folder
//                                          (train/validation/test 70/20/10)
//   node parquet.mjs read FILE COLS        full decode with DuckDB on 1 thread,
//                                          prints wall and CPU seconds
import { DuckDBInstance } from '@duckdb/node-api';

const [cmd, file, a, b] = process.argv.slice(2);
const inst = await DuckDBInstance.create(':memory:');
const con = await inst.connect();
if (cmd === 'gen') {
  const rows = Number(a), cols = Number(b);
  // deterministic pseudo-random doubles (hash of row and column), like
  // embedding values: full-precision, so compression barely helps
  const exprs = ['i::BIGINT AS user_index'];
  for (let c = 0; c < cols; c++)
    exprs.push(`(hash(i * ${cols} + ${c}) % 2000000000)::DOUBLE / 1e11 - 0.01 AS f${c}`);
  const sql = `COPY (SELECT ${exprs.join(', ')} FROM range(${rows}) t(i)) TO '${file}' (FORMAT parquet)`;
  await con.run(sql);
} else if (cmd === 'release') {
  const songs = Number(a), users = Number(b), dim = Number(process.argv[6]);
  const blocks = ['age', 'country', 'favorite_songs', 'favorite_artists',
    'favorite_albums', 'favorite_playlists', 'onboarding_like_artists',
    'skipped_songs', 'skipped_artists', 'skipped_albums', 'streamed_songs',
    'streamed_artists', 'streamed_albums', 'banned_songs', 'banned_artists',
    'banned_albums', 'search_songs', 'search_artists', 'search_albums',
    'search_playlists'];
  const counts = ['nb_favorite_songs', 'nb_favorite_albums',
    'nb_favorite_artists', 'nb_favorite_playlists', 'nb_skipped_songs',
    'nb_skipped_artists', 'nb_skipped_albums', 'nb_banned_songs',
    'nb_banned_artists', 'nb_banned_albums', 'nb_streamed_songs',
    'nb_streamed_artists', 'nb_streamed_albums', 'nb_search_songs',
    'nb_search_albums', 'nb_search_artists', 'nb_search_playlists',
    'nb_onboarding_like_artists'];
  const vec = (seed) => `list_transform(range(${dim}), k -> (hash(${seed} * ${dim} + k) % 2000000)::DOUBLE / 1e8 - 0.01)`;
  // song_index values are a permutation of 0..songs-1, rows shuffled
  await con.run(`COPY (SELECT (i * 7919) % ${songs} AS song_index, ${vec('i')} AS features_svd
    FROM range(${songs}) t(i) ORDER BY hash(i)) TO '${file}/song_embeddings.parquet' (FORMAT parquet)`);
  const n_train = Math.floor(users * 0.7), n_val = Math.floor(users * 0.2);
  await con.run(`COPY (SELECT i AS user_index, ${vec('i + 1000000')} AS svd_embeddings
    FROM range(${n_train}) t(i) ORDER BY hash(i + 5)) TO '${file}/user_embeddings.parquet' (FORMAT parquet)`);
  const feats = [];
  for (const bl of blocks)
    for (let k = 0; k < dim; k++)
      feats.push(`(hash(i * 4099 + ${feats.length}) % 2000000)::DOUBLE / 1e8 - 0.01 AS ${bl}_embedding${k}`);
  feats.push(`(18 + i % 50)::BIGINT AS age_value`);
  counts.forEach((c, j) => feats.push(`CASE WHEN (i + ${j}) % 7 = 0 THEN NULL ELSE ((i * ${j + 3}) % 97)::DOUBLE END AS ${c}`));
  const splits = [['train', 0, n_train], ['validation', n_train, n_val],
                  ['test', n_train + n_val, users - n_train - n_val]];
  for (const [name, from, n] of splits)
    await con.run(`COPY (SELECT i AS user_index,
        list_transform(range((hash(i) % 40)::BIGINT), k -> ((hash(i * 31 + k) % ${songs}))::BIGINT) AS d1d30_songs,
        ${feats.join(', ')}
      FROM range(${from}, ${from + n}) t(i) ORDER BY hash(i + 9))
      TO '${file}/user_features_${name}_svd.parquet' (FORMAT parquet)`);
} else if (cmd === 'read') {
  const cols = Number(a);
  await con.run('SET threads = 1');
  const sums = ['sum(user_index)'];
  for (let c = 0; c < cols; c++) sums.push(`sum(f${c})`);
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  await con.runAndReadAll(`SELECT ${sums.join(', ')} FROM read_parquet('${file}')`);
  const c1 = process.cpuUsage(c0);
  const t1 = process.hrtime.bigint();
  // wall seconds, CPU seconds (user + system, every thread of the process)
  console.log((Number(t1 - t0) / 1e9).toFixed(3), ((c1.user + c1.system) / 1e6).toFixed(3));
} else {
  console.error('usage: node parquet.mjs gen OUT ROWS COLS | read FILE COLS');
  process.exit(2);
}
