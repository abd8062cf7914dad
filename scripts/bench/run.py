#!/usr/bin/env python3
"""wharf vs. the reference registry (Distribution 2.8): a hand-run benchmark.

    python3 scripts/bench/run.py                  # everything, both servers (~4 minutes)
    python3 scripts/bench/run.py --only download  # one metric (repeat --only or use a,b,c)
    python3 scripts/bench/run.py --json out.json  # also write every number as JSON

See scripts/bench/README.md for what each number means. The servers run one after the
other (never at the same time), each on a fresh data dir under one big temp dir in /tmp
that is removed at the end (--keep keeps it, with the server logs).
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "tests" / "e2e"))
import images  # noqa: E402  (OCI image/layout builders shared with the e2e tests)

MiB = 1 << 20
GiB = 1 << 30
CLK_TCK = os.sysconf("SC_CLK_TCK")
OCI_MANIFEST = images.OCI_MANIFEST
REFERENCE_BIN = "/usr/bin/docker-registry"

METRICS = ["mono", "chunked", "download", "manifest", "head", "small", "skopeo", "startup"]
REPOS = ["bench/big", "bench/manifest", "bench/small"] + [f"bench/skopeo-{i}" for i in range(9)]

# Loopback only: never let a proxy setting from the environment get in the way.
for _k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ.pop(_k, None)
os.environ["no_proxy"] = os.environ["NO_PROXY"] = "127.0.0.1,localhost"


def log(msg: str) -> None:
    print(msg, flush=True)


# ------------------------------------------------------------------------------- HTTP client
class HTTPError(Exception):
    pass


class Conn:
    """A minimal keep-alive HTTP/1.1 client over one socket. Cheap per request (the load
    generator shares 2 cores with the server) and able to send a body straight from a file
    with sendfile(2) and to throw a response body away with splice(2) into /dev/null."""

    def __init__(self, host: str, port: int, timeout: float = 300.0, headers: dict | None = None):
        self.host, self.port, self.timeout = host, port, timeout
        self.headers = headers or {}  # sent with every request (credentials)
        self.sock: socket.socket | None = None
        self.buf = b""

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buf = None, b""

    def _connect(self) -> None:
        self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def request(self, method: str, target: str, headers: dict | None = None,
                body: bytes | None = None, file: tuple[int, int, int] | None = None,
                discard_body: bool = False):
        """Returns (status, headers{lower-case}, body bytes). `file` = (fd, offset, length)
        is sent with sendfile. `discard_body` splices the body to /dev/null and returns its
        length instead of its bytes."""
        if self.sock is None:
            self._connect()
        length = len(body) if body is not None else (file[2] if file else 0)
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        if method in ("POST", "PUT", "PATCH") or length:
            lines.append(f"Content-Length: {length}")
        for k, v in {**self.headers, **(headers or {})}.items():
            lines.append(f"{k}: {v}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            if body is not None and len(body) <= 256 * 1024:
                self.sock.sendall(head + body)
            else:
                self.sock.sendall(head)
                if body is not None:
                    self.sock.sendall(body)
                if file is not None:
                    fd, off, n = file
                    out = self.sock.fileno()
                    self.sock.settimeout(None)  # sendfile needs a blocking socket
                    try:
                        end = off + n
                        while off < end:
                            sent = os.sendfile(out, fd, off, end - off)
                            if sent == 0:
                                raise HTTPError("sendfile: source file shorter than expected")
                            off += sent
                    finally:
                        self.sock.settimeout(self.timeout)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered early (an error); read what it said
        return self._response(method, discard_body)

    def _fill(self) -> None:
        data = self.sock.recv(256 * 1024)
        if not data:
            raise HTTPError("connection closed by server")
        self.buf += data

    def _response(self, method: str, discard_body: bool):
        while True:
            while b"\r\n\r\n" not in self.buf:
                self._fill()
            head, _, self.buf = self.buf.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            hdrs: dict[str, str] = {}
            for line in lines[1:]:
                k, _, v = line.partition(":")
                hdrs[k.strip().lower()] = v.strip()
            if status >= 200 or status == 101:
                break  # skip 1xx interim responses
        if method == "HEAD" or status in (204, 304):
            body = b""
        elif "chunked" in hdrs.get("transfer-encoding", "").lower():
            body = self._chunked()
            if discard_body:
                body = len(body)
        elif "content-length" in hdrs:
            n = int(hdrs["content-length"])
            body = self._discard(n) if discard_body else self._exact(n)
        else:  # read until close
            while True:
                try:
                    self._fill()
                except HTTPError:
                    break
            body, self.buf = self.buf, b""
            self.close()
            return status, hdrs, (len(body) if discard_body else body)
        if hdrs.get("connection", "").lower() == "close":
            self.close()
        return status, hdrs, body

    def _exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _chunked(self) -> bytes:
        out = bytearray()
        while True:
            while b"\r\n" not in self.buf:
                self._fill()
            line, _, self.buf = self.buf.partition(b"\r\n")
            size = int(line.split(b";")[0], 16)
            if size == 0:
                while b"\r\n" not in self.buf:
                    self._fill()
                while not self.buf.startswith(b"\r\n"):  # trailers
                    _, _, self.buf = self.buf.partition(b"\r\n")
                    while b"\r\n" not in self.buf:
                        self._fill()
                self.buf = self.buf[2:]
                return bytes(out)
            out += self._exact(size)
            self._exact(2)

    def _discard(self, n: int) -> int:
        """Consume n body bytes without copying them to user space (splice to /dev/null)."""
        take = min(len(self.buf), n)
        self.buf = self.buf[take:]
        left = n - take
        if left == 0:
            return n
        rpipe, wpipe = os.pipe()
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            try:
                fcntl.fcntl(wpipe, 1031, 1 << 20)  # F_SETPIPE_SZ: 1 MiB pipe
            except OSError:
                pass
            self.sock.settimeout(None)
            fd = self.sock.fileno()
            while left > 0:
                got = os.splice(fd, wpipe, min(left, 1 << 20))
                if got == 0:
                    raise HTTPError(f"connection closed with {left} body bytes missing")
                left -= got
                while got > 0:
                    got -= os.splice(rpipe, null, got)
        finally:
            self.sock.settimeout(self.timeout)
            for f in (rpipe, wpipe, null):
                os.close(f)
        return n


def path_of(location: str) -> str:
    """Path+query of a Location header (absolute or relative)."""
    u = urlsplit(location)
    return (u.path or "/") + (f"?{u.query}" if u.query else "")


def add_query(target: str, key: str, value: str) -> str:
    return f"{target}{'&' if '?' in target else '?'}{key}={value}"


def expect(status: int, want: int, what: str, body=b"") -> None:
    if status != want:
        text = body[:300] if isinstance(body, (bytes, bytearray)) else body
        raise HTTPError(f"{what}: HTTP {status} (wanted {want}) {text!r}")


# ------------------------------------------------------------------------------- servers
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_ok(port: int) -> bool:
    """True when GET /v2/ answers (200, or 401 from a server that wants credentials; one
    fresh connection, short timeout)."""
    try:
        c = Conn("127.0.0.1", port, timeout=2)
        try:
            st, _, _ = c.request("GET", "/v2/")
            return st in (200, 401)
        finally:
            c.close()
    except (OSError, HTTPError, ValueError, IndexError):
        return False


class Server:
    name = "?"

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.data_dir = workdir / f"{self.name}-data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / f"{self.name}.log"
        self.proc: subprocess.Popen | None = None
        self.port = 0
        # Headers that authenticate a request (wharf requires credentials; the reference
        # runs without authentication, which only favours it).
        self.auth: dict[str, str] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        raise NotImplementedError

    def prepare(self) -> None:
        pass

    def login(self) -> None:
        """Called once the server answers; sets `auth`."""

    def skopeo_creds(self, flag: str) -> list[str]:
        """skopeo's `--src-creds`/`--dest-creds` option for this server, if it needs one."""
        return []

    def start(self, timeout: float = 30.0) -> float:
        """Starts the server on a free port; returns seconds from exec to the first answer on
        GET /v2/. Retries on another port if the first one was taken meanwhile."""
        for attempt in range(3):
            self.port = free_port()
            cmd = self.command()
            logf = open(self.log_path, "ab")
            t0 = time.perf_counter()
            self.proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
            logf.close()
            _LIVE.add(self.proc)
            while time.perf_counter() - t0 < timeout:
                if self.proc.poll() is not None:
                    break
                if http_ok(self.port):
                    ready = time.perf_counter() - t0
                    self.login()
                    return ready
                time.sleep(0.002)
            self.stop()
            if attempt == 2:
                tail = self.log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{self.name} did not become ready: {cmd}\n{tail}")
        raise AssertionError("unreachable")

    def stop(self, timeout: float = 30.0) -> None:
        p = self.proc
        if p is None:
            return
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        _LIVE.discard(p)
        self.proc = None

    # /proc accounting of the server process (all its threads)
    def cpu_seconds(self) -> float:
        return proc_cpu_seconds(self.proc.pid)

    def _status_kb(self, key: str) -> int:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        return 0

    def context_switches(self) -> int:
        """Voluntary + involuntary context switches of all the server's live threads."""
        total = 0
        for tid in os.listdir(f"/proc/{self.proc.pid}/task"):
            try:
                with open(f"/proc/{self.proc.pid}/task/{tid}/status") as f:
                    for line in f:
                        if "ctxt_switches:" in line:
                            total += int(line.split()[1])
            except (FileNotFoundError, ProcessLookupError):
                pass
        return total

    def peak_rss_mb(self) -> float:
        return self._status_kb("VmHWM") / 1024

    def rss_mb(self) -> float:
        return self._status_kb("VmRSS") / 1024


class Wharf(Server):
    name = "wharf"

    def __init__(self, workdir: Path, binary: str):
        self.binary = binary
        super().__init__(workdir)

    def prepare(self) -> None:
        for r in REPOS:
            subprocess.run([self.binary, "--data-dir", str(self.data_dir), "repo", "create", r],
                           check=True, capture_output=True, timeout=60)

    def command(self) -> list[str]:
        return [self.binary, "--data-dir", str(self.data_dir), "serve",
                "--listen", f"127.0.0.1:{self.port}"]

    def login(self) -> None:
        """A registry token for the administrator that the first start created, as
        `docker login` would use it (`wharf get-login-password` signs the API call)."""
        env = dict(os.environ, AWS_SHARED_CREDENTIALS_FILE=str(self.data_dir / "admin-credentials"))
        out = subprocess.run([self.binary, "--data-dir", str(self.data_dir), "get-login-password",
                              "--endpoint-url", self.url], check=True, capture_output=True, text=True,
                             timeout=60, env=env)
        self.token = out.stdout.strip()
        basic = base64.b64encode(f"AWS:{self.token}".encode()).decode()
        self.auth = {"Authorization": f"Basic {basic}"}

    def skopeo_creds(self, flag: str) -> list[str]:
        return [f"--{flag}-creds", f"AWS:{self.token}"]


class Reference(Server):
    name = "reference"

    def command(self) -> list[str]:
        cfg = self.workdir / "reference-config.yml"
        # Quiet logs (no per-request lines) like wharf's default; in-memory blob descriptor
        # cache like Debian's stock config; no storage health check.
        cfg.write_text(f"""version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {self.data_dir}
  cache:
    blobdescriptor: inmemory
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:{self.port}
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: false
""")
        return [REFERENCE_BIN, "serve", str(cfg)]


_LIVE: set[subprocess.Popen] = set()


def _kill_live() -> None:
    for p in list(_LIVE):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)  # own session: the server and its children
            except OSError:
                pass
            p.wait()
        _LIVE.discard(p)


# ------------------------------------------------------------------------------- machine load
def proc_cpu_seconds(pid: int) -> float:
    """CPU seconds (utime + stime, all threads) a live process has used (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (all cores, /proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return (sum(v) - v[3] - v[4]) / CLK_TCK  # minus idle and iowait


def wait_quiet(limit_s: float, threshold: float = 0.15) -> float | None:
    """Waits (up to limit_s) for a 1-second window in which the machine is less than
    `threshold` cores busy, so a concurrent build does not skew the numbers. Returns None when
    quiet, else the last busy level seen."""
    deadline = time.monotonic() + limit_s
    told = False
    while True:
        b0, t0 = busy_seconds(), time.monotonic()
        time.sleep(1.0)
        level = (busy_seconds() - b0) / (time.monotonic() - t0)
        if level < threshold:
            return None
        if time.monotonic() >= deadline:
            log(f"  !! machine still busy ({level:.2f} cores used by others); measuring anyway")
            return level
        if not told:
            log(f"  (waiting for the machine to be quiet: {level:.2f} cores busy elsewhere)")
            told = True


# ------------------------------------------------------------------------------- inputs
def make_random_file(path: Path, size: int) -> str:
    """`size` random bytes in `path`; returns the sha256 digest."""
    h = hashlib.sha256()
    block = 16 * MiB
    with open(path, "wb") as f:
        left = size
        while left > 0:
            b = os.urandom(min(block, left))
            h.update(b)
            f.write(b)
            left -= len(b)
    return "sha256:" + h.hexdigest()


def make_skopeo_layout(dir: Path, layers: int, layer_mib: int) -> int:
    """An OCI layout (tag `latest`) with `layers` gzip layers, each a tar holding one file of
    random bytes; returns the total size of the blobs."""
    ls = []
    for i in range(layers):
        raw = images.tar_bytes({f"data/random-{i}.bin": os.urandom(layer_mib * MiB)})
        gz = zlib.compressobj(1, zlib.DEFLATED, 31)  # gzip, fastest level (data is random)
        data = gz.compress(raw) + gz.flush()
        ls.append(images.Layer(data=data, media_type=images.OCI_LAYER_GZIP,
                               diff_id=images.sha256_digest(raw)))
    im = images.build_image(layers=ls, marker="bench")
    images.write_oci_layout(dir, im, "latest")
    return sum(b.size for b in im.blobs())


def build_httpload(dest_dir: Path) -> Path:
    """Compiles httpload.c (the load generator next to this script) into dest_dir, once."""
    exe = dest_dir / "httpload"
    if not exe.exists():
        src = Path(__file__).resolve().parent / "httpload.c"
        subprocess.run(["cc", "-O2", "-pthread", "-o", str(exe), str(src)], check=True)
    return exe


# ------------------------------------------------------------------------------- runner
class Bench:
    def __init__(self, args, workdir: Path):
        self.args = args
        self.workdir = workdir
        self.size = args.size_mib * MiB
        self.files: dict[str, tuple[Path, str]] = {}
        self.layouts: list[Path] = []
        self.layout_bytes = 0
        self.results: dict[str, dict] = {}
        self.notes: dict[str, object] = {}
        self.perf_dir = Path(args.perf).resolve() if args.perf else None
        self.noisy: list[str] = []

    # -- helpers
    def big_file(self, key: str) -> tuple[Path, str]:
        if key not in self.files:
            p = self.workdir / f"input-{key}.bin"
            t = time.perf_counter()
            d = make_random_file(p, self.size)
            os.sync()
            log(f"  (made {p.name}: {self.size} random bytes, {d[:19]}…, "
                f"{time.perf_counter() - t:.1f} s)")
            self.files[key] = (p, d)
        return self.files[key]

    def conn(self, srv: Server) -> Conn:
        return Conn("127.0.0.1", srv.port, headers=srv.auth)

    def quiesce(self) -> None:
        """Flush dirty pages (untimed) so one test's writeback does not land in the next."""
        os.sync()
        time.sleep(0.3)

    # -- blob upload / download primitives
    def upload_mono(self, srv: Server, key: str) -> dict:
        path, digest = self.big_file(key)
        c = self.conn(srv)
        fd = os.open(path, os.O_RDONLY)
        try:
            t = time.perf_counter()
            st, h, b = c.request("POST", "/v2/bench/big/blobs/uploads/")
            expect(st, 202, "POST upload", b)
            loc = path_of(h["location"])
            st, h, b = c.request("PUT", add_query(loc, "digest", digest), file=(fd, 0, self.size),
                                 headers={"Content-Type": "application/octet-stream"})
            expect(st, 201, "PUT ?digest= (monolithic)", b)
            dt = time.perf_counter() - t
        finally:
            os.close(fd)
            c.close()
        return {"bytes": self.size, "seconds": dt}

    def upload_chunked(self, srv: Server, key: str, chunk: int) -> dict:
        path, digest = self.big_file(key)
        c = self.conn(srv)
        fd = os.open(path, os.O_RDONLY)
        try:
            t = time.perf_counter()
            st, h, b = c.request("POST", "/v2/bench/big/blobs/uploads/")
            expect(st, 202, "POST upload", b)
            loc = path_of(h["location"])
            off = 0
            n = 0
            while off < self.size:
                ln = min(chunk, self.size - off)
                st, h, b = c.request("PATCH", loc, file=(fd, off, ln), headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Range": f"{off}-{off + ln - 1}"})
                expect(st, 202, f"PATCH chunk {n} at {off}", b)
                loc = path_of(h["location"])
                off += ln
                n += 1
            st, h, b = c.request("PUT", add_query(loc, "digest", digest))
            expect(st, 201, "PUT ?digest= (close chunked)", b)
            dt = time.perf_counter() - t
        finally:
            os.close(fd)
            c.close()
        return {"bytes": self.size, "seconds": dt, "chunks": n}

    def download(self, srv: Server, digest: str) -> dict:
        c = self.conn(srv)
        try:
            t = time.perf_counter()
            st, h, n = c.request("GET", f"/v2/bench/big/blobs/{digest}", discard_body=True)
            dt = time.perf_counter() - t
            expect(st, 200, "GET blob")
            if n != self.size:
                raise HTTPError(f"GET blob: {n} bytes, expected {self.size}")
        finally:
            c.close()
        return {"bytes": n, "seconds": dt}

    def download_ceiling(self) -> None:
        """How fast this client can download at all on this machine: the same GET against a
        trivial in-process server that answers with sendfile(2) from the page cache."""
        path, _ = self.big_file("a")
        lsock = socket.socket()
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(4)
        port = lsock.getsockname()[1]
        size = self.size

        def serve():
            fd = os.open(path, os.O_RDONLY)
            try:
                while True:
                    try:
                        s, _ = lsock.accept()
                    except OSError:
                        return
                    with s:
                        buf = b""
                        while b"\r\n\r\n" not in buf:
                            d = s.recv(65536)
                            if not d:
                                break
                            buf += d
                        s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                                  b"Content-Length: %d\r\n\r\n" % size)
                        off = 0
                        try:
                            while off < size:
                                off += os.sendfile(s.fileno(), fd, off, size - off)
                        except OSError:
                            pass
            finally:
                os.close(fd)

        th = threading.Thread(target=serve, daemon=True)
        th.start()
        ours, curls = [], []
        try:
            for _ in range(3):
                c = Conn("127.0.0.1", port)
                t = time.perf_counter()
                st, _, n = c.request("GET", "/blob", discard_body=True)
                ours.append(n / (time.perf_counter() - t) / 1e9)
                c.close()
            for _ in range(2):
                out = subprocess.run(["curl", "-s", "--noproxy", "*", "-o", "/dev/null", "-w",
                                      "%{speed_download}", f"http://127.0.0.1:{port}/blob"],
                                     capture_output=True, text=True, timeout=120)
                curls.append(float(out.stdout) / 1e9)
        finally:
            lsock.close()
        self.notes["download_client_ceiling_GBps"] = [round(x, 2) for x in ours]
        self.notes["curl_ceiling_GBps"] = [round(x, 2) for x in curls]
        log(f"  download client ceiling vs. a sendfile source: this client "
            f"{', '.join(f'{x:.2f}' for x in ours)} GB/s; curl "
            f"{', '.join(f'{x:.2f}' for x in curls)} GB/s (the benchmark uses its own client)")

    # -- small-object setup
    def ensure_image(self, srv: Server, res: dict) -> dict:
        """A small image tagged bench/manifest:latest (pushed once per server)."""
        if "image" not in res:
            import requests
            s = requests.Session()
            s.trust_env = False
            s.headers.update(srv.auth)
            im = images.build_image(layers=[images.random_layer(4096)], marker="bench")
            images.push_image(srv.url, "bench/manifest", "latest", im, session=s)
            res["image"] = {"manifest": im.digest, "config": im.config.digest,
                            "manifest_bytes": len(im.manifest)}
        return res["image"]

    # -- wrk
    def wrk(self, url: str, conns: int, headers: dict, script: Path | None = None,
            duration: int | None = None) -> dict:
        duration = duration or self.args.duration
        cmd = ["wrk", f"-t{min(self.args.wrk_threads, conns)}", f"-c{conns}", f"-d{duration}s",
               "--latency", "--timeout", "5s"]
        for k, v in headers.items():
            cmd += ["-H", f"{k}: {v}"]
        if script:
            cmd += ["-s", str(script)]
        cmd.append(url)
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
        if out.returncode != 0:
            raise RuntimeError(f"wrk failed: {out.stderr}{out.stdout}")
        text = out.stdout
        m = re.search(r"Requests/sec:\s+([\d.]+)", text)
        if not m:
            raise RuntimeError(f"cannot parse wrk output:\n{text}")
        res = {"rps": float(m.group(1)), "raw": text}
        for pct in ("50", "75", "90", "99"):
            m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
            if m:
                res[f"p{pct}_ms"] = float(m.group(1)) * {"us": 1e-3, "ms": 1, "s": 1e3}[m.group(2)]
        m = re.search(r"(\d+) requests in", text)
        res["requests"] = int(m.group(1)) if m else 0
        m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
        res["non2xx"] = int(m.group(1)) if m else 0
        m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
        res["socket_errors"] = sum(map(int, m.groups())) if m else 0
        return res

    def httpload(self, method: str, srv: Server, path: str, conns: int, headers: dict,
                 duration: int | None = None) -> dict:
        duration = duration or self.args.duration
        cmd = [str(self.httpload_bin), method, "127.0.0.1", str(srv.port), path, str(conns),
               str(min(self.args.wrk_threads, conns)), str(duration)]
        cmd += [f"{k}: {v}" for k, v in headers.items()]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
        if out.returncode != 0:
            raise RuntimeError(f"httpload failed: {out.stderr}{out.stdout}")
        res = {}
        for line in out.stdout.split():
            k, _, v = line.partition("=")
            res[k] = float(v) if "." in v else int(v)
        res["socket_errors"] = res.pop("errors", 0)
        return res

    @property
    def httpload_bin(self) -> Path:
        return build_httpload(self.workdir)

    # -- one measured step: server CPU, client CPU, optional perf profile
    def measured(self, srv: Server, label: str, fn):
        perf = None
        if self.perf_dir and srv.name == "wharf":
            self.perf_dir.mkdir(parents=True, exist_ok=True)
            data = self.perf_dir / f"{label}.data"
            perf = subprocess.Popen(["perf", "record", "-F", "999", "-g", "-p", str(srv.proc.pid),
                                     "-o", str(data)], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True)
            _LIVE.add(perf)
            time.sleep(0.5)
        if self.args.wait_quiet > 0:
            wait_quiet(self.args.wait_quiet)
        busy0, wall0 = busy_seconds(), time.monotonic()
        cpu0 = srv.cpu_seconds()
        cs0 = srv.context_switches()
        self_ru0 = resource.getrusage(resource.RUSAGE_SELF)
        kid_ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        try:
            r = fn()
        finally:
            if perf is not None:
                perf.send_signal(signal.SIGINT)
                perf.wait(60)
                _LIVE.discard(perf)
        cpu = srv.cpu_seconds() - cpu0
        busy, wall = busy_seconds() - busy0, time.monotonic() - wall0
        s1 = resource.getrusage(resource.RUSAGE_SELF)
        k1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        client = (s1.ru_utime - self_ru0.ru_utime + s1.ru_stime - self_ru0.ru_stime
                  + k1.ru_utime - kid_ru0.ru_utime + k1.ru_stime - kid_ru0.ru_stime)
        r["server_cpu_s"] = round(cpu, 3)
        r["client_cpu_s"] = round(client, 3)
        r["server_rss_mb"] = round(srv.rss_mb(), 1)
        r["server_ctx_switches"] = srv.context_switches() - cs0
        # CPU used by anything else (other processes, plus kernel softirq work that no process
        # is charged for), in cores: a concurrent build or test run shows up here
        other = max(0.0, busy - cpu - client) / max(wall, 1e-6)
        r["other_cores"] = round(other, 2)
        if other > self.args.noise_cores:
            self.noisy.append(f"{srv.name} {label}: {other:.2f} cores")
            log(f"    !! {other:.2f} cores were busy with other work during {srv.name} {label}")
        if perf is not None:
            rep = subprocess.run(["perf", "report", "--stdio", "--no-children", "-g", "none",
                                  "--sort", "dso,sym", "--percent-limit", "1.5", "-i",
                                  str(self.perf_dir / f"{label}.data")],
                                 capture_output=True, text=True, timeout=300)
            txt = self.perf_dir / f"{label}.txt"
            txt.write_text(rep.stdout)
            top = [l for l in rep.stdout.splitlines() if l.strip() and not l.startswith("#")][:12]
            log(f"    perf top ({txt}):\n      " + "\n      ".join(top))
        return r

    # -- metrics
    def m_mono(self, srv, res):
        self.big_file("a")
        self.upload_metric(srv, res, "mono", "mono upload", lambda: self.upload_mono(srv, "a"))

    def m_chunked(self, srv, res):
        self.big_file("b")
        chunk = self.args.chunk_mib * MiB
        what = f"chunked upload ({self.args.chunk_mib} MiB PATCHes)"
        self.upload_metric(srv, res, "chunked", what, lambda: self.upload_chunked(srv, "b", chunk))

    def upload_metric(self, srv, res, name, what, upload):
        r = self.measured(srv, name, upload)
        r["MBps"] = r["bytes"] / r["seconds"] / 1e6
        r["cpu_s_per_GB"] = r["server_cpu_s"] / (r["bytes"] / 1e9)
        res[name] = r
        log(f"  {what}: {r['bytes']} B in {r['seconds']:.2f} s = {r['MBps']:.0f} MB/s; "
            f"server CPU {r['server_cpu_s']:.2f} s ({r['cpu_s_per_GB']:.2f} s/GB), "
            f"client CPU {r['client_cpu_s']:.2f} s, server RSS {r['server_rss_mb']} MB, "
            f"{r['server_ctx_switches']} server context switches")

    def m_download(self, srv, res):
        if "mono" not in res and not res.get("_big_uploaded"):
            log("  (uploading the blob to download, untimed)")
            self.upload_mono(srv, "a")
            self.quiesce()
        res["_big_uploaded"] = True
        _, digest = self.big_file("a")
        self.download(srv, digest)  # warm-up: page cache, server caches
        runs = [self.measured(srv, "download", lambda: self.download(srv, digest))
                for _ in range(self.args.download_runs)]
        for r in runs:
            r["GBps"] = r["bytes"] / r["seconds"] / 1e9
        best = max(runs, key=lambda r: r["GBps"])
        cpu = sum(r["server_cpu_s"] for r in runs) / sum(r["bytes"] / 1e9 for r in runs)
        res["download"] = {"GBps": best["GBps"], "GBps_median": statistics.median(r["GBps"] for r in runs),
                           "runs": runs, "cpu_s_per_GB": cpu}
        speeds = ", ".join(f"{r['GBps']:.2f}" for r in runs)
        log(f"  download: {speeds} GB/s (best "
            f"{best['GBps']:.2f}); server CPU {cpu:.2f} s/GB; client CPU/run "
            f"{statistics.mean(r['client_cpu_s'] for r in runs):.2f} s; server context switches/run "
            f"{statistics.mean(r['server_ctx_switches'] for r in runs):.0f}")

    def m_manifest(self, srv, res):
        self.ensure_image(srv, res)
        url = f"{srv.url}/v2/bench/manifest/manifests/latest"
        hdr = {"Accept": OCI_MANIFEST}
        st, h, b = (c := self.conn(srv)).request("GET", "/v2/bench/manifest/manifests/latest",
                                                  headers=hdr)
        c.close()
        expect(st, 200, "GET manifest", b)
        out = {}
        for conns in self.args.manifest_conns:
            self.wrk(url, conns, {**hdr, **srv.auth}, duration=2)  # warm-up
            r = self.measured(srv, f"manifest-c{conns}", lambda: self.wrk(url, conns, {**hdr, **srv.auth}))
            r["server_us_per_req"] = r["server_cpu_s"] / max(r["requests"], 1) * 1e6
            out[conns] = r
            log(f"  manifest GET c={conns}: {r['rps']:.0f} req/s, p50 {r.get('p50_ms', 0):.2f} ms, "
                f"p99 {r.get('p99_ms', 0):.2f} ms, non-2xx {r['non2xx']}, socket errors "
                f"{r['socket_errors']}; server CPU {r['server_us_per_req']:.1f} µs/req; cores used: "
                f"server {r['server_cpu_s'] / self.args.duration:.2f}, "
                f"wrk {r['client_cpu_s'] / self.args.duration:.2f}")
        # cross-check of wrk's numbers with the other load generator (same settings)
        conns = max(self.args.manifest_conns)
        path = "/v2/bench/manifest/manifests/latest"
        r = self.measured(srv, f"manifest-httpload-c{conns}",
                          lambda: self.httpload("GET", srv, path, conns, {**hdr, **srv.auth}))
        out[f"httpload-{conns}"] = r
        log(f"  manifest GET c={conns} (httpload cross-check): {r['rps']:.0f} req/s, "
            f"p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, non-2xx {r['non2xx']}")
        res["manifest"] = out

    def m_head(self, srv, res):
        img = self.ensure_image(srv, res)
        path = f"/v2/bench/manifest/blobs/{img['config']}"
        c = self.conn(srv)
        st, h, _ = c.request("HEAD", path)
        c.close()
        expect(st, 200, "HEAD blob")
        conns = self.args.head_conns
        # wrk 4.1 cannot do HEAD (it waits for Content-Length body bytes): use httpload.c
        self.httpload("HEAD", srv, path, conns, srv.auth, duration=2)
        r = self.measured(srv, f"head-c{conns}", lambda: self.httpload("HEAD", srv, path, conns, srv.auth))
        r["server_us_per_req"] = r["server_cpu_s"] / max(r["requests"], 1) * 1e6
        res["head"] = {conns: r}
        log(f"  blob HEAD c={conns}: {r['rps']:.0f} req/s, p50 {r.get('p50_ms', 0):.2f} ms, "
            f"p99 {r.get('p99_ms', 0):.2f} ms, non-2xx {r['non2xx']}, socket errors "
            f"{r['socket_errors']}; server CPU {r['server_us_per_req']:.1f} µs/req; cores used: "
            f"server {r['server_cpu_s'] / self.args.duration:.2f}, httpload "
            f"{r['client_cpu_s'] / self.args.duration:.2f}")

    def _small_uploads(self, srv: Server, blobs: list[tuple[bytes, str]], threads: int) -> dict:
        errors: list[str] = []
        per_thread = [blobs[i::threads] for i in range(threads)]

        def worker(mine):
            c = self.conn(srv)
            try:
                for data, digest in mine:
                    st, h, b = c.request("POST", "/v2/bench/small/blobs/uploads/")
                    expect(st, 202, "POST upload", b)
                    st, h, b = c.request("PUT", add_query(path_of(h["location"]), "digest", digest),
                                         body=data,
                                         headers={"Content-Type": "application/octet-stream"})
                    expect(st, 201, "PUT ?digest=", b)
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))
            finally:
                c.close()

        ths = [threading.Thread(target=worker, args=(m,)) for m in per_thread]
        t = time.perf_counter()
        for th in ths:
            th.start()
        for th in ths:
            th.join()
        dt = time.perf_counter() - t
        if errors:
            raise HTTPError(f"{len(errors)} upload threads failed, first: {errors[0]}")
        return {"blobs": len(blobs), "seconds": dt, "blobs_per_s": len(blobs) / dt}

    def m_small(self, srv, res):
        n, size = self.args.small_count, self.args.small_kib * 1024
        out = {}
        for threads in (1, self.args.small_threads):
            blobs = []
            for _ in range(n):
                d = os.urandom(size)
                blobs.append((d, images.sha256_digest(d)))
            self.quiesce()
            r = self.measured(srv, f"small-t{threads}",
                              lambda: self._small_uploads(srv, blobs, threads))
            out[threads] = r
            log(f"  {n} x {size} B uploads, {threads} thread(s): {r['blobs_per_s']:.0f} blobs/s "
                f"({r['seconds']:.2f} s); server CPU {r['server_cpu_s']:.2f} s "
                f"({r['server_cpu_s'] / n * 1e6:.0f} µs/blob), client CPU {r['client_cpu_s']:.2f} s, "
                f"{r['server_ctx_switches'] / n:.0f} server context switches/blob")
        res["small"] = out

    def ensure_layouts(self) -> None:
        while len(self.layouts) < self.args.skopeo_runs:
            i = len(self.layouts)
            d = self.workdir / f"skopeo-src-{i}"
            t = time.perf_counter()
            self.layout_bytes = make_skopeo_layout(d, self.args.skopeo_layers,
                                                   self.args.skopeo_layer_mib)
            os.sync()
            self.layouts.append(d)
            log(f"  (made OCI layout {i}: {self.args.skopeo_layers} layers, {self.layout_bytes} B, "
                f"{time.perf_counter() - t:.1f} s)")

    def skopeo_env(self) -> dict:
        return dict(os.environ, HOME=str(self.workdir / "skopeo-home"))

    def skopeo_floor(self) -> None:
        """skopeo copying the same layouts to a local `dir:`, no server involved: how fast
        the client alone reads, verifies and writes them, the floor under any push time."""
        self.ensure_layouts()
        times = []
        for i, layout in enumerate(self.layouts):
            dest = self.workdir / f"skopeo-floor-{i}"
            self.quiesce()
            t = time.perf_counter()
            subprocess.run(["skopeo", "copy", "--quiet", f"oci:{layout}:latest", f"dir:{dest}"],
                           check=True, capture_output=True, timeout=600, env=self.skopeo_env())
            times.append(time.perf_counter() - t)
            shutil.rmtree(dest, ignore_errors=True)
        self.notes["skopeo_client_floor_s"] = [round(x, 3) for x in times]
        log(f"  skopeo alone, OCI layout -> local dir (client floor): "
            f"{', '.join(f'{x:.2f}' for x in times)} s")

    def m_skopeo(self, srv, res):
        """skopeo push of an OCI layout, then pull into a new layout. Each run uses its own
        freshly made layout (new random layers) and repository, so no run finds blobs that an
        earlier one pushed; the same layouts serve both servers. Median of the runs."""
        runs = self.args.skopeo_runs
        self.ensure_layouts()
        env = self.skopeo_env()

        def run(cmd):
            def go():
                t = time.perf_counter()
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
                dt = time.perf_counter() - t
                if p.returncode != 0:
                    raise RuntimeError(f"{' '.join(cmd)} failed:\n{p.stderr[-2000:]}")
                return {"seconds": dt}
            return go

        pushes, pulls = [], []
        for i, layout in enumerate(self.layouts[:runs]):
            ref = f"127.0.0.1:{srv.port}/bench/skopeo-{i}:latest"
            dest = self.workdir / f"skopeo-pull-{srv.name}-{i}"
            shutil.rmtree(dest, ignore_errors=True)
            self.quiesce()
            pushes.append(self.measured(srv, "skopeo-push", run(
                ["skopeo", "copy", "--quiet", "--dest-tls-verify=false", *srv.skopeo_creds("dest"),
                 f"oci:{layout}:latest",
                 f"docker://{ref}"])))
            self.quiesce()
            pulls.append(self.measured(srv, "skopeo-pull", run(
                ["skopeo", "copy", "--quiet", "--src-tls-verify=false", *srv.skopeo_creds("src"),
                 f"docker://{ref}",
                 f"oci:{dest}:latest"])))
            shutil.rmtree(dest, ignore_errors=True)
        res["skopeo"] = {"push": {"seconds": statistics.median(r["seconds"] for r in pushes),
                                  "runs": pushes},
                         "pull": {"seconds": statistics.median(r["seconds"] for r in pulls),
                                  "runs": pulls},
                         "bytes": self.layout_bytes}
        fmt = lambda rs, k: ", ".join(f"{r[k]:.2f}" for r in rs)  # noqa: E731
        log(f"  skopeo push {fmt(pushes, 'seconds')} s (server CPU {fmt(pushes, 'server_cpu_s')} s), "
            f"pull {fmt(pulls, 'seconds')} s (server CPU {fmt(pulls, 'server_cpu_s')} s); "
            f"{self.layout_bytes / 1e6:.0f} MB each")

    def m_startup(self, srv, res):
        """Restart on the data dir of this run: exec -> first answer on GET /v2/."""
        srv.stop()
        times = []
        for _ in range(self.args.startup_runs):
            times.append(srv.start())
            srv.stop()
        res["startup"] = {"ms": statistics.median(times) * 1e3,
                          "runs_ms": [round(t * 1e3, 1) for t in times]}
        log(f"  start-up (exec -> first answer on /v2/): {', '.join(f'{t * 1e3:.0f}' for t in times)} "
            f"ms; data dir {du(srv.data_dir) / 1e6:.0f} MB")

    # -- driver
    def run_server(self, srv: Server, selected: list[str]) -> dict:
        res: dict = {}
        self.results[srv.name] = res
        srv.prepare()
        t = srv.start()
        log(f"\n== {srv.name} on {srv.url} (pid {srv.proc.pid}, ready in {t * 1e3:.0f} ms)")
        try:
            for m in selected:
                if m == "startup":
                    continue
                self.quiesce()
                try:
                    getattr(self, f"m_{m}")(srv, res)
                except Exception as e:  # noqa: BLE001
                    res.setdefault("errors", {})[m] = str(e)
                    log(f"  !! {m} failed: {e}")
                    if srv.proc.poll() is not None:
                        log(f"  !! {srv.name} died (exit {srv.proc.returncode}); restarting")
                        srv.start()
            res["peak_rss_mb"] = srv.peak_rss_mb()
            res["cpu_total_s"] = srv.cpu_seconds()
            log(f"  peak RSS (VmHWM) {res['peak_rss_mb']:.1f} MB, total server CPU "
                f"{res['cpu_total_s']:.1f} s")
            if "startup" in selected:
                try:
                    self.m_startup(srv, res)
                except Exception as e:  # noqa: BLE001
                    res.setdefault("errors", {})["startup"] = str(e)
                    log(f"  !! startup failed: {e}")
        finally:
            srv.stop()
        res.pop("_big_uploaded", None)
        return res


def du(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_blocks * 512
            except OSError:
                pass
    return total


# ------------------------------------------------------------------------------- table
def get(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def build_rows(b: Bench) -> list[dict]:
    W, R = b.results.get("wharf", {}), b.results.get("reference", {})
    a = b.args
    c_hi = max(a.manifest_conns)
    rows = []

    def row(name, unit, path, better, target=None, fmt="{:.0f}", ref_target=None):
        w, r = get(W, *path), get(R, *path)
        rows.append({"metric": name, "unit": unit, "wharf": w, "reference": r,
                     "better": better, "target": target, "fmt": fmt, "ref_target": ref_target})

    size = f"{a.size_mib} MiB" if a.size_mib != 1024 else "1 GiB"
    row(f"upload {size}, monolithic PUT", "MB/s", ("mono", "MBps"), "higher", (">=", 400))
    row(f"upload {size}, {a.chunk_mib} MiB PATCH chunks", "MB/s", ("chunked", "MBps"), "higher",
        (">=", 350))
    row(f"download {size} (best of {a.download_runs})", "GB/s", ("download", "GBps"), "higher",
        (">=", 2.5), "{:.2f}")
    for c in a.manifest_conns:
        hi = c == c_hi
        row(f"manifest GET, {c} conns", "req/s", ("manifest", c, "rps"), "higher",
            (">=", 30000) if hi else None)
        row(f"manifest GET, {c} conns, p99", "ms", ("manifest", c, "p99_ms"), "lower",
            ("<=", 10) if hi else None, "{:.2f}")
    row(f"manifest GET, {c_hi} conns (httpload)", "req/s", ("manifest", f"httpload-{c_hi}", "rps"),
        "higher")
    row(f"manifest GET, {c_hi} conns (httpload), p99", "ms",
        ("manifest", f"httpload-{c_hi}", "p99_ms"), "lower", None, "{:.2f}")
    row(f"blob HEAD, {a.head_conns} conns (httpload)", "req/s", ("head", a.head_conns, "rps"), "higher",
        (">=", 30000))
    row(f"blob HEAD, {a.head_conns} conns (httpload), p99", "ms", ("head", a.head_conns, "p99_ms"), "lower",
        None, "{:.2f}")
    row(f"{a.small_count} x {a.small_kib} KiB uploads, sequential", "blobs/s",
        ("small", 1, "blobs_per_s"), "higher", (">=", 500))
    row(f"{a.small_count} x {a.small_kib} KiB uploads, {a.small_threads} threads", "blobs/s",
        ("small", a.small_threads, "blobs_per_s"), "higher", (">=", 1500))
    ref_push = get(R, "skopeo", "push", "seconds")
    mb = a.skopeo_layers * a.skopeo_layer_mib * MiB / 1e6
    row(f"skopeo push {mb:.0f} MB image (median of {a.skopeo_runs})", "s",
        ("skopeo", "push", "seconds"), "lower",
        ("<=", ref_push / 2) if ref_push else ("<=", None), "{:.2f}", ref_target="ref/2")
    row(f"skopeo pull to OCI layout (median of {a.skopeo_runs})", "s",
        ("skopeo", "pull", "seconds"), "lower", None, "{:.2f}")
    row("server CPU per GB, monolithic upload", "s/GB", ("mono", "cpu_s_per_GB"), "lower",
        ("<=", 1.2), "{:.2f}")
    row("server CPU per GB, chunked upload", "s/GB", ("chunked", "cpu_s_per_GB"), "lower",
        ("<=", 1.2), "{:.2f}")
    row("server CPU per GB, download", "s/GB", ("download", "cpu_s_per_GB"), "lower", None,
        "{:.2f}")
    row("peak RSS over the run (VmHWM)", "MB", ("peak_rss_mb",), "lower", ("<=", 100), "{:.1f}")
    row("start-up on this run's data dir", "ms", ("startup", "ms"), "lower", None, "{:.0f}")
    # drop rows nothing was measured for
    return [r for r in rows if r["wharf"] is not None or r["reference"] is not None]


def fmt_val(v, fmt):
    return "-" if v is None else fmt.format(v)


def render_table(rows: list[dict]) -> str:
    hdr = ["metric", "unit", "wharf", "reference", "wharf/ref", "wharf target", "met"]
    body = []
    for r in rows:
        w, ref = r["wharf"], r["reference"]
        ratio = f"{w / ref:.2f}x" if (w is not None and ref) else "-"
        tgt, met = "", ""
        if r["target"]:
            op, val = r["target"]
            if val is None:
                tgt = f"{op} ref/2"
            else:
                tgt = f"{op} {r['fmt'].format(val)}" if r["ref_target"] is None else \
                    f"{op} {r['fmt'].format(val)} (ref/2)"
                if w is not None:
                    ok = w >= val if op == ">=" else w <= val
                    met = "yes" if ok else "NO"
        body.append([r["metric"], r["unit"], fmt_val(w, r["fmt"]), fmt_val(ref, r["fmt"]), ratio,
                     tgt, met])
    return markdown_table(hdr, body, right={2, 3, 4})


def markdown_table(hdr: list[str], body: list[list], right: set[int]) -> str:
    """A Markdown table padded to line up in a terminal; columns in `right` align right."""
    widths = [max(len(str(x[i])) for x in [hdr] + body) for i in range(len(hdr))]

    def line(cells):
        return "| " + " | ".join(str(c).rjust(widths[i]) if i in right else str(c).ljust(widths[i])
                                 for i, c in enumerate(cells)) + " |"
    out = [line(hdr), "|" + "|".join(("-" * (w + 1) + ":" if i in right else "-" * (w + 2))
                                     for i, w in enumerate(widths)) + "|"]
    out += [line(b) for b in body]
    return "\n".join(out)


# ------------------------------------------------------------------------------- main

def select(p: argparse.ArgumentParser, only: list[str], names: list[str], what: str) -> list[str]:
    """The names `--only` picked (repeatable, or comma lists), in `names`' order; all of them
    when it was not given."""
    chosen = [x.strip() for o in only for x in o.split(",") if x.strip()]
    bad = [x for x in chosen if x not in names]
    if bad:
        p.error(f"unknown {what}(s) {bad}; choose from {names}")
    return [n for n in names if not chosen or n in chosen]


def make_workdir(args, prefix: str):
    """A temp dir under `--tmp` for one run, and the cleanup that kills the servers started
    and removes the dir (unless `--keep`). SIGTERM and Ctrl-C clean up too."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix, dir=args.tmp))

    def cleanup() -> None:
        _kill_live()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    def on_signal(signum, _frame):
        cleanup()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return workdir, cleanup


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", action="append", default=[],
                   help=f"run only these metrics (repeatable or comma list): {', '.join(METRICS)}")
    p.add_argument("--json", metavar="FILE", help="write all results as JSON")
    p.add_argument("--servers", default="wharf,reference",
                   help="comma list of servers to measure (default wharf,reference)")
    p.add_argument("--wharf-bin", default=os.environ.get("WHARF_BIN")
                   or str(REPO_ROOT / "target" / "release" / "wharf"))
    p.add_argument("--size-mib", type=int, default=1024, help="big blob size (default 1024)")
    p.add_argument("--chunk-mib", type=int, default=16, help="PATCH chunk size (default 16)")
    p.add_argument("--download-runs", type=int, default=3)
    p.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    p.add_argument("--wrk-threads", type=int, default=2)
    p.add_argument("--manifest-conns", default="32,128")
    p.add_argument("--head-conns", type=int, default=128)
    p.add_argument("--small-count", type=int, default=2000)
    p.add_argument("--small-kib", type=int, default=4)
    p.add_argument("--small-threads", type=int, default=16)
    p.add_argument("--skopeo-layers", type=int, default=4)
    p.add_argument("--skopeo-layer-mib", type=int, default=25)
    p.add_argument("--skopeo-runs", type=int, default=3, help="at most 9 (default 3)")
    p.add_argument("--startup-runs", type=int, default=3)
    p.add_argument("--perf", metavar="DIR",
                   help="record a perf profile of wharf during each measured step into DIR "
                        "(slows wharf down: use for diagnosis, not for the numbers)")
    p.add_argument("--wait-quiet", type=float, default=300, metavar="S",
                   help="before each step wait up to S seconds for the machine to be idle "
                        "(another build or test run skews everything; 0 = don't wait)")
    p.add_argument("--noise-cores", type=float, default=0.3,
                   help="flag steps during which other work used more than this many cores")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (data dirs, logs)")
    p.add_argument("--tmp", default="/tmp", help="parent of the temp dir (default /tmp)")
    a = p.parse_args(argv)
    a.selected = select(p, a.only, METRICS, "metric")
    if not 1 <= a.skopeo_runs <= 9:
        p.error("--skopeo-runs must be 1..9")
    a.manifest_conns = [int(x) for x in a.manifest_conns.split(",")]
    a.servers = [s.strip() for s in a.servers.split(",") if s.strip()]
    if not a.servers or any(s not in ("wharf", "reference") for s in a.servers):
        p.error("--servers takes wharf and/or reference")
    return a


def main(argv=None) -> int:
    args = parse_args(argv)
    need = {"wrk": ("manifest",), "cc": ("manifest", "head"), "skopeo": ("skopeo",), "curl": ("download",)}
    for tool, ms in need.items():
        if any(m in args.selected for m in ms) and not shutil.which(tool):
            sys.exit(f"{tool} is not installed (apt-get install {tool})")
    if "wharf" in args.servers and not os.access(args.wharf_bin, os.X_OK):
        sys.exit(f"wharf binary not found: {args.wharf_bin} (cargo build --release -p wharf)")
    if "reference" in args.servers and not os.access(REFERENCE_BIN, os.X_OK):
        sys.exit(f"{REFERENCE_BIN} not found (apt-get install docker-registry)")

    workdir, cleanup = make_workdir(args, "wharf-bench-")
    bench = Bench(args, workdir)
    meta = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "host": platform.node(), "cpus": os.cpu_count(), "kernel": platform.release(),
        "wharf_bin": args.wharf_bin,
        "wharf_version": subprocess.run([args.wharf_bin, "--version"], capture_output=True,
                                        text=True).stdout.strip() if "wharf" in args.servers else None,
        "reference": subprocess.run([REFERENCE_BIN, "--version"], capture_output=True,
                                    text=True).stdout.strip() if "reference" in args.servers else None,
        "metrics": args.selected, "workdir": str(workdir),
    }
    log(f"wharf benchmark: {meta['when']}, {meta['cpus']} CPUs, metrics {', '.join(args.selected)}")
    log(f"  wharf: {meta['wharf_version']} ({args.wharf_bin}); reference: {meta['reference']}")
    log(f"  temp dir {workdir}")
    try:
        if "download" in args.selected:
            bench.download_ceiling()
        if "skopeo" in args.selected:
            bench.skopeo_floor()
        for name in args.servers:
            srv = Wharf(workdir, args.wharf_bin) if name == "wharf" else Reference(workdir)
            bench.run_server(srv, args.selected)
    finally:
        cleanup()

    rows = build_rows(bench)
    log("\n" + render_table(rows))
    ceil = bench.notes.get("download_client_ceiling_GBps")
    if ceil:
        log(f"\ndownload client ceiling on this machine (same client vs. a sendfile(2) source): "
            f"{max(ceil):.2f} GB/s (runs {ceil}); curl: {bench.notes.get('curl_ceiling_GBps')} GB/s")
    floor = bench.notes.get("skopeo_client_floor_s")
    if floor:
        log(f"skopeo client floor on this machine (the same layouts copied to a local dir, no "
            f"server): median {statistics.median(floor):.2f} s (runs {floor})")
    if bench.noisy:
        log("\nWARNING: other work ran during these steps, their numbers are suspect: "
            + "; ".join(bench.noisy))
    for s, r in bench.results.items():
        for m, e in (r.get("errors") or {}).items():
            log(f"ERROR {s} {m}: {e}")
    if args.json:
        def clean(o):
            if isinstance(o, dict):
                return {str(k): clean(v) for k, v in o.items() if k != "raw"}
            if isinstance(o, list):
                return [clean(x) for x in o]
            return o
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "notes": bench.notes, "noisy_steps": bench.noisy, "results": clean(bench.results),
                       "table": [{k: v for k, v in r.items() if k != "fmt"} for r in rows]},
                      f, indent=2)
        log(f"wrote {args.json}")
    errors = any(r.get("errors") for r in bench.results.values())
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
