#!/usr/bin/python3
"""shared/bench/ref_bench.py with its clock switched to the process's CPU time (time.process_time): the
counterpart of `benchmarks/Backbones --clock cpu`. On a shared machine a single-threaded run then measures its own
work, not the share of the core that other processes left it. Use with --threads 1 only (the CPU time of several
threads is their sum).

usage: ref-bench-cpu-clock.py [--ref ../shared/bench/ref_bench.py] bench --threads 1 [ref_bench.py options]
"""
import importlib.util
import os
import sys
import time
import types

argv = sys.argv[1:]
ref = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "bench", "ref_bench.py")
if argv[:1] == ["--ref"]:
    ref, argv = argv[1], argv[2:]
if "--threads" not in argv or argv[argv.index("--threads") + 1] != "1":
    sys.exit("ref-bench-cpu-clock: pass --threads 1 (the CPU time of several threads is their sum)")
if any(a == "--blas-dir" or a.startswith("--blas-dir=") for a in argv):
    # ref_bench.py would re-execute itself without this wrapper
    sys.exit("ref-bench-cpu-clock: --blas-dir is not supported here; set LD_LIBRARY_PATH to the BLAS directory instead")
sys.argv = [ref] + argv
spec = importlib.util.spec_from_file_location("ref_bench", ref)
ref_bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref_bench)
# every timing in ref_bench.py reads time.perf_counter
ref_bench.time = types.SimpleNamespace(perf_counter=time.process_time)
sys.exit(ref_bench.main())
