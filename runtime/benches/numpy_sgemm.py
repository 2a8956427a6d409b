"""numpy (OpenBLAS) sgemm GFLOP/s at the shapes of benches/gemm.rs, on 1 and
2 threads, for a side-by-side number in the same session:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python runtime/benches/numpy_sgemm.py [threads]

Threads are set with OPENBLAS_NUM_THREADS in a child process (threadpoolctl
is not required). Prints the median of the repeats.
"""
import os
import subprocess
import sys
import time

SHAPES = [(100, 100, 50, 2000), (256, 784, 512, 50), (1024, 1024, 1024, 15), (4096, 4096, 4096, 5)]


def child():
    import numpy as np

    rng = np.random.default_rng(0)
    for m, k, n, reps in SHAPES:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        a @ b
        ts = []
        for _ in range(reps):
            t = time.perf_counter()
            a @ b
            ts.append(time.perf_counter() - t)
        ts.sort()
        t = ts[len(ts) // 2]
        th = os.environ["OPENBLAS_NUM_THREADS"]
        print(f"numpy {th}t {m}x{k}x{n}: {2 * m * n * k / t / 1e9:.1f} GFLOP/s (median {t * 1e6:.1f} us)", flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child()
    else:
        for th in sys.argv[1:] or ["1", "2"]:
            env = dict(os.environ, OPENBLAS_NUM_THREADS=th)
            subprocess.run([sys.executable, __file__, "--child"], env=env, check=True)
