#!/usr/bin/env python3
"""Online garbage collection and lifecycle evaluation at scale: a hand-run benchmark of wharf.

    python3 scripts/bench/gc.py                         # full size (about 15 minutes)
    python3 scripts/bench/gc.py --blobs 5000 --images 5000 --lifecycle-keep 200   # quick check
    python3 scripts/bench/gc.py --only gc --json out.json

Three parts (--only gc,reference,lifecycle):

gc         `wharf gc` reclaims --blobs unreferenced blobs while a paced load of manifest GETs
           and small image pushes runs; the load's latencies without GC and during GC, the
           collection's wall time, what it reclaimed, and a check that everything referenced
           survived and nothing else did.
reference  the same blobs pushed to the reference registry (Distribution), which can only
           collect offline: `docker-registry garbage-collect` on the stopped registry, timed.
lifecycle  a repository of --images images; StartLifecyclePolicyPreview until COMPLETE,
           paging through the preview's results, and `wharf lifecycle run`: times and memory.

See scripts/bench/README.md ("Garbage collection and lifecycle") for how to read the output.
It reuses run.py's client, server wrappers and machine-load helpers.
"""

from __future__ import annotations

import argparse
import configparser
import hashlib
import itertools
import json
import math
import os
import platform
import random
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402  (run.py: HTTP client, servers, machine-load helpers)
from run import Conn, HTTPError, expect, log  # noqa: E402

OCI_MANIFEST = bench.images.OCI_MANIFEST
OCI_CONFIG = bench.images.OCI_CONFIG
OCI_LAYER = bench.images.OCI_LAYER_GZIP
PARTS = ["gc", "reference", "lifecycle"]
GC_REPO = "bench/gc"          # the images the load reads and pushes
GARBAGE_REPO = "bench/garbage"  # the unreferenced blobs
LC_REPO = "bench/lifecycle"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def pct(sorted_values: list[float], p: float) -> float | None:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return None
    k = math.ceil(p / 100 * len(sorted_values)) - 1
    return sorted_values[max(0, min(len(sorted_values) - 1, k))]


# ------------------------------------------------------------------------------- servers
class BenchWharf(bench.Wharf):
    """wharf with extra global flags, which its CLI runs (`wharf gc`, `wharf lifecycle run`)
    get too: `wharf gc` is its own process and reads the grace period from its own flags."""

    def __init__(self, workdir: Path, binary: str, repos: list[str], flags: list[str]):
        workdir.mkdir(parents=True, exist_ok=True)
        self.repos, self.flags = repos, flags
        super().__init__(workdir, binary)

    def cli(self, *args: str) -> list[str]:
        return [self.binary, "--data-dir", str(self.data_dir), *self.flags, *args]

    def prepare(self) -> None:
        for r in self.repos:
            subprocess.run(self.cli("repo", "create", r), check=True, capture_output=True, timeout=60)

    def command(self) -> list[str]:
        return super().command() + self.flags


def profiled(args, name: str, cmd: list[str]) -> list[str]:
    """`cmd` under `perf record` into --perf DIR/NAME.data when asked (a diagnosis: perf's
    own overhead then counts in the times and the memory)."""
    if not args.perf:
        return cmd
    out = Path(args.perf).resolve()
    out.mkdir(parents=True, exist_ok=True)
    return ["perf", "record", "-F", "999", "-g", "-o", str(out / f"{name}.data"), "--", *cmd]


def run_timed(cmd: list[str], stdout: Path, stderr: Path, limit: float = 0, sample=None,
              every: float = 10) -> dict:
    """Runs a command to its end; its wall time, CPU and peak RSS (wait4 on that one child,
    so other children do not count). With `limit` > 0 it is stopped (SIGTERM) after that
    many seconds and `timed_out` is set. `sample(elapsed)` is called every `every` seconds
    while it runs (progress), and its results are returned as `samples`."""
    samples, stopped = [], threading.Event()
    timed_out = False
    with open(stdout, "wb") as out, open(stderr, "wb") as err:
        t = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        bench._LIVE.add(p)

        def watch():
            nonlocal timed_out
            next_sample = every
            while True:
                wake = min(next_sample, limit) if limit else next_sample
                if stopped.wait(max(0.0, wake - (time.perf_counter() - t))):
                    return
                elapsed = time.perf_counter() - t
                if elapsed >= next_sample:
                    if sample:
                        samples.append(sample(elapsed))
                    next_sample += every
                if limit and elapsed >= limit:
                    if sample:
                        samples.append(sample(elapsed))
                    timed_out = True
                    os.killpg(p.pid, signal.SIGTERM)  # its own session: the command (and perf)
                    return

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
        stopped.set()
        watcher.join()
    p.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4, tell Popen
    bench._LIVE.discard(p)
    if p.returncode != 0 and not timed_out:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}:\n"
                           f"{stderr.read_text(errors='replace')[-3000:]}")
    return {"seconds": wall, "cpu_s": ru.ru_utime + ru.ru_stime, "peak_rss_mb": ru.ru_maxrss / 1024,
            "timed_out": timed_out, "samples": samples}


class Meter:
    """CPU of the server, of this process (the load generator's threads) and of the whole
    machine over a window, so a window's numbers say who used the 2 cores."""

    def __init__(self, srv: bench.Server):
        self.srv = srv
        self.srv0, self.busy0, self.t0 = srv.cpu_seconds(), bench.busy_seconds(), time.monotonic()
        self.self0 = self._self_cpu()
        self.kids0 = self._kids_cpu()

    @staticmethod
    def _self_cpu() -> float:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return ru.ru_utime + ru.ru_stime

    @staticmethod
    def _kids_cpu() -> float:
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        return ru.ru_utime + ru.ru_stime

    def read(self) -> dict:
        """CPU per wall second since the start. Children count once reaped (wait4 too)."""
        wall = time.monotonic() - self.t0
        server = self.srv.cpu_seconds() - self.srv0
        client = self._self_cpu() - self.self0
        kids = self._kids_cpu() - self.kids0
        busy = bench.busy_seconds() - self.busy0
        return {"wall_s": round(wall, 3), "server_cores": round(server / wall, 3),
                "loadgen_cores": round(client / wall, 3), "children_cores": round(kids / wall, 3),
                "other_cores": round(max(0.0, busy - server - client - kids) / wall, 3)}


# ------------------------------------------------------------------------------- pushing
def upload_blob(c: Conn, repo: str, data: bytes, digest: str, single_post: bool) -> None:
    """A monolithic upload: one `POST ?digest=` with the body (wharf), or POST then
    `PUT ?digest=` (the reference, Distribution 2.8, has no single-POST upload)."""
    hdr = {"Content-Type": "application/octet-stream"}
    if single_post:
        st, _, b = c.request("POST", f"/v2/{repo}/blobs/uploads/?digest={digest}", body=data, headers=hdr)
        expect(st, 201, f"POST ?digest= {digest}", b)
        return
    st, h, b = c.request("POST", f"/v2/{repo}/blobs/uploads/")
    expect(st, 202, "POST upload", b)
    st, _, b = c.request("PUT", bench.add_query(bench.path_of(h["location"]), "digest", digest),
                         body=data, headers=hdr)
    expect(st, 201, f"PUT ?digest= {digest}", b)


def image_parts(layer: bytes, label: str) -> tuple[bytes, bytes]:
    """A config for one layer (made unique by `label`) and the manifest naming both."""
    config = canonical({"architecture": "amd64", "os": "linux",
                        "config": {"Labels": {"bench": label}},
                        "rootfs": {"type": "layers", "diff_ids": [sha256(layer)]}})
    manifest = canonical({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER, "digest": sha256(layer), "size": len(layer)}]})
    return config, manifest


def put_manifest(c: Conn, repo: str, ref: str, manifest: bytes) -> None:
    st, _, b = c.request("PUT", f"/v2/{repo}/manifests/{ref}", body=manifest,
                         headers={"Content-Type": OCI_MANIFEST})
    expect(st, 201, f"PUT manifest {repo}:{ref}", b)


class Pushed:
    """An image pushed (and expected to survive): its manifest digest and blobs."""

    def __init__(self, repo: str, tag: str, manifest: bytes, blobs: dict[str, bytes]):
        self.repo, self.tag, self.digest = repo, tag, sha256(manifest)
        self.blobs = {sha256(b): len(b) for b in blobs.values()}


def push_image(c: Conn, repo: str, tag: str, layer: bytes, label: str, single_post: bool,
               timings: dict | None = None) -> Pushed:
    """Config + layer + manifest under `tag`, the way a client without a HEAD check pushes.
    `timings` gets the manifest PUT's own latency."""
    config, manifest = image_parts(layer, label)
    for blob in (layer, config):
        upload_blob(c, repo, blob, sha256(blob), single_post)
    t = time.perf_counter()
    put_manifest(c, repo, tag, manifest)
    if timings is not None:
        timings["manifest_put_s"] = time.perf_counter() - t
    return Pushed(repo, tag, manifest, {"layer": layer, "config": config})


def garbage_blob(seed: int, i: int, lo: int, hi: int) -> bytes:
    """Blob i of a run: random bytes of a random size in [lo, hi], the same for the same
    seed, so the reference gets exactly the blobs wharf got without keeping 100k in memory."""
    r = random.Random(seed * 1_000_003 + i)
    return r.randbytes(r.randint(lo, hi))


def upload_many(srv: bench.Server, repo: str, count: int, threads: int, make, single_post: bool) -> dict:
    """Uploads blobs make(0..count-1) on `threads` keep-alive connections; rate and bytes."""
    counter = itertools.count()  # next() on it is atomic under the GIL
    totals = {"bytes": 0}
    lock = threading.Lock()
    errors: list[str] = []

    def worker():
        c = Conn("127.0.0.1", srv.port, timeout=60, headers=srv.auth)
        sent = 0
        try:
            while (i := next(counter)) < count and not errors:
                data = make(i)
                upload_blob(c, repo, data, sha256(data), single_post)
                sent += len(data)
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))
        finally:
            c.close()
            with lock:
                totals["bytes"] += sent

    t = time.perf_counter()
    run_threads(worker, threads)
    dt = time.perf_counter() - t
    if errors:
        raise HTTPError(f"{len(errors)} upload threads failed, first: {errors[0]}")
    return {"blobs": count, "bytes": totals["bytes"], "seconds": round(dt, 2),
            "blobs_per_s": round(count / dt, 1)}


def run_threads(fn, n: int) -> None:
    ths = [threading.Thread(target=fn) for _ in range(n)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()


# ------------------------------------------------------------------------------- load
class Load:
    """The load that runs beside the collection: manifest GETs of one tag on `get_conns`
    connections at `get_rate` req/s in total, and one thread pushing small images (two blobs
    and a tagged manifest) at `push_rate` images/s.

    Each request has a due time on a fixed schedule, and its latency counts from that due
    time, not from when it was sent: a server stall then counts for every request it held
    back (as wrk2 does), instead of merely slowing the schedule down (coordinated omission).
    """

    def __init__(self, srv: bench.Server, get_path: str, get_rate: float, get_conns: int,
                 push_rate: float):
        self.srv, self.get_path = srv, get_path
        self.get_rate, self.get_conns, self.push_rate = get_rate, get_conns, push_rate
        self.samples: dict[str, list[tuple[float, float, bool]]] = {"get": [], "push": [], "manifest_put": []}
        self.errors: list[tuple[float, str, str]] = []  # (due, kind, message)
        self.pushed: list[Pushed] = []
        self.failed_blobs: set[str] = set()  # blobs of pushes whose manifest did not go in
        self.stop_evt = threading.Event()
        self.threads: list[threading.Thread] = []
        self.push_no = itertools.count()

    def start(self) -> None:
        gap = self.get_conns / self.get_rate
        for k in range(self.get_conns):  # staggered so the connections do not fire together
            self.threads.append(threading.Thread(target=self._paced, args=(gap, gap * k / self.get_conns,
                                                                            self._get)))
        if self.push_rate > 0:
            self.threads.append(threading.Thread(target=self._paced, args=(1 / self.push_rate, 0, self._push)))
        for th in self.threads:
            th.start()

    def stop(self) -> None:
        self.stop_evt.set()
        for th in self.threads:
            th.join()

    def _conn(self) -> Conn:
        return Conn("127.0.0.1", self.srv.port, timeout=30, headers=self.srv.auth)

    def _paced(self, interval: float, offset: float, fn) -> None:
        c = self._conn()
        due = time.perf_counter() + offset
        try:
            while not self.stop_evt.is_set():
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                try:
                    fn(c, due)
                except Exception:  # noqa: BLE001  (recorded by fn; start over on a new connection)
                    c.close()
                due += interval
        finally:
            c.close()

    def _fail(self, due: float, kind: str, e: Exception) -> None:
        self.samples[kind].append((due, time.perf_counter() - due, False))
        self.errors.append((due, kind, repr(e)[:300]))
        raise e

    def _get(self, c: Conn, due: float) -> None:
        try:
            st, _, b = c.request("GET", self.get_path, headers={"Accept": OCI_MANIFEST})
            expect(st, 200, f"GET {self.get_path}", b)
        except Exception as e:  # noqa: BLE001
            self._fail(due, "get", e)
        self.samples["get"].append((due, time.perf_counter() - due, True))

    def _push(self, c: Conn, due: float) -> None:
        n = next(self.push_no)
        layer = os.urandom(random.randint(1024, 4096))
        timings: dict = {}
        try:
            pushed = push_image(c, GC_REPO, f"load-{n}", layer, f"load-{n}-{os.getpid()}",
                                single_post=True, timings=timings)
        except Exception as e:  # noqa: BLE001
            config, _ = image_parts(layer, f"load-{n}-{os.getpid()}")
            self.failed_blobs |= {sha256(layer), sha256(config)}
            self._fail(due, "push", e)
        end = time.perf_counter()
        self.samples["push"].append((due, end - due, True))
        self.samples["manifest_put"].append((due, timings["manifest_put_s"], True))
        self.pushed.append(pushed)

    def window(self, t0: float, t1: float) -> dict:
        """Latencies and rates of the requests due in [t0, t1)."""
        out = {}
        for kind, samples in self.samples.items():
            inside = [(lat, ok) for due, lat, ok in samples if t0 <= due < t1]
            lat = sorted(x for x, ok in inside if ok)
            out[kind] = {"count": len(lat), "errors": sum(1 for _, ok in inside if not ok),
                         "per_s": round(len(lat) / (t1 - t0), 1),
                         **{f"{name}_ms": (round(v * 1e3, 3) if v is not None else None)
                            for name, v in (("p50", pct(lat, 50)), ("p99", pct(lat, 99)),
                                            ("max", lat[-1] if lat else None))}}
        return out


# ------------------------------------------------------------------------------- part 1: GC
class GcBench:
    def __init__(self, args, workdir: Path):
        self.args = args
        self.workdir = workdir / "gc"
        self.seed = random.randrange(1 << 30)
        self.res: dict = {}

    def garbage(self, i: int) -> bytes:
        return garbage_blob(self.seed, i, self.args.blob_min, self.args.blob_max)

    def run(self) -> dict:
        a = self.args
        srv = BenchWharf(self.workdir, a.wharf_bin, [GC_REPO, GARBAGE_REPO],
                         ["--gc-interval-secs", "0", "--gc-grace-secs", "0"])
        srv.prepare()
        srv.start()
        log(f"\n== GC under load: wharf on {srv.url} (pid {srv.proc.pid})")
        try:
            keep = self.push_keep_images(srv)
            self.upload_garbage(srv)
            self.measure(srv, keep)
        finally:
            srv.stop()
        return self.res

    def push_keep_images(self, srv) -> list[Pushed]:
        c = Conn("127.0.0.1", srv.port, headers=srv.auth)
        try:
            return [push_image(c, GC_REPO, f"keep-{k}", os.urandom(2048 + k), f"keep-{k}", True)
                    for k in range(self.args.keep_images)]
        finally:
            c.close()

    def upload_garbage(self, srv) -> None:
        a = self.args
        log(f"  uploading {a.blobs} unreferenced blobs of {a.blob_min}-{a.blob_max} B "
            f"on {a.upload_threads} connections …")
        r = upload_many(srv, GARBAGE_REPO, a.blobs, a.upload_threads, self.garbage, single_post=True)
        self.res["setup"] = r
        log(f"  setup: {r['blobs']} blobs, {r['bytes'] / 1e6:.1f} MB in {r['seconds']:.1f} s "
            f"= {r['blobs_per_s']:.0f} blobs/s")

    def measure(self, srv, keep: list[Pushed]) -> None:
        a = self.args
        os.sync()  # the setup's writeback must not land in the baseline
        if a.wait_quiet > 0:
            bench.wait_quiet(a.wait_quiet)
        load = Load(srv, f"/v2/{GC_REPO}/manifests/keep-0", a.get_rate, a.get_conns, a.push_rate)
        load.start()
        try:
            time.sleep(a.warmup)
            b0, meter = time.perf_counter(), Meter(srv)
            time.sleep(a.window)
            b1, base_cpu = time.perf_counter(), meter.read()
            rss0 = srv.rss_mb()
            log(f"  baseline: {a.window:.0f} s of load without GC; now `wharf gc --json` …")
            g0, meter = time.perf_counter(), Meter(srv)
            gc = run_timed(profiled(a, "gc", srv.cli("gc", "--json")), self.workdir / "gc.json", self.workdir / "gc.err")
            g1 = time.perf_counter()
            gc_cpu = meter.read()
            time.sleep(a.tail)  # a little load after the collection, outside both windows
        finally:
            load.stop()
        report = json.loads((self.workdir / "gc.json").read_text())
        self.res["gc"] = {**gc, "report": report, "blobs_per_s": report["blobs_deleted"] / gc["seconds"],
                          "server_rss_mb_before": rss0, "server_rss_mb_after": srv.rss_mb(),
                          "server_peak_rss_mb": srv.peak_rss_mb()}
        self.res["load"] = {"settings": {"get_rate": a.get_rate, "get_conns": a.get_conns,
                                         "push_rate": a.push_rate},
                            "baseline": {**load.window(b0, b1), "cpu": base_cpu},
                            "during_gc": {**load.window(g0, g1), "cpu": gc_cpu},
                            "errors": [{"t": round(t - b0, 3), "kind": k, "error": e}
                                       for t, k, e in load.errors[:20]],
                            "error_count": len(load.errors)}
        self.log_measure()
        self.res["verify"] = self.verify(srv, keep + load.pushed, load.failed_blobs, report)

    def log_measure(self) -> None:
        g, ld = self.res["gc"], self.res["load"]
        r = g["report"]
        log(f"  wharf gc: {g['seconds']:.2f} s, {r['blobs_deleted']} blobs / {r['bytes_deleted'] / 1e6:.1f} MB "
            f"deleted ({g['blobs_per_s']:.0f} blobs/s), marked {r['blobs_marked']}; its CPU {g['cpu_s']:.2f} s, "
            f"peak RSS {g['peak_rss_mb']:.1f} MB; report {json.dumps(r)}")
        for name in ("baseline", "during_gc"):
            w = ld[name]
            log(f"  load {name}: GET {w['get']['per_s']:.0f}/s p50 {w['get']['p50_ms']} ms p99 "
                f"{w['get']['p99_ms']} ms max {w['get']['max_ms']} ms err {w['get']['errors']}; push "
                f"{w['push']['per_s']:.1f}/s p50 {w['push']['p50_ms']} ms p99 {w['push']['p99_ms']} ms "
                f"err {w['push']['errors']}; cpu {w['cpu']}")
        for e in ld["errors"]:
            log(f"    !! load error at +{e['t']} s ({e['kind']}): {e['error']}")

    # -- checks
    def verify(self, srv, pushed: list[Pushed], failed_blobs: set[str], report: dict) -> dict:
        """Every surviving image pulls completely with the right digests; the blob folder
        and the blob rows hold exactly the blobs those images reference (plus blobs of load
        pushes that failed, which are unreferenced but newer than the collection)."""
        problems: list[str] = []
        referenced = {d: n for p in pushed for d, n in p.blobs.items()}
        problems += pull_all(srv, pushed)
        on_disk = stored_blobs(srv.data_dir)
        rows = blob_rows(srv.data_dir)
        missing = referenced.keys() - on_disk
        extra = on_disk - referenced.keys() - failed_blobs
        if missing:
            problems.append(f"{len(missing)} referenced blobs are not on disk, e.g. {sorted(missing)[:3]}")
        if extra:
            problems.append(f"{len(extra)} unreferenced blobs are still on disk, e.g. {sorted(extra)[:3]}")
        if rows != on_disk:
            problems.append(f"blob rows and files differ: {len(rows - on_disk)} rows without a file, "
                            f"{len(on_disk - rows)} files without a row")
        trash = list((srv.data_dir / "trash").glob("*")) if (srv.data_dir / "trash").exists() else []
        if trash:
            problems.append(f"{len(trash)} files left in the trash folder")
        if report["blobs_deleted"] < self.args.blobs:
            problems.append(f"gc deleted {report['blobs_deleted']} blobs, fewer than the "
                            f"{self.args.blobs} unreferenced ones")
        out = {"images_pulled": len(pushed), "blobs_on_disk": len(on_disk), "blob_rows": len(rows),
               "referenced_blobs": len(referenced), "failed_push_blobs": len(failed_blobs),
               "problems": problems, "ok": not problems}
        log(f"  verify: {len(pushed)} images pulled and checked; {len(on_disk)} blob files, "
            f"{len(rows)} blob rows, {len(referenced)} referenced blobs: "
            f"{'OK' if not problems else 'FAILED: ' + '; '.join(problems)}")
        return out


def pull_all(srv: bench.Server, pushed: list[Pushed]) -> list[str]:
    """Pulls each image by digest (and by tag) and checks every digest; the problems."""
    problems = []
    c = Conn("127.0.0.1", srv.port, headers=srv.auth)
    try:
        for p in pushed:
            for ref in (p.digest, p.tag):
                st, _, body = c.request("GET", f"/v2/{p.repo}/manifests/{ref}", headers={"Accept": OCI_MANIFEST})
                if st != 200 or sha256(body) != p.digest:
                    problems.append(f"manifest {p.repo}:{ref}: HTTP {st}, digest {sha256(body)[:19]}")
            for d in p.blobs:
                st, _, body = c.request("GET", f"/v2/{p.repo}/blobs/{d}")
                if st != 200 or sha256(body) != d:
                    problems.append(f"blob {d} of {p.repo}:{p.tag}: HTTP {st}")
    finally:
        c.close()
    return problems[:20]


def stored_blobs(data_dir: Path) -> set[str]:
    """Digests of the blob files (<data-dir>/blobs/<alg>/<2 hex>/<hex>): the ground truth."""
    root = data_dir / "blobs"
    return {f"{alg.name}:{f.name}" for alg in root.iterdir() for prefix in alg.iterdir()
            for f in prefix.iterdir()}


def images_left(data_dir: Path, repo: str) -> int:
    """Manifests of a repository, straight from the database (read-only, while a writer
    runs: SQLite's WAL lets a reader in)."""
    db = sqlite3.connect(f"file:{data_dir / 'wharf.db'}?mode=ro", uri=True)
    try:
        return db.execute("SELECT count(*) FROM manifests WHERE repository_id = "
                          "(SELECT id FROM repositories WHERE name = ?)", (repo,)).fetchone()[0]
    finally:
        db.close()


def blob_rows(data_dir: Path) -> set[str]:
    """Digests in the blobs table (read-only; the server may still be running)."""
    db = sqlite3.connect(f"file:{data_dir / 'wharf.db'}?mode=ro", uri=True)
    try:
        return {d for (d,) in db.execute("SELECT digest FROM blobs")}
    finally:
        db.close()


# ------------------------------------------------------------------------------- part 2: reference
def reference_offline_gc(args, workdir: Path, seed: int) -> dict:
    """The same unreferenced blobs (and a few images) pushed to Distribution, which is then
    stopped for `docker-registry garbage-collect`: it has no online collection."""
    srv = bench.Reference(workdir / "reference")  # creates its data dir under that folder
    srv.start()
    log(f"\n== reference offline GC: Distribution on {srv.url} (pid {srv.proc.pid})")
    try:
        c = Conn("127.0.0.1", srv.port)
        keep = [push_image(c, GC_REPO, f"keep-{k}", os.urandom(2048 + k), f"keep-{k}", False)
                for k in range(args.keep_images)]
        c.close()
        setup = upload_many(srv, GARBAGE_REPO, args.blobs, args.upload_threads,
                            lambda i: garbage_blob(seed, i, args.blob_min, args.blob_max), single_post=False)
        log(f"  setup: {setup['blobs']} blobs in {setup['seconds']:.1f} s = {setup['blobs_per_s']:.0f} blobs/s")
    finally:
        srv.stop()
    blobs_dir = srv.data_dir / "docker" / "registry" / "v2" / "blobs"
    before = sum(1 for _ in blobs_dir.glob("*/*/*/data"))
    os.sync()
    gc = run_timed([bench.REFERENCE_BIN, "garbage-collect", str(srv.workdir / "reference-config.yml")],
                   srv.workdir / "gc.out", srv.workdir / "gc.err")
    after = sum(1 for _ in blobs_dir.glob("*/*/*/data"))
    # Distribution stores manifests as blobs too: the kept images' blobs and manifests stay.
    want = len({d for p in keep for d in p.blobs}) + len(keep)
    ok = after == want
    log(f"  docker-registry garbage-collect (registry stopped): {gc['seconds']:.2f} s, blobs {before} -> "
        f"{after} (expected {want}: {'OK' if ok else 'MISMATCH'}); CPU {gc['cpu_s']:.2f} s, "
        f"peak RSS {gc['peak_rss_mb']:.1f} MB")
    return {"setup": setup, "gc": gc, "blobs_before": before, "blobs_after": after,
            "blobs_deleted": before - after, "blobs_per_s": (before - after) / gc["seconds"],
            "ok": ok}


# ------------------------------------------------------------------------------- part 3: lifecycle
def lifecycle_policy(keep: int) -> str:
    """Keep the newest `keep` images tagged prod*, and the newest `keep` untagged ones."""
    return json.dumps({"rules": [
        {"rulePriority": 1, "description": "newest prod images",
         "selection": {"tagStatus": "tagged", "tagPrefixList": ["prod"], "countType": "imageCountMoreThan",
                       "countNumber": keep}, "action": {"type": "expire"}},
        {"rulePriority": 2, "description": "newest untagged images",
         "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": keep},
         "action": {"type": "expire"}}]})


def ecr_client(srv: bench.Server):
    """boto3 ECR client signed with the administrator key the first start wrote."""
    import boto3
    from botocore.config import Config
    cp = configparser.ConfigParser()
    cp.read(srv.data_dir / "admin-credentials")
    sec = cp[cp.sections()[0]]
    return boto3.session.Session(
        aws_access_key_id=sec["aws_access_key_id"], aws_secret_access_key=sec["aws_secret_access_key"],
        region_name="us-east-1").client(
        "ecr", endpoint_url=srv.url,
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=600))


class LifecycleBench:
    def __init__(self, args, workdir: Path):
        self.args = args
        self.workdir = workdir / "lifecycle"
        self.res: dict = {}

    def run(self) -> dict:
        a = self.args
        # The background pass would apply a stored policy within 5 s, so the preview runs
        # on the policy text alone, and the policy is stored only right before `wharf
        # lifecycle run` (a background run in between is detected in the server log).
        srv = BenchWharf(self.workdir, a.wharf_bin, [LC_REPO], ["--lifecycle-interval-secs", "86400"])
        srv.prepare()
        srv.start()
        log(f"\n== lifecycle: wharf on {srv.url} (pid {srv.proc.pid})")
        try:
            self.create_images(srv)
            ecr = ecr_client(srv)
            os.sync()
            if a.wait_quiet > 0:
                bench.wait_quiet(a.wait_quiet)
            self.preview(srv, ecr)
            if a.wait_quiet > 0:
                bench.wait_quiet(a.wait_quiet)
            self.execute(srv, ecr)
            self.check(srv, ecr)
        finally:
            srv.stop()
        return self.res

    def create_images(self, srv) -> None:
        """--images manifests sharing one config and one layer, each made unique by an
        annotation; every other one tagged prod-N, the rest pushed by digest only."""
        a = self.args
        layer = os.urandom(1024)
        config, _ = image_parts(layer, "lifecycle")
        c = Conn("127.0.0.1", srv.port, headers=srv.auth)
        for blob in (layer, config):
            upload_blob(c, LC_REPO, blob, sha256(blob), True)
        c.close()
        base = json.loads(image_parts(layer, "lifecycle")[1])
        counter = itertools.count()
        errors: list[str] = []

        def worker():
            c = Conn("127.0.0.1", srv.port, timeout=60, headers=srv.auth)
            try:
                while (i := next(counter)) < a.images and not errors:
                    body = canonical({**base, "annotations": {"bench.index": str(i)}})
                    put_manifest(c, LC_REPO, f"prod-{i}" if i % 2 == 0 else sha256(body), body)
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))
            finally:
                c.close()

        log(f"  pushing {a.images} image manifests on {a.upload_threads} connections …")
        t = time.perf_counter()
        run_threads(worker, a.upload_threads)
        dt = time.perf_counter() - t
        if errors:
            raise HTTPError(f"manifest pushes failed: {errors[0]}")
        self.res["setup"] = {"images": a.images, "seconds": round(dt, 2), "images_per_s": round(a.images / dt, 1),
                             "server_rss_mb": srv.rss_mb()}
        log(f"  setup: {a.images} images in {dt:.1f} s = {a.images / dt:.0f} images/s")

    def preview(self, srv, ecr) -> None:
        a = self.args
        text = lifecycle_policy(a.lifecycle_keep)
        rss0, meter = srv.rss_mb(), Meter(srv)
        t = time.perf_counter()
        ecr.start_lifecycle_policy_preview(repositoryName=LC_REPO, lifecyclePolicyText=text)
        polls = 0
        while True:
            out = ecr.get_lifecycle_policy_preview(repositoryName=LC_REPO, maxResults=1)
            polls += 1
            if out["status"] != "IN_PROGRESS":
                break
            time.sleep(0.05)
        dt = time.perf_counter() - t
        cpu = meter.read()
        if out["status"] != "COMPLETE":
            raise RuntimeError(f"preview ended {out['status']}")
        expiring = out["summary"]["expiringImageTotalCount"]
        rss1 = srv.rss_mb()
        # Reading the whole preview the way the console or the CLI pages through it.
        t = time.perf_counter()
        pages, results, token = 0, 0, None
        while True:
            kw = {"nextToken": token} if token else {}
            page = ecr.get_lifecycle_policy_preview(repositoryName=LC_REPO, maxResults=100, **kw)
            pages += 1
            results += len(page["previewResults"])
            token = page.get("nextToken")
            if not token or (a.preview_pages and pages >= a.preview_pages):
                break
        paging = time.perf_counter() - t
        self.res["preview"] = {"seconds": round(dt, 3), "polls": polls, "expiring": expiring,
                               "cpu": cpu, "server_rss_mb_before": rss0, "server_rss_mb_after": rss1,
                               "server_rss_mb_after_paging": srv.rss_mb(),
                               "server_peak_rss_mb": srv.peak_rss_mb(),
                               "paging": {"pages": pages, "results": results, "seconds": round(paging, 2),
                                          "ms_per_page": round(paging / pages * 1e3, 2),
                                          "complete": token is None}}
        log(f"  preview: COMPLETE after {dt:.2f} s ({polls} polls), {expiring} images expiring; server "
            f"RSS {rss0:.0f} -> {rss1:.0f} MB; paging {results} results in {pages} pages of 100: "
            f"{paging:.1f} s ({paging / pages * 1e3:.1f} ms/page), RSS then {srv.rss_mb():.0f} MB")

    def execute(self, srv, ecr) -> None:
        a = self.args
        log_size = srv.log_path.stat().st_size
        ecr.put_lifecycle_policy(repositoryName=LC_REPO, lifecyclePolicyText=lifecycle_policy(a.lifecycle_keep))
        rss0, meter = srv.rss_mb(), Meter(srv)

        def progress(elapsed: float) -> tuple[float, int]:
            left = images_left(srv.data_dir, LC_REPO)
            if int(elapsed) % 60 < 10:
                log(f"    +{elapsed:.0f} s: {a.images - left} images expired")
            return round(elapsed, 1), a.images - left

        r = run_timed(profiled(a, "lifecycle-run", srv.cli("lifecycle", "run", LC_REPO, "--json")),
                      self.workdir / "lifecycle-run.json", self.workdir / "lifecycle-run.err",
                      limit=a.lifecycle_limit, sample=progress)
        cpu = meter.read()
        expired = a.images - images_left(srv.data_dir, LC_REPO)
        actions = [] if r["timed_out"] else json.loads((self.workdir / "lifecycle-run.json").read_text())
        with open(srv.log_path, "rb") as f:
            f.seek(log_size)
            raced = b"lifecycle policies applied" in f.read()
        self.res["run"] = {**r, "expired": expired, "actions": len(actions), "cpu": cpu,
                           "images_per_s": expired / r["seconds"], "server_rss_mb_before": rss0,
                           "server_rss_mb_after": srv.rss_mb(), "background_run_raced": raced}
        if r["timed_out"]:
            self.extrapolate()
        log(f"  wharf lifecycle run: {r['seconds']:.2f} s, {expired} images expired "
            f"({expired / r['seconds']:.0f}/s); its CPU {r['cpu_s']:.2f} s, peak RSS {r['peak_rss_mb']:.1f} MB"
            + (f"; STOPPED after --lifecycle-limit {a.lifecycle_limit:.0f} s, would take about "
               f"{self.res['run']['extrapolated_s']:.0f} s in all" if r["timed_out"] else "")
            + ("; !! the server's background pass ran the policy too: numbers invalid" if raced else ""))

    def extrapolate(self) -> None:
        """How long the whole run would take, for a run stopped at --lifecycle-limit. Each
        expiry costs about c x (images still in the repository): the referrers lookup scans
        every manifest of the repository (see the README). Fitting c to the last progress
        sample, the whole run takes c x (n0^2 - n1^2) / 2 seconds (n0 images at the start,
        n1 left at the end). An estimate, marked as one."""
        a, run = self.args, self.res["run"]
        n0 = a.images
        t, done = run["samples"][-1] if run["samples"] else (run["seconds"], run["expired"])
        left = n0 - done
        c = 2 * t / (n0 ** 2 - left ** 2) if done else float("nan")
        n1 = n0 - self.expected_expired()
        run["extrapolated_s"] = c * (n0 ** 2 - n1 ** 2) / 2
        run["cost_per_image_per_remaining_image_us"] = c * 1e6

    def expected_expired(self) -> int:
        a = self.args
        tagged, untagged = (a.images + 1) // 2, a.images // 2
        return a.images - min(tagged, a.lifecycle_keep) - min(untagged, a.lifecycle_keep)

    def check(self, srv, ecr) -> None:
        """What is left: exactly the kept images; the newest prod tag pulls, the oldest is gone."""
        a = self.args
        left = 0
        for page in ecr.get_paginator("describe_images").paginate(repositoryName=LC_REPO,
                                                                    PaginationConfig={"PageSize": 1000}):
            left += len(page["imageDetails"])
        tagged = (a.images + 1) // 2
        want = a.images - self.expected_expired()
        problems = []
        if self.res["run"]["timed_out"]:
            want = a.images - self.res["run"]["expired"]  # what it got done before it was stopped
        elif self.res["run"]["expired"] != self.expected_expired():
            problems.append(f"the run expired {self.res['run']['expired']}, expected {self.expected_expired()}")
        if left != want:
            problems.append(f"{left} images left, expected {want}")
        if self.res["preview"]["expiring"] != self.expected_expired():
            problems.append(f"the preview expires {self.res['preview']['expiring']}, "
                            f"expected {self.expected_expired()}")
        if self.res["run"]["background_run_raced"]:
            problems.append("the server's background lifecycle pass ran during the measurement")
        c = Conn("127.0.0.1", srv.port, headers=srv.auth)
        newest = a.images - 1 if (a.images - 1) % 2 == 0 else a.images - 2
        checks = [(f"prod-{newest}", 200)]
        if not self.res["run"]["timed_out"]:  # a stopped run may not have reached prod-0
            checks.append(("prod-0", 404 if tagged > a.lifecycle_keep else 200))
        for tag, status in checks:
            st, _, _ = c.request("GET", f"/v2/{LC_REPO}/manifests/{tag}", headers={"Accept": OCI_MANIFEST})
            if st != status:
                problems.append(f"GET {tag}: HTTP {st}, expected {status}")
        c.close()
        self.res["verify"] = {"images_left": left, "expected_left": want, "problems": problems, "ok": not problems}
        log(f"  verify: {left} images left (expected {want}): {'OK' if not problems else 'FAILED: ' + '; '.join(problems)}")


# ------------------------------------------------------------------------------- table
def fmt(v, spec: str = "{:.2f}") -> str:
    return "-" if v is None else spec.format(v)


def load_table(load: dict) -> str:
    """Client-side latencies of the load without GC and during GC."""
    b, g = load["baseline"], load["during_gc"]
    rows = []

    def row(name, unit, path, spec="{:.2f}"):
        def get(w):
            return bench.get(w, *path)
        x, y = get(b), get(g)
        ratio = f"{y / x:.2f}x" if (x and y is not None) else "-"
        rows.append([name, unit, fmt(x, spec), fmt(y, spec), ratio])

    row("manifest GET rate", "req/s", ("get", "per_s"), "{:.0f}")
    for p in ("p50", "p99", "max"):
        row(f"manifest GET {p}", "ms", ("get", f"{p}_ms"))
    row("image push rate (2 blobs + manifest)", "images/s", ("push", "per_s"), "{:.1f}")
    for p in ("p50", "p99", "max"):
        row(f"image push {p}", "ms", ("push", f"{p}_ms"))
    row("manifest PUT alone p99", "ms", ("manifest_put", "p99_ms"))
    row("failed GETs", "count", ("get", "errors"), "{:.0f}")
    row("failed pushes", "count", ("push", "errors"), "{:.0f}")
    row("server CPU", "cores", ("cpu", "server_cores"))
    row("`wharf gc` process CPU", "cores", ("cpu", "children_cores"))
    row("load generator CPU (Python)", "cores", ("cpu", "loadgen_cores"))
    row("other CPU on the machine", "cores", ("cpu", "other_cores"))
    return bench.markdown_table(["load", "unit", "without GC", "during GC", "during/without"], rows, {2, 3, 4})


def summary_table(res: dict) -> str:
    rows = []
    gc, ref, lc = res.get("gc"), res.get("reference"), res.get("lifecycle")
    if gc and "gc" in gc:
        s, g, r = gc["setup"], gc["gc"], gc["gc"]["report"]
        rows += [
            ["setup: upload unreferenced blobs", f"{s['blobs']} blobs, {s['bytes'] / 1e6:.0f} MB",
             f"{s['seconds']:.1f} s", f"{s['blobs_per_s']:.0f} blobs/s"],
            ["`wharf gc` under load: wall time", "s", f"{g['seconds']:.2f}", "mark + sweep in one run (grace 0)"],
            ["  blobs / bytes reclaimed", "blobs, MB", f"{r['blobs_deleted']}", f"{r['bytes_deleted'] / 1e6:.1f} MB"],
            ["  reclaim rate", "blobs/s", f"{g['blobs_per_s']:.0f}", ""],
            ["  `wharf gc` CPU, peak RSS", "s, MB", f"{g['cpu_s']:.2f}", f"{g['peak_rss_mb']:.1f} MB"],
            ["  server CPU during GC (with the load)", "cores",
             fmt(gc["load"]["during_gc"]["cpu"]["server_cores"]),
             f"without GC {fmt(gc['load']['baseline']['cpu']['server_cores'])}"],
            ["  server RSS before / after GC", "MB", f"{g['server_rss_mb_before']:.1f}",
             f"{g['server_rss_mb_after']:.1f} MB"],
            ["  verification", "", "OK" if gc["verify"]["ok"] else "FAILED",
             f"{gc['verify']['images_pulled']} images pulled, {gc['verify']['blobs_on_disk']} blobs left"],
        ]
    if ref:
        rows += [
            ["reference: setup upload", f"{ref['setup']['blobs']} blobs", f"{ref['setup']['seconds']:.1f} s",
             f"{ref['setup']['blobs_per_s']:.0f} blobs/s"],
            ["reference: offline `garbage-collect` (registry stopped)", "s", f"{ref['gc']['seconds']:.2f}",
             f"{ref['blobs_deleted']} blobs, {ref['blobs_per_s']:.0f} blobs/s, peak RSS "
             f"{ref['gc']['peak_rss_mb']:.0f} MB" + ("" if ref["ok"] else " (MISMATCH)")],
        ]
    if lc and "run" in lc:
        s, p, r = lc["setup"], lc["preview"], lc["run"]
        rows += [
            ["lifecycle setup: manifest PUTs", f"{s['images']} images", f"{s['seconds']:.1f} s",
             f"{s['images_per_s']:.0f} images/s"],
            ["preview: Start -> COMPLETE", "s", f"{p['seconds']:.2f}", f"{p['expiring']} images expiring"],
            ["  server RSS before / after preview", "MB", f"{p['server_rss_mb_before']:.1f}",
             f"{p['server_rss_mb_after']:.1f} MB (peak {p['server_peak_rss_mb']:.1f})"],
            ["  paging the results (100 per page)", "s", f"{p['paging']['seconds']:.1f}",
             f"{p['paging']['pages']} pages, {p['paging']['ms_per_page']:.1f} ms/page"
             + ("" if p["paging"]["complete"] else " (stopped early)")],
            ["`wharf lifecycle run`: wall time", "s", f"{r['seconds']:.2f}",
             f"{r['expired']} images expired, {r['images_per_s']:.0f}/s"
             + (" (STOPPED at --lifecycle-limit)" if r["timed_out"] else "")],
            *([["  whole run, extrapolated", "s", f"{r['extrapolated_s']:.0f}",
                f"{r['extrapolated_s'] / 3600:.1f} h for {p['expiring']} images (estimate, see README)"]]
              if r["timed_out"] else []),
            ["  its CPU, peak RSS", "s, MB", f"{r['cpu_s']:.2f}", f"{r['peak_rss_mb']:.1f} MB"],
            ["  verification", "", "OK" if lc["verify"]["ok"] else "FAILED",
             f"{lc['verify']['images_left']} images left"],
        ]
    return bench.markdown_table(["metric", "unit", "value", "detail"], rows, {2})


# ------------------------------------------------------------------------------- main
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", action="append", default=[], help=f"parts to run: {', '.join(PARTS)}")
    p.add_argument("--json", metavar="FILE", help="write all results as JSON")
    p.add_argument("--wharf-bin", default=os.environ.get("WHARF_BIN")
                   or str(bench.REPO_ROOT / "target" / "release" / "wharf"))
    p.add_argument("--blobs", type=int, default=100_000, help="unreferenced blobs to collect (default 100000)")
    p.add_argument("--blob-min", type=int, default=256, help="smallest blob, bytes (default 256)")
    p.add_argument("--blob-max", type=int, default=4096, help="largest blob, bytes (default 4096)")
    p.add_argument("--keep-images", type=int, default=5, help="images that must survive the GC (default 5)")
    p.add_argument("--upload-threads", type=int, default=16, help="connections for the setup pushes")
    p.add_argument("--get-rate", type=float, default=1000, help="manifest GETs per second in total (default 1000)")
    p.add_argument("--get-conns", type=int, default=8, help="connections for the GETs (default 8)")
    p.add_argument("--push-rate", type=float, default=5, help="small image pushes per second (default 5)")
    p.add_argument("--warmup", type=float, default=3, help="seconds of load before the baseline window")
    p.add_argument("--window", type=float, default=20, help="seconds of the baseline window (default 20)")
    p.add_argument("--tail", type=float, default=1, help="seconds of load after the collection")
    p.add_argument("--images", type=int, default=100_000, help="images in the lifecycle repository (default 100000)")
    p.add_argument("--lifecycle-keep", type=int, default=1000,
                   help="the policy keeps this many prod-tagged and this many untagged images (default 1000)")
    p.add_argument("--lifecycle-limit", type=float, default=1800, metavar="S",
                   help="stop `wharf lifecycle run` after S seconds and extrapolate (default 1800; 0: no limit)")
    p.add_argument("--preview-pages", type=int, default=0,
                   help="stop paging the preview's results after this many pages (default 0: all)")
    p.add_argument("--perf", metavar="DIR",
                   help="record `wharf gc` and `wharf lifecycle run` with perf into DIR (diagnosis only)")
    p.add_argument("--wait-quiet", type=float, default=300, metavar="S",
                   help="before each measurement wait up to S seconds for the machine to be idle (0: don't)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (data dirs, logs)")
    p.add_argument("--tmp", default="/tmp", help="parent of the temp dir (default /tmp)")
    a = p.parse_args(argv)
    only = [x.strip() for o in a.only for x in o.split(",") if x.strip()]
    bad = [x for x in only if x not in PARTS]
    if bad:
        p.error(f"unknown part(s) {bad}; choose from {PARTS}")
    a.parts = [x for x in PARTS if not only or x in only]
    return a


def main(argv=None) -> int:
    args = parse_args(argv)
    if not os.access(args.wharf_bin, os.X_OK):
        sys.exit(f"wharf binary not found: {args.wharf_bin} (cargo build --release -p wharf)")
    if "reference" in args.parts and not os.access(bench.REFERENCE_BIN, os.X_OK):
        log(f"{bench.REFERENCE_BIN} not found (apt-get install docker-registry): skipping the reference")
        args.parts.remove("reference")
    workdir = Path(tempfile.mkdtemp(prefix="wharf-gcbench-", dir=args.tmp))

    def cleanup(*_):
        bench._kill_live()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    def on_signal(signum, _frame):
        cleanup()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    meta = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "host": platform.node(), "cpus": os.cpu_count(),
            "kernel": platform.release(), "wharf_bin": args.wharf_bin,
            "wharf_version": subprocess.run([args.wharf_bin, "--version"], capture_output=True,
                                            text=True).stdout.strip(),
            "args": {k: v for k, v in vars(args).items() if k not in ("json",)}, "workdir": str(workdir)}
    log(f"wharf GC/lifecycle benchmark: {meta['when']}, {meta['cpus']} CPUs, parts {', '.join(args.parts)}; "
        f"{meta['wharf_version']}; temp dir {workdir}")
    res: dict = {}
    failed: list[str] = []
    try:
        gcb = GcBench(args, workdir)
        for part, fn in (("gc", gcb.run),
                         ("reference", lambda: reference_offline_gc(args, workdir, gcb.seed)),
                         ("lifecycle", lambda: LifecycleBench(args, workdir).run())):
            if part in args.parts:
                try:
                    res[part] = fn()
                except Exception as e:  # noqa: BLE001
                    failed.append(f"{part}: {e!r}")
                    log(f"  !! {part} failed: {e!r}")
    finally:
        cleanup()
    if "load" in res.get("gc", {}):
        log("\n" + load_table(res["gc"]["load"]))
    log("\n" + summary_table(res))
    for part in ("gc", "lifecycle"):
        v = res.get(part, {}).get("verify")
        if v and not v["ok"]:
            failed.append(f"{part} verification: " + "; ".join(v["problems"]))
    if res.get("reference") and not res["reference"]["ok"]:
        failed.append("reference: garbage-collect left an unexpected number of blobs")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "results": res, "failures": failed}, f, indent=2)
        log(f"wrote {args.json}")
    for f in failed:
        log(f"FAILED {f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
