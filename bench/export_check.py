#!/usr/bin/env python3
"""export_check.py: load a `coldstart export-npy` folder with NumPy and check
the docs/formats.md contract (names, dtypes, shapes, ascending users, CSR truth
in range and ascending, unit-norm targets where present).
usage: python3 bench/export_check.py DIR"""
import json
import sys

import numpy as np


def main(d):
    sc = json.load(open(f"{d}/schema.json"))
    dim, nf = sc["dim"], sc["n_features"]
    assert nf == 20 * dim + 19 and sc["age_column"] == 20 * dim
    assert len(sc["blocks"]) == 20 and len(sc["counts"]) == 18
    emb = np.load(f"{d}/songs_embedding.npy")
    ids = np.load(f"{d}/songs_id.npy")
    assert emb.dtype == np.float32 and emb.shape == (len(ids), dim)
    assert ids.dtype == np.int64 and len(np.unique(ids)) == len(ids)
    for s in ("train", "validation", "test"):
        u = np.load(f"{d}/{s}_user_id.npy")
        f = np.load(f"{d}/{s}_features.npy")
        p = np.load(f"{d}/{s}_truth_indptr.npy")
        i = np.load(f"{d}/{s}_truth_indices.npy")
        assert u.dtype == np.int64 and (np.diff(u) > 0).all()
        assert f.dtype == np.float32 and f.shape == (len(u), nf)
        assert p.dtype == np.int64 and p.shape == (len(u) + 1,) and p[0] == 0
        assert i.dtype == np.int64 and p[-1] == len(i)
        assert len(i) == 0 or (i.min() >= 0 and i.max() < len(ids))
        d_i = np.diff(i)
        starts = np.zeros(len(i), bool)
        starts[p[:-1][p[:-1] < len(i)]] = True
        assert ((d_i > 0) | starts[1:]).all(), f"{s}: truth not ascending"
        print(f"{s}: {len(u)} users, {len(i)} truth entries, F={nf}")
    t = np.load(f"{d}/train_target.npy")
    n_train = len(np.load(f"{d}/train_user_id.npy"))
    assert t.dtype == np.float32 and t.shape == (n_train, dim)
    norms = np.linalg.norm(t, axis=1)
    assert np.all((np.abs(norms - 1) < 1e-3) | (norms == 0))
    print(f"ok: {d} ({sc['space']}, d={dim}, {len(ids)} songs)")


if __name__ == "__main__":
    main(sys.argv[1])
