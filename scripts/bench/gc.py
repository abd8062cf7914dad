#!/usr/bin/env python3
"""Garbage collection and lifecycle evaluation at scale: a hand-run benchmark of wharf.

    python3 scripts/bench/gc.py                         # full size (about 30 minutes)
    python3 scripts/bench/gc.py --blobs 5000 --images 5000 --lifecycle-keep 200   # quick check
    python3 scripts/bench/gc.py --only gc --json out.json

Three parts (--only gc,reference,lifecycle):

gc         `wharf gc` reclaims --blobs unreferenced blobs while a paced load of manifest GETs
           and small image pushes runs: the collection's wall time, CPU and memory, what it
           reclaimed, the load's latencies without GC and during GC, and a check that
           everything referenced survived and nothing else did.
reference  the same blobs pushed to the reference registry (Distribution), which can only
           collect offline: `docker-registry garbage-collect` on the stopped registry, timed.
lifecycle  a repository of --images images: StartLifecyclePolicyPreview until COMPLETE,
           paging through the preview's results, and `wharf lifecycle run`: times and memory.

See scripts/bench/README.md ("Garbage collection and lifecycle") for how to read the output.
It reuses run.py's HTTP client, server wrappers and machine-load helpers, and run.py's
load generator httpload.c (compiled with `cc`).
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
GC_REPO = "bench/gc"            # the images that must survive, and the ones the load pushes
GARBAGE_REPO = "bench/garbage"  # the unreferenced blobs (uploaded, never named by a manifest)
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


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1e3, 3)


# ------------------------------------------------------------------------------- processes
class BenchWharf(bench.Wharf):
    """wharf with its own repositories and extra global flags. The CLI commands get the
    flags too (`wharf gc` is a process of its own and reads the grace period from them)."""

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


def run_timed(cmd: list[str], stdout: Path, stderr: Path, limit: float = 0, progress=None,
              every: float = 5) -> dict:
    """Runs a command to its end: wall seconds, CPU seconds and peak RSS of that one child
    (wait4, so no other child counts). Raises if it fails. With `limit` > 0 it is stopped
    (SIGTERM) after that many seconds and `stopped` is set. progress(elapsed) is called
    every `every` seconds while it runs, and once when it is stopped; what it returns is
    collected in `progress`."""
    samples = []
    stopped = False
    with open(stdout, "wb") as out, open(stderr, "wb") as err:
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True)
        bench._LIVE.add(p)  # killed if the benchmark is interrupted
        next_sample = t0 + every
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            now = time.monotonic()
            sampled = bool(progress) and now >= next_sample
            if sampled:
                samples.append(progress(now - t0))
                next_sample += every
            if limit and not stopped and now - t0 >= limit:
                if progress and not sampled:
                    samples.append(progress(now - t0))
                os.killpg(p.pid, signal.SIGTERM)  # its own session: the command (and perf)
                stopped = True
            time.sleep(0.005)
        wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4: tell Popen
    bench._LIVE.discard(p)
    if p.returncode != 0 and not stopped:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}:\n{stderr.read_text(errors='replace')[-3000:]}")
    return {"seconds": round(wall, 3), "cpu_s": round(ru.ru_utime + ru.ru_stime, 3),
            "peak_rss_mb": round(ru.ru_maxrss / 1024, 1), "stopped": stopped, "progress": samples}


class CpuMeter:
    """Who used the 2 cores over a window, in cores (CPU seconds per wall second): named
    live processes (the server, the GET load generator), this Python process (the push
    load, boto3), and `other`, everything else on the machine (a concurrent build shows up
    there). A process that ran and ended inside the window (`wharf gc`) is passed to read()
    with its CPU seconds from wait4."""

    def __init__(self, pids: dict[str, int]):
        self.pids = pids
        self.t0 = time.monotonic()
        self.start = self._sample()

    def _sample(self) -> dict[str, float]:
        out = {name: bench.proc_cpu_seconds(pid) for name, pid in self.pids.items()}
        ru = resource.getrusage(resource.RUSAGE_SELF)
        out["python"] = ru.ru_utime + ru.ru_stime
        out["machine"] = bench.busy_seconds()
        return out

    def read(self, ended: dict[str, float] | None = None) -> dict:
        wall = time.monotonic() - self.t0
        now = self._sample()
        used = {k: now[k] - self.start[k] for k in now}
        used.update(ended or {})
        machine = used.pop("machine")
        out = {"wall_s": round(wall, 3)}
        out.update({f"{k}_cores": round(v / wall, 3) for k, v in used.items()})
        out["other_cores"] = round(max(0.0, machine - sum(used.values())) / wall, 3)
        return out


def quiet_machine(args) -> None:
    """Flush the page cache's dirty pages (one step's writeback must not land in the next)
    and wait for other work on the machine to stop, up to --wait-quiet seconds."""
    os.sync()
    if args.wait_quiet > 0:
        bench.wait_quiet(args.wait_quiet)


# ------------------------------------------------------------------------------- pushing
class Image:
    """A one-layer image: its layer, config and manifest bytes and the tag it goes under.
    `label` goes into the config, so equal layers still make distinct images."""

    def __init__(self, repo: str, tag: str, layer: bytes, label: str):
        self.repo, self.tag, self.layer = repo, tag, layer
        self.config = canonical({"architecture": "amd64", "os": "linux", "config": {"Labels": {"bench": label}},
                                 "rootfs": {"type": "layers", "diff_ids": [sha256(layer)]}})
        self.manifest = canonical({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": sha256(self.config), "size": len(self.config)},
            "layers": [{"mediaType": OCI_LAYER, "digest": sha256(layer), "size": len(layer)}]})
        self.digest = sha256(self.manifest)
        self.blobs = {sha256(b): len(b) for b in (layer, self.config)}


def upload_blob(c: Conn, repo: str, data: bytes, single_post: bool) -> None:
    """A monolithic upload: one `POST ?digest=` with the body (wharf), or POST then
    `PUT ?digest=` (the reference, Distribution 2.8, has no single-POST upload)."""
    digest = sha256(data)
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


def put_manifest(c: Conn, repo: str, ref: str, manifest: bytes) -> None:
    st, _, b = c.request("PUT", f"/v2/{repo}/manifests/{ref}", body=manifest, headers={"Content-Type": OCI_MANIFEST})
    expect(st, 201, f"PUT manifest {repo}:{ref}", b)


def push_image(c: Conn, img: Image, single_post: bool) -> float:
    """Layer, config, then the manifest under its tag, the way a client that skips the HEAD
    checks pushes. Returns the manifest PUT's own seconds."""
    for blob in (img.layer, img.config):
        upload_blob(c, img.repo, blob, single_post)
    t = time.monotonic()
    put_manifest(c, img.repo, img.tag, img.manifest)
    return time.monotonic() - t


def push_keep_images(srv: bench.Server, count: int, single_post: bool) -> list[Image]:
    """`count` small images tagged keep-N, which the collection must leave alone."""
    keep = [Image(GC_REPO, f"keep-{k}", os.urandom(2048 + k), f"keep-{k}") for k in range(count)]
    c = Conn("127.0.0.1", srv.port, headers=srv.auth)
    try:
        for img in keep:
            push_image(c, img, single_post)
    finally:
        c.close()
    return keep


def garbage_blob(seed: int, i: int, lo: int, hi: int) -> bytes:
    """Blob i of a run: random bytes of a random size in [lo, hi], the same for the same seed,
    so the reference gets exactly the blobs wharf got without keeping 100,000 in memory."""
    r = random.Random(seed * 1_000_003 + i)
    return r.randbytes(r.randint(lo, hi))


def on_connections(srv: bench.Server, count: int, threads: int, send) -> float:
    """Calls send(conn, i) for i = 0 .. count-1 on `threads` keep-alive connections, each on
    its own thread; stops at the first failure and raises it. Returns the wall seconds."""
    counter = itertools.count()  # next() on it is atomic under the GIL
    errors: list[str] = []

    def worker():
        c = Conn("127.0.0.1", srv.port, timeout=60, headers=srv.auth)
        try:
            while not errors and (i := next(counter)) < count:
                send(c, i)
        except Exception as e:  # noqa: BLE001  (raised below)
            errors.append(repr(e))
        finally:
            c.close()

    t = time.monotonic()
    ths = [threading.Thread(target=worker) for _ in range(threads)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    if errors:
        raise HTTPError(f"{len(errors)} connections failed, first: {errors[0]}")
    return time.monotonic() - t


def upload_many(srv: bench.Server, repo: str, count: int, threads: int, make, single_post: bool) -> dict:
    """Uploads the blobs make(0) .. make(count-1) on `threads` keep-alive connections."""
    sizes = [0] * count

    def send(c: Conn, i: int) -> None:
        data = make(i)
        upload_blob(c, repo, data, single_post)
        sizes[i] = len(data)

    dt = on_connections(srv, count, threads, send)
    return {"blobs": count, "bytes": sum(sizes), "seconds": round(dt, 2), "blobs_per_s": round(count / dt, 1)}


# ------------------------------------------------------------------------------- load
def window_stats(rows: list[tuple[float, float, bool]], t0: float, t1: float) -> dict:
    """Count, failures, rate and latencies of the requests (due, latency s, ok) due in [t0, t1)."""
    inside = [(lat, ok) for due, lat, ok in rows if t0 <= due < t1]
    lat = sorted(x for x, ok in inside if ok)
    return {"count": len(lat), "errors": len(inside) - len(lat), "per_s": round(len(lat) / (t1 - t0), 1),
            "p50_ms": ms(pct(lat, 50)), "p99_ms": ms(pct(lat, 99)), "max_ms": ms(lat[-1] if lat else None)}


class Load:
    """The load that runs beside the collection.

    Manifest GETs of one tag at `get_rate` req/s in all on `get_conns` keep-alive connections,
    from httpload.c in its paced mode: a compiled generator, because a Python one starves for
    CPU next to a busy server on 2 cores and then measures its own delays. And one Python
    thread that pushes a small image (two blobs and a tagged manifest) `push_rate` times a
    second: a few requests a second, cheap to send from Python.

    Both are open-loop: every request has a due time on a fixed schedule and its latency
    counts from that due time, not from when it was sent, so a server stall counts for every
    request it held back (as wrk2 does), instead of merely slowing the schedule down.
    Timestamps are CLOCK_MONOTONIC seconds (time.monotonic()), the clock httpload uses."""

    def __init__(self, srv: bench.Server, httpload: Path, workdir: Path, get_path: str,
                 get_rate: float, get_conns: int, push_rate: float):
        self.srv, self.httpload, self.get_path = srv, httpload, get_path
        self.get_rate, self.get_conns, self.push_rate = get_rate, get_conns, push_rate
        self.samples_path = workdir / "get-samples.txt"
        self.getter: subprocess.Popen | None = None
        self.pusher = threading.Thread(target=self._push_loop)
        self.stop_evt = threading.Event()
        # (due, latency, client lag, ok): client lag is how late httpload sent the request
        self.gets: list[tuple[float, float, float, bool]] = []
        # (due, latency of the whole push, its manifest PUT's latency or None, ok)
        self.pushes: list[tuple[float, float, float | None, bool]] = []
        self.push_errors: list[tuple[float, str]] = []
        self.pushed: list[Image] = []        # must survive the collection
        self.failed_blobs: set[str] = set()  # blobs of pushes that failed: may or may not survive

    def start(self) -> None:
        headers = [f"Accept: {OCI_MANIFEST}"] + [f"{k}: {v}" for k, v in self.srv.auth.items()]
        cmd = [str(self.httpload), "-r", str(self.get_rate), "-o", str(self.samples_path),
               "GET", "127.0.0.1", str(self.srv.port), self.get_path, str(self.get_conns), "1", "0", *headers]
        self.getter = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                       start_new_session=True)
        bench._LIVE.add(self.getter)
        if self.push_rate > 0:
            self.pusher.start()

    def stop(self) -> None:
        """Stops both generators and collects httpload's samples."""
        self.stop_evt.set()
        if self.pusher.is_alive():
            self.pusher.join()
        self.getter.send_signal(signal.SIGTERM)  # httpload stops and writes its samples
        out, err = self.getter.communicate(timeout=120)
        bench._LIVE.discard(self.getter)
        if self.getter.returncode != 0:
            raise RuntimeError(f"httpload exited {self.getter.returncode}: {err}{out}")
        for line in self.samples_path.read_text().splitlines():
            due, sent, done, status = (int(x) for x in line.split())
            self.gets.append((due / 1e9, (done - due) / 1e9, (sent - due) / 1e9, status == 200))

    def _push_loop(self) -> None:
        c = Conn("127.0.0.1", self.srv.port, timeout=30, headers=self.srv.auth)
        due = time.monotonic()
        try:
            for n in itertools.count():
                if self.stop_evt.wait(max(0.0, due - time.monotonic())):
                    return
                self._push(c, n, due)
                due += 1 / self.push_rate
        finally:
            c.close()

    def _push(self, c: Conn, n: int, due: float) -> None:
        img = Image(GC_REPO, f"load-{n}", os.urandom(random.randint(1024, 4096)), f"load-{n}")
        try:
            put_s = push_image(c, img, single_post=True)
        except Exception as e:  # noqa: BLE001  (counted; the next push starts on a new connection)
            self.pushes.append((due, time.monotonic() - due, None, False))
            self.push_errors.append((due, repr(e)[:300]))
            self.failed_blobs |= img.blobs.keys()
            c.close()
            return
        self.pushes.append((due, time.monotonic() - due, put_s, True))
        self.pushed.append(img)

    def window(self, t0: float, t1: float) -> dict:
        """Latencies and rates of the requests due in [t0, t1). For the GETs also how late
        httpload sent them (client lag), and their latency counted from the send instead of
        the due time: what is left of the tail when the client's own delays are taken out."""
        gets = [(lat, lag, ok) for due, lat, lag, ok in self.gets if t0 <= due < t1]
        lags = sorted(lag for _, lag, _ in gets)
        from_send = sorted(lat - lag for lat, lag, ok in gets if ok)
        return {"window": [round(t0, 3), round(t1, 3)],
                "get": {**window_stats([(d, lat, ok) for d, lat, _, ok in self.gets], t0, t1),
                        "client_lag_p99_ms": ms(pct(lags, 99)), "from_send_p99_ms": ms(pct(from_send, 99))},
                "push": window_stats([(d, lat, ok) for d, lat, _, ok in self.pushes], t0, t1),
                "manifest_put": window_stats([(d, put, True) for d, _, put, ok in self.pushes if ok], t0, t1)}


# ------------------------------------------------------------------------------- part 1: GC
class GcBench:
    def __init__(self, args, workdir: Path):
        self.args = args
        self.workdir = workdir / "gc"
        self.seed = random.randrange(1 << 30)  # the reference part uploads the same blobs
        self.res: dict = {}  # run() fills the caller's dict

    def garbage(self, i: int) -> bytes:
        return garbage_blob(self.seed, i, self.args.blob_min, self.args.blob_max)

    def run(self, res: dict) -> None:
        """Fills `res` as it goes (a part that fails keeps what it measured)."""
        self.res = res
        # No background collection (it would race `wharf gc`), and grace 0 so that one
        # `wharf gc` both marks the blobs and sweeps them (with a grace period, a blob is
        # swept by a collection at least a grace period after the one that marked it).
        srv = BenchWharf(self.workdir, self.args.wharf_bin, [GC_REPO, GARBAGE_REPO],
                         ["--gc-interval-secs", "0", "--gc-grace-secs", "0"])
        srv.prepare()
        srv.start()
        log(f"\n== GC under load: wharf on {srv.url} (pid {srv.proc.pid})")
        try:
            keep = push_keep_images(srv, self.args.keep_images, single_post=True)
            self.upload_garbage(srv)
            self.measure(srv, keep)
        finally:
            srv.stop()

    def upload_garbage(self, srv) -> None:
        a = self.args
        log(f"  uploading {a.blobs} unreferenced blobs of {a.blob_min}-{a.blob_max} B "
            f"on {a.upload_threads} connections …")
        r = upload_many(srv, GARBAGE_REPO, a.blobs, a.upload_threads, self.garbage, single_post=True)
        self.res["setup"] = r
        log(f"  setup: {r['blobs']} blobs, {r['bytes'] / 1e6:.1f} MB in {r['seconds']:.1f} s "
            f"= {r['blobs_per_s']:.0f} blobs/s")

    def measure(self, srv, keep: list[Image]) -> None:
        """Load alone for --window seconds (after --warmup), then load and `wharf gc`
        together: the load's latencies in each window, and who used the CPU."""
        a = self.args
        quiet_machine(a)
        load = Load(srv, bench.build_httpload(self.workdir), self.workdir, f"/v2/{GC_REPO}/manifests/keep-0",
                    a.get_rate, a.get_conns, a.push_rate)
        load.start()
        try:
            time.sleep(a.warmup)
            pids = {"server": srv.proc.pid, "httpload": load.getter.pid}
            b0, meter = time.monotonic(), CpuMeter(pids)
            time.sleep(a.window)
            b1, base_cpu = time.monotonic(), meter.read()
            rss0 = srv.rss_mb()
            log(f"  baseline: {a.window:.0f} s of load without GC; now `wharf gc --json` …")
            g0, meter = time.monotonic(), CpuMeter(pids)
            gc = run_timed(profiled(a, "gc", srv.cli("gc", "--json")), self.workdir / "gc.json",
                           self.workdir / "gc.err")
            g1, gc_cpu = time.monotonic(), meter.read({"wharf_gc": gc["cpu_s"]})
            time.sleep(a.tail)  # requests due just before the end of the GC get to finish
        finally:
            load.stop()
        report = json.loads((self.workdir / "gc.json").read_text())
        self.res["gc"] = {**gc, "report": report, "blobs_per_s": round(report["blobs_deleted"] / gc["seconds"], 1),
                          "server_rss_mb_before": rss0, "server_rss_mb_after": srv.rss_mb()}
        self.res["load"] = {"settings": {"get_rate": a.get_rate, "get_conns": a.get_conns, "push_rate": a.push_rate},
                            "baseline": {**load.window(b0, b1), "cpu": base_cpu},
                            "during_gc": {**load.window(g0, g1), "cpu": gc_cpu},
                            "push_errors": [{"t": round(t - b0, 3), "error": e} for t, e in load.push_errors[:20]]}
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
            get, push = w["get"], w["push"]
            log(f"  load {name}: GET {get['per_s']:.0f}/s p50 {get['p50_ms']} ms p99 {get['p99_ms']} ms "
                f"max {get['max_ms']} ms failed {get['errors']} (httpload sent late by p99 "
                f"{get['client_lag_p99_ms']} ms; p99 from the send {get['from_send_p99_ms']} ms); "
                f"push {push['per_s']:.1f}/s p50 {push['p50_ms']} ms p99 {push['p99_ms']} ms "
                f"failed {push['errors']}; cores {w['cpu']}")
        for e in ld["push_errors"]:
            log(f"    !! push failed at +{e['t']} s: {e['error']}")

    def verify(self, srv, pushed: list[Image], failed_blobs: set[str], report: dict) -> dict:
        """Every image that must survive pulls completely, with the right digests; the blob
        folder and the blob rows hold exactly the blobs those images reference (plus perhaps
        blobs of load pushes that failed: unreferenced, but maybe uploaded after the
        collection looked)."""
        problems = pull_all(srv, pushed)
        referenced = {d for img in pushed for d in img.blobs}
        on_disk = stored_blobs(srv.data_dir)
        rows = blob_rows(srv.data_dir)
        missing = referenced - on_disk
        extra = on_disk - referenced - failed_blobs
        if missing:
            problems.append(f"{len(missing)} referenced blobs are not on disk, e.g. {sorted(missing)[:3]}")
        if extra:
            problems.append(f"{len(extra)} unreferenced blobs are still on disk, e.g. {sorted(extra)[:3]}")
        if rows != on_disk:
            problems.append(f"blob rows and files differ: {len(rows - on_disk)} rows without a file, "
                            f"{len(on_disk - rows)} files without a row")
        trash = srv.data_dir / "trash"
        left_in_trash = len(list(trash.iterdir())) if trash.exists() else 0
        if left_in_trash:
            problems.append(f"{left_in_trash} files left in the trash folder")
        if report["blobs_deleted"] < self.args.blobs:
            problems.append(f"gc deleted {report['blobs_deleted']} blobs, fewer than the "
                            f"{self.args.blobs} unreferenced ones")
        log(f"  verify: {len(pushed)} images pulled and checked; {len(on_disk)} blob files, "
            f"{len(rows)} blob rows, {len(referenced)} referenced blobs: "
            f"{'OK' if not problems else 'FAILED: ' + '; '.join(problems)}")
        return {"images_pulled": len(pushed), "blobs_on_disk": len(on_disk), "blob_rows": len(rows),
                "referenced_blobs": len(referenced), "failed_push_blobs": len(failed_blobs),
                "problems": problems, "ok": not problems}


def pull_all(srv: bench.Server, images: list[Image]) -> list[str]:
    """Pulls each image by digest and by tag, and its blobs, checking every digest; the
    problems found (at most 20)."""
    problems = []
    c = Conn("127.0.0.1", srv.port, headers=srv.auth)
    try:
        for img in images:
            for ref in (img.digest, img.tag):
                st, _, body = c.request("GET", f"/v2/{img.repo}/manifests/{ref}", headers={"Accept": OCI_MANIFEST})
                if st != 200 or sha256(body) != img.digest:
                    problems.append(f"manifest {img.repo}:{ref}: HTTP {st}, digest {sha256(body)[:19]}")
            for d in img.blobs:
                st, _, body = c.request("GET", f"/v2/{img.repo}/blobs/{d}")
                if st != 200 or sha256(body) != d:
                    problems.append(f"blob {d} of {img.repo}:{img.tag}: HTTP {st}")
    finally:
        c.close()
    return problems[:20]


def stored_blobs(data_dir: Path) -> set[str]:
    """Digests of the blob files (<data-dir>/blobs/<alg>/<2 hex>/<hex>): the ground truth."""
    root = data_dir / "blobs"
    return {f"{alg.name}:{f.name}" for alg in root.iterdir() for prefix in alg.iterdir() for f in prefix.iterdir()}


def query_db(data_dir: Path, sql: str, *params):
    """Rows of a query on wharf's SQLite database, opened read-only: the server (or a CLI
    run) may be writing meanwhile, and WAL lets a reader in."""
    db = sqlite3.connect(f"file:{data_dir / 'wharf.db'}?mode=ro", uri=True)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def blob_rows(data_dir: Path) -> set[str]:
    return {d for (d,) in query_db(data_dir, "SELECT digest FROM blobs")}


def images_in(data_dir: Path, repo: str) -> int:
    return query_db(data_dir, "SELECT count(*) FROM manifests WHERE repository_id = "
                              "(SELECT id FROM repositories WHERE name = ?)", repo)[0][0]


# ------------------------------------------------------------------------------- part 2: reference
def reference_offline_gc(args, workdir: Path, garbage, res: dict) -> None:
    """The same unreferenced blobs (and a few images) pushed to Distribution, which is then
    stopped for `docker-registry garbage-collect`: it has no online collection. Fills `res`."""
    srv = bench.Reference(workdir / "reference")
    srv.start()
    log(f"\n== reference offline GC: Distribution on {srv.url} (pid {srv.proc.pid})")
    try:
        keep = push_keep_images(srv, args.keep_images, single_post=False)
        log(f"  uploading the same {args.blobs} unreferenced blobs on {args.ref_upload_threads} connections …")
        setup = res["setup"] = upload_many(srv, GARBAGE_REPO, args.blobs, args.ref_upload_threads, garbage,
                                           single_post=False)
        log(f"  setup: {setup['blobs']} blobs in {setup['seconds']:.1f} s = {setup['blobs_per_s']:.0f} blobs/s")
    finally:
        srv.stop()
    blobs_dir = srv.data_dir / "docker" / "registry" / "v2" / "blobs"
    before = sum(1 for _ in blobs_dir.glob("*/*/*/data"))
    quiet_machine(args)
    meter = CpuMeter({})
    gc = run_timed([bench.REFERENCE_BIN, "garbage-collect", str(srv.workdir / "reference-config.yml")],
                   srv.workdir / "gc.out", srv.workdir / "gc.err")
    gc["cpu"] = meter.read({"garbage_collect": gc["cpu_s"]})
    after = sum(1 for _ in blobs_dir.glob("*/*/*/data"))
    # Distribution stores manifests as blobs too: the kept images' blobs and manifests stay.
    want = len({d for img in keep for d in img.blobs}) + len(keep)
    ok = after == want
    log(f"  docker-registry garbage-collect (registry stopped): {gc['seconds']:.2f} s, blobs {before} -> "
        f"{after} (expected {want}: {'OK' if ok else 'MISMATCH'}); CPU {gc['cpu_s']:.2f} s, "
        f"peak RSS {gc['peak_rss_mb']:.1f} MB; other work on the machine {gc['cpu']['other_cores']:.2f} cores")
    res.update({"gc": gc, "blobs_before": before, "blobs_after": after, "blobs_deleted": before - after,
                "blobs_per_s": round((before - after) / gc["seconds"], 1), "ok": ok})


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
    """boto3 ECR client signed with the administrator key that wharf's first start wrote."""
    import boto3
    from botocore.config import Config
    path = srv.data_dir / "admin-credentials"
    cp = configparser.ConfigParser()
    cp.read(path)
    if not cp.sections():
        raise RuntimeError(f"no administrator key in {path} (wharf writes it on its first start)")
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
        # --images manifests, every other one tagged prod-N, the rest untagged
        self.tagged, self.untagged = (args.images + 1) // 2, args.images // 2
        self.expiring = (self.tagged - min(self.tagged, args.lifecycle_keep)
                         + self.untagged - min(self.untagged, args.lifecycle_keep))

    def run(self, res: dict) -> None:
        """Fills `res` as it goes (a part that fails keeps what it measured)."""
        self.res = res
        a = self.args
        srv = BenchWharf(self.workdir, a.wharf_bin, [LC_REPO], [])
        srv.prepare()
        srv.start()
        log(f"\n== lifecycle: wharf on {srv.url} (pid {srv.proc.pid})")
        try:
            self.create_images(srv)
            ecr = ecr_client(srv)
            quiet_machine(a)
            self.preview(srv, ecr)
            quiet_machine(a)
            self.execute(srv, ecr)
            self.check(srv, ecr)
        finally:
            srv.stop()

    def create_images(self, srv) -> None:
        """--images manifests sharing one config and one layer, each made unique by an
        annotation; the even ones tagged prod-N, the odd ones pushed by digest only."""
        a = self.args
        base = Image(LC_REPO, "", os.urandom(1024), "lifecycle")
        c = Conn("127.0.0.1", srv.port, headers=srv.auth)
        for blob in (base.layer, base.config):
            upload_blob(c, LC_REPO, blob, single_post=True)
        c.close()
        manifest = json.loads(base.manifest)

        def send(c: Conn, i: int) -> None:
            body = canonical({**manifest, "annotations": {"bench.index": str(i)}})
            put_manifest(c, LC_REPO, f"prod-{i}" if i % 2 == 0 else sha256(body), body)

        log(f"  pushing {a.images} image manifests on {a.upload_threads} connections …")
        dt = on_connections(srv, a.images, a.upload_threads, send)
        self.res["setup"] = {"images": a.images, "seconds": round(dt, 2), "images_per_s": round(a.images / dt, 1),
                             "server_rss_mb": srv.rss_mb()}
        log(f"  setup: {a.images} images in {dt:.1f} s = {a.images / dt:.0f} images/s")

    def preview(self, srv, ecr) -> None:
        """StartLifecyclePolicyPreview with the policy text (not stored: the server's
        background pass would apply a stored one), polled until COMPLETE; then its results
        page by page (100 a page), the way the console or the CLI reads them, for at most
        --preview-pages pages. Every page of one preview costs the same, so the time to read
        them all is ms/page x pages."""
        a = self.args
        rss0, meter = srv.rss_mb(), CpuMeter({"server": srv.proc.pid})
        t = time.monotonic()
        ecr.start_lifecycle_policy_preview(repositoryName=LC_REPO,
                                           lifecyclePolicyText=lifecycle_policy(a.lifecycle_keep))
        polls = 0
        while True:
            out = ecr.get_lifecycle_policy_preview(repositoryName=LC_REPO, maxResults=1)
            polls += 1
            if out["status"] != "IN_PROGRESS":
                break
            time.sleep(0.05)
        dt = time.monotonic() - t
        cpu = meter.read()
        if out["status"] != "COMPLETE":
            raise RuntimeError(f"preview ended {out['status']}")
        expiring = out["summary"]["expiringImageTotalCount"]
        rss1 = srv.rss_mb()
        meter = CpuMeter({"server": srv.proc.pid})
        t = time.monotonic()
        pages, results, token = 0, 0, None
        while True:
            page = ecr.get_lifecycle_policy_preview(repositoryName=LC_REPO, maxResults=100,
                                                    **({"nextToken": token} if token else {}))
            pages += 1
            results += len(page["previewResults"])
            token = page.get("nextToken")
            if not token or (a.preview_pages and pages >= a.preview_pages):
                break
        paging, paging_cpu = time.monotonic() - t, meter.read()
        all_pages = math.ceil(expiring / 100)
        self.res["preview"] = {
            "seconds": round(dt, 3), "polls": polls, "expiring": expiring, "cpu": cpu,
            "server_rss_mb_before": rss0, "server_rss_mb_after": rss1,
            "paging": {"pages": pages, "results": results, "seconds": round(paging, 2),
                       "ms_per_page": round(paging / pages * 1e3, 2), "cpu": paging_cpu,
                       "all_pages": all_pages, "all_pages_s": round(paging / pages * all_pages, 1)},
            "server_rss_mb_after_paging": srv.rss_mb(), "server_peak_rss_mb": srv.peak_rss_mb()}
        log(f"  preview: COMPLETE after {dt:.2f} s ({polls} polls), {expiring} images expiring; server "
            f"RSS {rss0:.0f} -> {rss1:.0f} MB; {results} results in {pages} pages of 100: {paging:.1f} s "
            f"({paging / pages * 1e3:.1f} ms/page, so {paging / pages * all_pages:.0f} s for all {all_pages}), "
            f"server RSS then {srv.rss_mb():.0f} MB")

    def execute(self, srv, ecr) -> None:
        """Stores the policy and runs `wharf lifecycle run` at once. The server's background
        pass (every 5 s) would also apply a policy that was never applied, and may get to it
        first: then the run did not expire all the images itself, and that is reported. A
        run longer than --lifecycle-limit is stopped there, and how long the whole run would
        take is estimated from its progress (estimate_whole_run)."""
        a = self.args
        ecr.put_lifecycle_policy(repositoryName=LC_REPO, lifecyclePolicyText=lifecycle_policy(a.lifecycle_keep))
        rss0, meter = srv.rss_mb(), CpuMeter({"server": srv.proc.pid})

        def progress(elapsed: float) -> tuple[float, int]:
            left = images_in(srv.data_dir, LC_REPO)
            if int(elapsed) % 60 < 5:  # about once a minute
                log(f"    +{elapsed:.0f} s: {a.images - left} images expired")
            return round(elapsed, 2), left

        r = run_timed(profiled(a, "lifecycle-run", srv.cli("lifecycle", "run", LC_REPO, "--json")),
                      self.workdir / "lifecycle-run.json", self.workdir / "lifecycle-run.err",
                      limit=a.lifecycle_limit, progress=progress)
        cpu = meter.read({"wharf_lifecycle": r["cpu_s"]})
        expired = a.images - images_in(srv.data_dir, LC_REPO)
        # A stopped run printed nothing, so what it did is only known from what is gone.
        actions = None if r["stopped"] else len(json.loads((self.workdir / "lifecycle-run.json").read_text()))
        run = self.res["run"] = {**r, "expired": expired, "actions": actions, "cpu": cpu,
                                 "images_per_s": round(expired / r["seconds"], 1), "server_rss_mb_before": rss0,
                                 "server_rss_mb_after": srv.rss_mb()}
        log(f"  wharf lifecycle run: {r['seconds']:.2f} s, {expired} images expired ({expired / r['seconds']:.0f}/s); "
            f"its CPU {r['cpu_s']:.2f} s, peak RSS {r['peak_rss_mb']:.1f} MB")
        if r["stopped"]:
            est = run["estimate"] = estimate_whole_run(r["progress"], a.images, a.images - self.expiring)
            log(f"  !! STOPPED after --lifecycle-limit {a.lifecycle_limit:.0f} s, {self.expiring - expired} images "
                "short" + (f"; the whole run would take about {est['total_s']:.0f} s "
                           f"({est['s_per_image_first'] * 1e3:.1f} ms per image at first, "
                           f"{est['s_per_image_last'] * 1e3:.2f} ms at the end)" if est else ""))

    def check(self, srv, ecr) -> None:
        """What is left: exactly the kept images (or, for a stopped run, all it did not get
        to); the newest prod tag pulls, the oldest is gone."""
        a, run = self.args, self.res["run"]
        left = sum(len(page["imageDetails"]) for page in ecr.get_paginator("describe_images").paginate(
            repositoryName=LC_REPO, PaginationConfig={"PageSize": 1000}))
        want = a.images - (run["expired"] if run["stopped"] else self.expiring)
        problems = []
        if run["actions"] is not None and run["actions"] != run["expired"]:
            problems.append(f"the run expired {run['actions']} of the {run['expired']} images gone "
                            "(the server's background pass ran the policy too: the times are not valid)")
        if left != want:
            problems.append(f"{left} images left, expected {want}")
        if self.res["preview"]["expiring"] != self.expiring:
            problems.append(f"the preview expires {self.res['preview']['expiring']}, expected {self.expiring}")
        newest = a.images - 1 if (a.images - 1) % 2 == 0 else a.images - 2
        checks = [(f"prod-{newest}", 200)]
        if not run["stopped"]:  # a stopped run may not have got to prod-0
            checks.append(("prod-0", 404 if self.tagged > a.lifecycle_keep else 200))
        c = Conn("127.0.0.1", srv.port, headers=srv.auth)
        for tag, status in checks:
            st, _, _ = c.request("GET", f"/v2/{LC_REPO}/manifests/{tag}", headers={"Accept": OCI_MANIFEST})
            if st != status:
                problems.append(f"GET {tag}: HTTP {st}, expected {status}")
        c.close()
        self.res["verify"] = {"images_left": left, "expected_left": want, "problems": problems, "ok": not problems}
        log(f"  verify: {left} images left (expected {want}): "
            f"{'OK' if not problems else 'FAILED: ' + '; '.join(problems)}")


def estimate_whole_run(progress: list[tuple[float, int]], n_start: int, n_end: int) -> dict | None:
    """How long a lifecycle run stopped at --lifecycle-limit would have taken in all, from its
    progress samples (seconds since the start, images left in the repository).

    Each expiry costs time in proportion to the images still in the repository: wharf's
    referrers lookup reads every manifest of the repository (see the README), and at 98,000
    manifests that query alone takes about as long as a whole expiry. So the seconds per expired
    image between samples are fitted as k x (images left), and the images the run did not
    get to are added up: k x (n_stop^2 - n_end^2) / 2. Samples before the first expiry
    (while the policy is evaluated) are left out. An estimate, marked as one."""
    points = [((n0 + n1) / 2, (t1 - t0) / (n0 - n1))
              for (t0, n0), (t1, n1) in zip(progress, progress[1:]) if n0 < n_start and n1 < n0]
    if not points:
        return None
    k = sum(x * y for x, y in points) / sum(x * x for x, _ in points)  # least squares through 0
    t_stop, n_stop = progress[-1]
    rest = k * (n_stop ** 2 - n_end ** 2) / 2
    return {"total_s": round(t_stop + rest, 1), "remaining_s": round(rest, 1), "points": len(points),
            "us_per_image_per_image_left": round(k * 1e6, 4),
            "s_per_image_first": k * n_start, "s_per_image_last": k * n_end}


# ------------------------------------------------------------------------------- tables
def fmt(v, spec: str = "{:.2f}") -> str:
    return "-" if v is None else spec.format(v)


def load_table(load: dict) -> str:
    """The load's client-side latencies without GC and during GC, and who used the CPU."""
    rows = []

    def row(name, unit, path, spec="{:.2f}"):
        x, y = bench.get(load["baseline"], *path), bench.get(load["during_gc"], *path)
        ratio = f"{y / x:.2f}x" if (x and y is not None) else "-"
        rows.append([name, unit, fmt(x, spec), fmt(y, spec), ratio])

    row("manifest GET rate", "req/s", ("get", "per_s"), "{:.0f}")
    for p in ("p50", "p99", "max"):
        row(f"manifest GET {p}", "ms", ("get", f"{p}_ms"))
    row("  httpload late sending, p99", "ms", ("get", "client_lag_p99_ms"))
    row("  p99 counted from the send", "ms", ("get", "from_send_p99_ms"))
    row("image push rate (2 blobs + manifest)", "images/s", ("push", "per_s"), "{:.1f}")
    for p in ("p50", "p99", "max"):
        row(f"image push {p}", "ms", ("push", f"{p}_ms"))
    row("  its manifest PUT alone, p99", "ms", ("manifest_put", "p99_ms"))
    row("failed GETs", "count", ("get", "errors"), "{:.0f}")
    row("failed pushes", "count", ("push", "errors"), "{:.0f}")
    row("server CPU", "cores", ("cpu", "server_cores"))
    row("`wharf gc` CPU", "cores", ("cpu", "wharf_gc_cores"))
    row("GET load generator (httpload) CPU", "cores", ("cpu", "httpload_cores"))
    row("push load generator (Python) CPU", "cores", ("cpu", "python_cores"))
    row("other CPU on the machine", "cores", ("cpu", "other_cores"))
    return bench.markdown_table(["load", "unit", "without GC", "during GC", "during/without"], rows, {2, 3, 4})


def summary_table(res: dict) -> str:
    rows = []
    gc, ref, lc = res.get("gc"), res.get("reference"), res.get("lifecycle")
    if gc and "verify" in gc:
        s, g, r = gc["setup"], gc["gc"], gc["gc"]["report"]
        rows += [
            ["setup: upload unreferenced blobs", f"{s['blobs']} blobs, {s['bytes'] / 1e6:.0f} MB",
             f"{s['seconds']:.1f} s", f"{s['blobs_per_s']:.0f} blobs/s"],
            ["`wharf gc` under load: wall time", "s", f"{g['seconds']:.2f}", "mark + sweep in one run (grace 0)"],
            ["  blobs / bytes reclaimed", "blobs, MB", f"{r['blobs_deleted']}", f"{r['bytes_deleted'] / 1e6:.1f} MB"],
            ["  reclaim rate", "blobs/s", f"{g['blobs_per_s']:.0f}", ""],
            ["  `wharf gc` CPU, peak RSS", "s, MB", f"{g['cpu_s']:.2f}", f"{g['peak_rss_mb']:.1f} MB"],
            ["  server RSS before / after GC", "MB", f"{g['server_rss_mb_before']:.1f}",
             f"{g['server_rss_mb_after']:.1f} MB"],
            ["  verification", "", "OK" if gc["verify"]["ok"] else "FAILED",
             f"{gc['verify']['images_pulled']} images pulled, {gc['verify']['blobs_on_disk']} blobs left"],
        ]
    if ref and "gc" in ref:
        rows += [
            ["reference: setup upload", f"{ref['setup']['blobs']} blobs", f"{ref['setup']['seconds']:.1f} s",
             f"{ref['setup']['blobs_per_s']:.0f} blobs/s"],
            ["reference: offline `garbage-collect` (registry stopped)", "s", f"{ref['gc']['seconds']:.2f}",
             f"{ref['blobs_deleted']} blobs, {ref['blobs_per_s']:.0f} blobs/s, CPU {ref['gc']['cpu_s']:.1f} s, "
             f"peak RSS {ref['gc']['peak_rss_mb']:.0f} MB" + ("" if ref["ok"] else " (MISMATCH)")],
        ]
    if lc and "verify" in lc:
        s, p, r = lc["setup"], lc["preview"], lc["run"]
        pg, est = p["paging"], r.get("estimate")
        rows += [
            ["lifecycle setup: manifest PUTs", f"{s['images']} images", f"{s['seconds']:.1f} s",
             f"{s['images_per_s']:.0f} images/s"],
            ["preview: Start -> COMPLETE", "s", f"{p['seconds']:.2f}",
             f"{p['expiring']} images expiring; server {p['cpu']['server_cores']:.2f} cores"],
            ["  server RSS before / after preview", "MB", f"{p['server_rss_mb_before']:.1f}",
             f"{p['server_rss_mb_after']:.1f} MB; {p['server_rss_mb_after_paging']:.1f} MB after paging"],
            ["  paging the results (100 per page)", "ms/page", f"{pg['ms_per_page']:.1f}",
             f"{pg['pages']} pages read in {pg['seconds']:.1f} s; all {pg['all_pages']}: {pg['all_pages_s']:.0f} s"],
            ["`wharf lifecycle run`: wall time", "s", f"{r['seconds']:.2f}",
             f"{r['expired']} images expired, {r['images_per_s']:.0f}/s"
             + (" (STOPPED at --lifecycle-limit)" if r["stopped"] else "")],
            ["  its CPU, peak RSS", "s, MB", f"{r['cpu_s']:.2f}", f"{r['peak_rss_mb']:.1f} MB"],
        ]
        if est:
            rows.append(["  whole run, estimated", "s", f"{est['total_s']:.0f}",
                         f"{est['s_per_image_first'] * 1e3:.1f} ms/image at first, "
                         f"{est['s_per_image_last'] * 1e3:.2f} ms/image at the end"])
        rows.append(["  verification", "", "OK" if lc["verify"]["ok"] else "FAILED",
                     f"{lc['verify']['images_left']} images left"])
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
    p.add_argument("--upload-threads", type=int, default=16, help="connections for wharf's setup pushes (default 16)")
    p.add_argument("--ref-upload-threads", type=int, default=16,
                   help="connections for the reference's setup pushes (default 16)")
    p.add_argument("--get-rate", type=float, default=1000, help="manifest GETs per second in all (default 1000)")
    p.add_argument("--get-conns", type=int, default=8, help="connections for the GETs (default 8)")
    p.add_argument("--push-rate", type=float, default=5, help="small image pushes per second (default 5)")
    p.add_argument("--warmup", type=float, default=3, help="seconds of load before the baseline window (default 3)")
    p.add_argument("--window", type=float, default=20, help="seconds of the baseline window (default 20)")
    p.add_argument("--tail", type=float, default=1, help="seconds of load after the collection (default 1)")
    p.add_argument("--images", type=int, default=100_000, help="images in the lifecycle repository (default 100000)")
    p.add_argument("--lifecycle-keep", type=int, default=1000,
                   help="the policy keeps this many prod-tagged and this many untagged images (default 1000)")
    p.add_argument("--preview-pages", type=int, default=100,
                   help="read at most this many pages of the preview's results (default 100; 0: all)")
    p.add_argument("--lifecycle-limit", type=float, default=600, metavar="S",
                   help="stop `wharf lifecycle run` after S seconds and estimate the rest (default 600; 0: no limit)")
    p.add_argument("--perf", metavar="DIR",
                   help="record `wharf gc` and `wharf lifecycle run` with perf into DIR (diagnosis only)")
    p.add_argument("--wait-quiet", type=float, default=300, metavar="S",
                   help="before each measurement wait up to S seconds for the machine to be idle (0: don't)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (data dirs, logs)")
    p.add_argument("--tmp", default="/tmp", help="parent of the temp dir (default /tmp)")
    a = p.parse_args(argv)
    a.parts = bench.select(p, a.only, PARTS, "part")
    return a


def main(argv=None) -> int:
    args = parse_args(argv)
    if not os.access(args.wharf_bin, os.X_OK):
        sys.exit(f"wharf binary not found: {args.wharf_bin} (cargo build --release -p wharf)")
    if "gc" in args.parts and not shutil.which("cc"):
        sys.exit("cc is not installed: it compiles the GET load generator httpload.c")
    if "reference" in args.parts and not os.access(bench.REFERENCE_BIN, os.X_OK):
        log(f"{bench.REFERENCE_BIN} not found (apt-get install docker-registry): skipping the reference")
        args.parts.remove("reference")
    workdir, cleanup = bench.make_workdir(args, "wharf-gcbench-")
    meta = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "host": platform.node(), "cpus": os.cpu_count(),
            "kernel": platform.release(), "wharf_bin": args.wharf_bin,
            "wharf_version": subprocess.run([args.wharf_bin, "--version"], capture_output=True,
                                            text=True).stdout.strip(),
            "args": {k: v for k, v in vars(args).items() if k != "json"}, "workdir": str(workdir)}
    log(f"wharf GC/lifecycle benchmark: {meta['when']}, {meta['cpus']} CPUs, parts {', '.join(args.parts)}; "
        f"{meta['wharf_version']}; temp dir {workdir}")
    gcb = GcBench(args, workdir)
    parts = {"gc": gcb.run,
             "reference": lambda out: reference_offline_gc(args, workdir, gcb.garbage, out),
             "lifecycle": LifecycleBench(args, workdir).run}
    res: dict = {}
    failed: list[str] = []
    try:
        for part in args.parts:
            try:
                parts[part](res.setdefault(part, {}))
            except Exception as e:  # noqa: BLE001  (the other parts still run)
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
    if not res.get("reference", {}).get("ok", True):
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
