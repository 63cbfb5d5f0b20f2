#!/usr/bin/env python3
"""bench/scoring.py: evaluating the six strategies (coldstart) against
PyTorch's top-50 scoring of the full strategy, on the same data in one run,
plus one user's features-to-50-songs latency; writes bench/results/scoring.md.

Data: a prepared deezer-scale model + dataset when given (--model M
--dataset D, test split), otherwise shape-equivalent random data built by
bench/scoring_bench.c (--random: 50,000 songs, d = 128, F = 2579, k = 1000
and 100 input clusters, 10,000 test users, an untrained regressor: same
arithmetic as a trained one). The C program dumps the song embeddings and
the regressor's test predictions so PyTorch scores exactly the same vectors.

Run from the repo root after `make` (needs build/libcoldstart.a):
    /usr/bin/python3 bench/scoring.py [--model M --dataset D] [--repeats 3]
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build():
    """Build bench/scoring_bench.c with the library's flags; its path."""
    subprocess.run(["make", "--no-print-directory", "build/bench/scoring_bench"],
                   cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return os.path.join(REPO, "build", "bench", "scoring_bench")


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def torch_scoring(tmp, n_songs, dim, n_users, k, repeats):
    import torch
    torch.set_num_threads(2)
    emb = torch.from_numpy(
        np.fromfile(os.path.join(tmp, "song_emb.f32"), dtype=np.float32)
        .reshape(n_songs, dim))
    pred = torch.from_numpy(
        np.fromfile(os.path.join(tmp, "test_pred.f32"), dtype=np.float32)
        .reshape(n_users, dim))
    times, cpus = [], []
    idx = None
    for _ in range(repeats):
        t = time.perf_counter()
        c = time.process_time()
        with torch.no_grad():
            parts = []
            for s in range(0, n_users, 1024):
                scores = pred[s:s + 1024] @ emb.T
                parts.append(torch.topk(scores, k, dim=1).indices)
            idx = torch.cat(parts)
        times.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return statistics.median(times), statistics.median(cpus), idx.numpy()


def torch_forward_latency(n_in, dim, n=300):
    import torch
    torch.set_num_threads(2)
    net = torch.nn.Sequential(
        torch.nn.Linear(n_in, 400), torch.nn.ReLU(), torch.nn.BatchNorm1d(400),
        torch.nn.Linear(400, 300), torch.nn.ReLU(), torch.nn.BatchNorm1d(300),
        torch.nn.Linear(300, 200), torch.nn.ReLU(), torch.nn.BatchNorm1d(200),
        torch.nn.Linear(200, dim)).eval()
    x = torch.randn(1, n_in)
    lat = []
    with torch.no_grad():
        for _ in range(20):
            net(x)
        for _ in range(n):
            t = time.perf_counter()
            y = net(x)
            y = y / y.norm(dim=1, keepdim=True)
            lat.append(time.perf_counter() - t)
    return statistics.median(lat)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model")
    ap.add_argument("--dataset")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "results",
                                                  "scoring.md"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        exe = build()
        if args.model and args.dataset:
            cmd = [exe, args.model, args.dataset]
            data_desc = f"prepared data: model {args.model}, dataset {args.dataset} (test split)"
        else:
            cmd = [exe, "--random"]
            data_desc = ("shape-equivalent random data (no deezer-scale prepared "
                         "dataset was available): 50,000 songs, d = 128, F = 2579, "
                         "k = 1000 / 100 input clusters over 70,000 training users' "
                         "song lists, 10,000 test users, untrained regressor")
        cmd += [str(args.threads), str(args.repeats), tmp]
        t = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                             cwd=REPO).stdout
        print(f"scoring_bench: {time.perf_counter() - t:.1f}s", file=sys.stderr)
        ours = json.loads(out)
        k = 50
        t_torch, cpu_torch, torch_idx = torch_scoring(tmp, ours["songs"], ours["dim"],
                                           ours["test_users"], k, args.repeats)
        t_fwd = torch_forward_latency(ours["features"], ours["dim"])

    st = ours["strategies"]
    total = ours["evaluate_all_s"]
    lines = []
    lines.append("# Scoring and recommendation latency\n")
    lines.append(f"- date: {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC")
    lines.append(f"- machine: {cpu_model()}, {os.cpu_count()} cores (shared: "
                 "other helpers were running builds and benchmarks at the "
                 "same time, so wall times are noisy upper bounds)")
    lines.append(f"- data: {data_desc}")
    lines.append(f"- coldstart: `cs_evaluate`, {ours['threads']} threads "
                 f"(and BLAS threads), median of {ours['repeats']} runs; "
                 "PyTorch "
                 f"{__import__('torch').__version__}, torch.set_num_threads(2), "
                 f"median of {args.repeats} runs\n")
    lines.append("## Evaluating 10k test users over 50k songs (K = 50)\n")
    lines.append("| what | wall s | CPU s (both threads) |")
    lines.append("| --- | ---: | ---: |")
    lines.append(f"| PyTorch: full strategy only (matmul + topk, 1024-user chunks) | {t_torch:.3f} | {cpu_torch:.3f} |")
    lines.append(f"| coldstart: all six strategies with P/R/NDCG and spread | {total:.3f} | {ours['evaluate_all_cpu_s']:.3f} |")
    lines.append(f"| of which the regressor forward pass over the split | {ours['predict_s']:.3f} | |")
    for name, v in st.items():
        lines.append(f"| {name} alone (lists + metrics; CPU includes the forward pass for full, semi, soft) | {v['evaluate_s']:.3f} | {v['cpu_s']:.3f} |")
    lines.append(f"\nRatio (wall): all six strategies in coldstart take {total / t_torch:.2f}x "
                 f"the time PyTorch needs for the full strategy's top-50 alone; "
                 f"(CPU): {ours['evaluate_all_cpu_s'] / cpu_torch:.2f}x. "
                 f"Target: < 3 s wall for the six on an idle 2-core machine "
                 f"(PyTorch 3.5 s in docs/performance.md). On a loaded machine CPU seconds / 2 "
                 f"approximate the idle wall time.\n")
    lines.append("## One user, features to 50 songs, in-process (1 thread)\n")
    lines.append("| strategy | median us | p99 us | us given the predicted embedding |")
    lines.append("| --- | ---: | ---: | ---: |")
    for name, v in st.items():
        lines.append(f"| {name} | {v['latency_us']:.1f} | {v['latency_p99_us']:.1f} | "
                     f"{v['given_pred_us']:.1f} |")
    lines.append(f"\nRegressor forward pass for one user (coldstart): "
                 f"{ours['regressor_one_us']:.1f} us; PyTorch forward pass (batch 1, "
                 f"eval mode, 2 threads): {1e6 * t_fwd:.1f} us. Target for the whole "
                 "recommendation: < 50 us.\n")
    lines.append("## Notes\n")
    lines.append("- full and d0-streams are scored by blocks of 512 users x tiles of 1024 "
                 "songs, one single-threaded sgemm per tile on each of our threads, with "
                 "each user's running top-50 updated while the tile is in cache; the "
                 "GEMM (2 x 10k x 50k x 128 = 128 GFLOP per strategy) is most of their time.")
    lines.append("- The regressor's one-row forward pass is most of the latency of full, "
                 "semi and soft. It no longer goes through sgemm with M = 1 (412 us for "
                 "the first layer alone here): the input standardization is folded into "
                 "an input-major copy of the first layer, so a user only reads the "
                 "columns of their nonzero features (registration-day blocks are mostly "
                 "empty), and the later layers are sgemv calls. What remains is memory "
                 "traffic: about 1 MB of first-layer columns per user plus 0.8 MB for "
                 "the later layers.")
    lines.append("- soft's own part (\"given the predicted embedding\") is the 5 nearest "
                 "of 1000 centroids (~10 us, as semi) plus the fill: at deezer scale "
                 "duplicates among the 54 candidates usually force a fill, whose exact "
                 "ranking needs the mixture score of many listed songs (threshold "
                 "algorithm over by-song lookups; ties among count-1 songs keep it deep).")
    text = "\n".join(lines) + "\n"
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
