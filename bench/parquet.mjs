// parquet.mjs: DuckDB side of bench/parquet.sh (run from bench/.cache/duckdb
// so @duckdb/node-api resolves). Usage:
//   node parquet.mjs gen OUT ROWS COLS     write the wide test file
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
