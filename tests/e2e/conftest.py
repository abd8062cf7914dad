"""Fixtures for wharf's end-to-end tests (see tests/e2e/README.md).

Fixtures
  wharf          session-scoped server (SQLite; the conformance suite also gets one on
                 PostgreSQL, see pytest_generate_tests)
  repo           function-scoped fresh repository name created on `wharf` (e.g. "t/3f9a0c1d2e")
  wharf_factory  function-scoped factory -> private servers, stopped at teardown:
                   wharf_factory(extra_args=[...], backend="sqlite"|"postgres", env=None,
                                 data_dir=None, database_url=None, start=True)
                 Pass the same data_dir/database_url to two servers for a scale-out pair.
  backend        session-scoped, parametrized "sqlite" / "postgres" (postgres needs env
                 WHARF_TEST_PG_URL; scripts/test.sh always provides it)
  wharf_any      session-scoped server on `backend`

Helpers (import them: `from conftest import free_port, need_tool, unique_name`)
  free_port()          a free TCP port on 127.0.0.1
  need_tool(name)      skip (locally) / fail (CI=true) when an executable is missing
  need_docker()        the same for the docker CLI and a reachable engine
  unique_name(prefix)  "prefix/<10 hex>", a valid ECR repository name
  WharfServer          the server handle class

Authentication (every /v2 request needs it, as on ECR)
  On the first start of a data dir wharf creates the default account's administrator
  (IAM user `admin`, allowed everything) and writes its access key to
  <data_dir>/admin-credentials. Servers sharing a data dir share it (and the master key
  that signs tokens), so a token from one works on the other and across restarts.
  `GET /v2/` without credentials answers 401; start() counts that as ready.
  WharfServer.admin_credentials  {"aws_access_key_id": .., "aws_secret_access_key": ..}
                                 parsed from WharfServer.credentials_file
  WharfServer.aws_env()          env vars for AWS tools and `wharf get-login-password`
                                 (shared credentials file = the admin's, region = the
                                 server's first region, no config file, no IMDS, no proxy
                                 for 127.0.0.1); merge it over os.environ. wharf processes
                                 never see the caller's AWS_* keys, profile or region.
  WharfServer.token(region=None) the admin's registry password (`get-login-password`
                                 against the running server; cached per region, valid 12 h,
                                 only in that region)
  WharfServer.login_password(credentials=None, region=None)
                                 the same for any access key {"aws_access_key_id": ..,
                                 "aws_secret_access_key": ..} (uncached)
  WharfServer.auth               ("AWS", token) for requests' auth=
  WharfServer.auth_header()      {"Authorization": "Basic base64(AWS:token)"}
  WharfServer.session()          a requests.Session with that auth
  WharfServer.put_account_setting(name, value)
                                 ECR PutAccountSetting as the administrator (mount tests
                                 turn BLOB_MOUNTING on; it is off by default, as in ECR)
  WharfServer.account_id, .region   the default account and first region it serves
                                 (from its flags, WHARF_* env or --config file:
                                 WharfServer.setting(name))
  Real clients log in as users do (docker/skopeo/podman login, oras-py login) with
  --username AWS and the token; see the test_clients_*.py fixtures.

Environment
  WHARF_BIN            server binary (default <repo>/target/release/wharf)
  WHARF_TEST_PG_URL    postgres://user@host:port/db of a cluster where the tests may
                       CREATE DATABASE (one fresh database per postgres-backed server)
  CI=true              skips become failures (a missing tool is a failure in CI)
  WHARF_TEST_KEEP=1    keep temp data dirs (logs) after the run

Server logs (stderr+stdout) go to <data_dir>/server.log; the tail of every server a failed
test used is attached to the failure report.

Findings about real clients in this sandbox are at the top of images.py.
"""

from __future__ import annotations

import atexit
import base64
import configparser
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import tomllib
import urllib.parse
import warnings
from pathlib import Path

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
WHARF_BIN = os.environ.get("WHARF_BIN") or str(REPO_ROOT / "target" / "release" / "wharf")
PG_URL = os.environ.get("WHARF_TEST_PG_URL", "").strip()
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
KEEP = os.environ.get("WHARF_TEST_KEEP", "") not in ("", "0")
READY_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0
DEFAULT_ACCOUNT_ID = "000000000000"
DEFAULT_REGION = "us-east-1"
# `GET /v2/` answers 401 to an anonymous request once the server is up.
READY_STATUSES = (200, 401)

# Global options of the wharf CLI that take a value: copied from a server's extra_args to
# its .cli() calls so that `repo create` sees the same account/regions/config, and `gc`
# the same grace periods.
_GLOBAL_OPTS_WITH_VALUE = ("--config", "--account-id", "--regions", "--domain", "--gc-grace-secs",
                           "--upload-max-age-secs")


# --------------------------------------------------------------------------- helpers
def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unique_name(prefix: str = "t") -> str:
    return f"{prefix}/{secrets.token_hex(5)}"


def run_tool(*cmd: str, check: bool = True, timeout: int = 180,
             input: str | None = None) -> subprocess.CompletedProcess:
    """Run a client tool (docker, skopeo, …) with ``input`` on stdin (e.g. a password for
    `login --password-stdin`); with `check`, a failure shows its output."""
    p = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, input=input,
                       stdin=None if input is not None else subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}\nstdout:\n{p.stdout}\n"
                             f"stderr:\n{p.stderr}")
    return p


def need_tool(name: str) -> str:
    """Path of executable ``name``; skips the test when missing (fails under CI=true)."""
    path = shutil.which(name)
    if path is None:
        msg = f"required tool {name!r} is not installed (scripts/test.sh installs it)"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    return path


# AWS settings that would beat the credentials file and region of WharfServer.aws_env().
_STRAY_AWS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
              "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL",
              "AWS_ENDPOINT_URL_ECR")


def need_docker() -> None:
    """Skip (locally) / fail (CI=true) unless the docker CLI and a reachable engine exist."""
    need_tool("docker")
    p = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        msg = f"docker engine is not reachable: {p.stderr.strip()}"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)


def _clean_env(extra: dict | None = None) -> dict:
    """The environment for wharf processes: no stray WHARF_* or AWS credential/region
    settings from the caller's shell (they would silently change behaviour), plus
    ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("WHARF_") and k not in _STRAY_AWS}
    env.setdefault("RUST_BACKTRACE", "1")
    env.setdefault("NO_COLOR", "1")  # plain server logs (tracing-subscriber honours it)
    if extra:
        env.update({k: str(v) for k, v in extra.items()})
    return env


def _option(args, name: str) -> str | None:
    """The value of option ``name`` in an argument list (``--name V`` or ``--name=V``)."""
    args = list(args)
    for i, a in enumerate(args):
        if a == name and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return None


def _global_opts(args) -> list[str]:
    out, args, i = [], list(args), 0
    while i < len(args):
        a = args[i]
        if a in _GLOBAL_OPTS_WITH_VALUE and i + 1 < len(args):
            out += [a, args[i + 1]]
            i += 2
            continue
        if any(a.startswith(o + "=") for o in _GLOBAL_OPTS_WITH_VALUE):
            out.append(a)
        i += 1
    return out


# Every running server, so that none outlives pytest (servers run in their own session,
# so a Ctrl-C or SIGTERM to pytest does not reach them directly).
_LIVE: dict[int, "WharfServer"] = {}


def _kill_live_servers() -> None:
    for srv in list(_LIVE.values()):
        try:
            if srv.proc is not None and srv.proc.poll() is None:
                srv.proc.kill()
                srv.proc.wait(timeout=5)
        except Exception:
            pass


atexit.register(_kill_live_servers)


class WharfCliError(subprocess.CalledProcessError):
    def __str__(self):
        return (f"command {self.cmd!r} exited {self.returncode}\n"
                f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}")


# --------------------------------------------------------------------------- postgres
def _psql(url: str, sql: str) -> None:
    psql = shutil.which("psql")
    if psql is None:
        raise RuntimeError("psql not found (apt-get install postgresql-client)")
    r = subprocess.run([psql, url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"psql {sql!r} failed: {r.stderr.strip()}")


def _with_db(url: str, db: str) -> str:
    u = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + db, u.query, u.fragment))


def require_pg() -> str:
    if not PG_URL:
        msg = "WHARF_TEST_PG_URL is not set (scripts/test.sh starts a throw-away PostgreSQL)"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    need_tool("psql")
    return PG_URL


def create_pg_database() -> tuple[str, str]:
    """CREATE DATABASE wharf_<random> on WHARF_TEST_PG_URL; returns (name, url)."""
    base = require_pg()
    name = "wharf_" + secrets.token_hex(6)
    _psql(base, f'CREATE DATABASE "{name}"')
    return name, _with_db(base, name)


def drop_pg_database(name: str) -> None:
    try:
        _psql(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except Exception as e:  # best effort: the cluster is thrown away anyway
        warnings.warn(f"could not drop test database {name}: {e}")


# --------------------------------------------------------------------------- the server
class WharfServer:
    """One `wharf serve` process. Keeps its port and data dir across stop()/start()."""

    def __init__(self, data_dir: str | os.PathLike, database_url: str | None = None,
                 extra_args=(), env: dict | None = None, backend: str = "sqlite",
                 port: int | None = None, bin: str = WHARF_BIN):
        self.bin = bin
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.database_url = database_url
        self.extra_args = list(extra_args)
        self.env = dict(env or {})
        self.backend = backend
        self.port = port or free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"
        self.log_path = self.data_dir / "server.log"
        self.proc: subprocess.Popen | None = None
        self.last_exit_code: int | None = None
        self._tokens: dict[str, str] = {}  # region -> the administrator's token
        self._token_lock = threading.Lock()

    def __repr__(self):
        return f"<WharfServer {self.url} backend={self.backend} data_dir={self.data_dir}>"

    # -- process control
    def global_args(self) -> list[str]:
        args = ["--data-dir", str(self.data_dir)]
        if self.database_url:
            args += ["--database-url", self.database_url]
        return args + _global_opts(self.extra_args)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = READY_TIMEOUT) -> "WharfServer":
        if self.running:
            return self
        if not os.path.exists(self.bin):
            pytest.fail(f"wharf binary {self.bin} not found: run `cargo build --release` "
                        f"(or set WHARF_BIN)", pytrace=False)
        cmd = [self.bin, "serve", "--listen", self.host,
               "--data-dir", str(self.data_dir)]
        if self.database_url:
            cmd += ["--database-url", self.database_url]
        cmd += self.extra_args
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== {time.strftime('%H:%M:%S')} start: {' '.join(cmd)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=log, env=_clean_env(self.env),
                                         cwd=self.data_dir, start_new_session=True)
        _LIVE[id(self)] = self
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.last_exit_code = self.proc.returncode
                raise RuntimeError(f"wharf exited with {self.proc.returncode} during start-up\n"
                                   f"{self.log_tail()}")
            try:
                r = requests.get(self.url + "/v2/", timeout=1)
                if r.status_code in READY_STATUSES:
                    return self
                last = f"HTTP {r.status_code}"
            except requests.RequestException as e:
                last = type(e).__name__
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"wharf not ready on {self.url} after {timeout}s (last: {last})\n"
                           f"{self.log_tail()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int | None:
        """Send ``sig`` and wait for exit; SIGKILL after ``timeout`` (with a warning).
        Returns the exit code (negative = killed by a signal)."""
        if self.proc is None:
            return self.last_exit_code
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                warnings.warn(f"wharf {self.url} did not exit {timeout}s after signal {sig}; "
                              f"killing it")
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.last_exit_code = self.proc.returncode
        self.proc = None
        _LIVE.pop(id(self), None)
        return self.last_exit_code

    def kill(self) -> int | None:
        """SIGKILL (crash simulation)."""
        return self.stop(signal.SIGKILL)

    def restart(self, sig: int = signal.SIGTERM) -> "WharfServer":
        self.stop(sig)
        return self.start()

    # -- CLI on the same database
    def cli(self, *args, check: bool = True, input: str | None = None,
            env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run `wharf <global opts of this server> *args` (stdout/stderr captured, text)."""
        cmd = [self.bin, *self.global_args(), *map(str, args)]
        r = subprocess.run(cmd, capture_output=True, text=True, input=input,
                           stdin=None if input is not None else subprocess.DEVNULL,
                           env=_clean_env({**self.env, **(env or {})}), timeout=timeout,
                           cwd=self.data_dir)
        if check and r.returncode != 0:
            raise WharfCliError(r.returncode, cmd, r.stdout, r.stderr)
        return r

    def create_repo(self, name: str) -> str:
        """`wharf repo create NAME`; returns the printed repository URI."""
        return self.cli("repo", "create", name).stdout.strip()

    # -- settings (flags beat WHARF_* environment beat the --config file, as in wharf)
    def setting(self, name: str) -> str | None:
        """A global setting of this server as configured here (e.g. "regions"), or None."""
        value = _option(self.extra_args, "--" + name.replace("_", "-"))
        if value is None:
            value = self.env.get("WHARF_" + name.upper())
        config = _option(self.extra_args, "--config") or self.env.get("WHARF_CONFIG")
        if value is None and config:
            with open(config, "rb") as f:
                value = tomllib.load(f).get(name)
            if isinstance(value, list):
                value = ",".join(value)
        return None if value is None else str(value)

    @property
    def account_id(self) -> str:
        """The default account (the administrator's)."""
        return self.setting("account_id") or DEFAULT_ACCOUNT_ID

    @property
    def region(self) -> str:
        """The default region: the first of --regions."""
        regions = self.setting("regions")
        return regions.split(",")[0].strip() if regions else DEFAULT_REGION

    # -- authentication (see the module docstring)
    @property
    def credentials_file(self) -> Path:
        return self.data_dir / "admin-credentials"

    @property
    def admin_credentials(self) -> dict:
        """The administrator's access key, from <data_dir>/admin-credentials (written on the
        first start of the data dir)."""
        parser = configparser.ConfigParser()
        if not parser.read(self.credentials_file):
            raise FileNotFoundError(f"{self.credentials_file} missing: was the server started "
                                    f"on this data dir?")
        return {k: parser["default"][k] for k in ("aws_access_key_id", "aws_secret_access_key")}

    def aws_env(self) -> dict:
        """Environment variables that point AWS tools (aws, boto3, `wharf
        get-login-password`) at the administrator's credentials and this server's region."""
        no_proxy = "127.0.0.1,localhost"
        return {"AWS_SHARED_CREDENTIALS_FILE": str(self.credentials_file),
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_DEFAULT_REGION": self.region,
                "AWS_REGION": self.region,
                "AWS_EC2_METADATA_DISABLED": "true",
                "NO_PROXY": no_proxy, "no_proxy": no_proxy}

    def put_account_setting(self, name: str, value: str) -> None:
        """ECR `PutAccountSetting` as the administrator, e.g. BLOB_MOUNTING=ENABLED (cross-
        repository mounts are off by default, as in ECR)."""
        import boto3  # only the tests that change settings need it
        creds = self.admin_credentials
        client = boto3.client("ecr", endpoint_url=self.url, region_name=self.region,
                              aws_access_key_id=creds["aws_access_key_id"],
                              aws_secret_access_key=creds["aws_secret_access_key"])
        client.put_account_setting(name=name, value=value)

    def login_password(self, credentials: dict | None = None, region: str | None = None) -> str:
        """`wharf get-login-password` against this (running) server: a registry password for
        the access key ``credentials`` (keys as in admin_credentials; default: the
        administrator's), valid in ``region`` (default: the first)."""
        env = self.aws_env()
        if credentials is not None:
            env.update(AWS_ACCESS_KEY_ID=credentials["aws_access_key_id"],
                       AWS_SECRET_ACCESS_KEY=credentials["aws_secret_access_key"])
        return self.cli("get-login-password", "--endpoint-url", self.url,
                        "--region", region or self.region, env=env).stdout.strip()

    def token(self, region: str | None = None) -> str:
        """The administrator's registry password, as `aws ecr get-login-password` prints it
        (cached per region: tokens outlive restarts on the same data dir)."""
        region = region or self.region
        with self._token_lock:
            if region not in self._tokens:
                self._tokens[region] = self.login_password(region=region)
            return self._tokens[region]

    @property
    def auth(self) -> tuple[str, str]:
        """requests' ``auth=`` for the administrator: Basic with user AWS and the token."""
        return ("AWS", self.token())

    def auth_header(self) -> dict:
        basic = base64.b64encode(f"AWS:{self.token()}".encode()).decode()
        return {"Authorization": f"Basic {basic}"}

    def session(self) -> requests.Session:
        """A requests.Session that authenticates as the administrator."""
        s = requests.Session()
        s.auth = self.auth
        return s

    # -- diagnostics
    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return f"(no log at {self.log_path})"
        return f"--- last {min(lines, len(text))} lines of {self.log_path} ---\n" + \
            "\n".join(text[-lines:])


class _ServerFactory:
    def __init__(self, tmp_root: Path):
        self.tmp_root = tmp_root
        self.servers: list[WharfServer] = []
        self._dbs: list[str] = []

    def __call__(self, extra_args=(), backend: str = "sqlite", env: dict | None = None,
                 data_dir: str | os.PathLike | None = None, database_url: str | None = None,
                 start: bool = True) -> WharfServer:
        if backend not in ("sqlite", "postgres"):
            raise ValueError(f"unknown backend {backend!r}")
        if data_dir is None:
            data_dir = tempfile.mkdtemp(prefix=f"wharf-{backend}-", dir=self.tmp_root)
        if backend == "postgres" and database_url is None:
            name, database_url = create_pg_database()
            self._dbs.append(name)
        srv = WharfServer(data_dir, database_url=database_url, extra_args=extra_args,
                          env=env, backend=backend)
        self.servers.append(srv)
        if start:
            srv.start()
        return srv

    def close(self):
        for s in self.servers:
            s.stop()
        for name in self._dbs:
            drop_pg_database(name)


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def _wharf_tmp() -> Path:
    root = Path(tempfile.mkdtemp(prefix="wharf-e2e-"))
    yield root
    if not KEEP:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def wharf(request, _wharf_tmp) -> WharfServer:
    """The shared server; its backend comes from pytest_generate_tests below."""
    backend = getattr(request, "param", "sqlite")
    f = _ServerFactory(_wharf_tmp)
    srv = f(backend=backend, data_dir=_wharf_tmp / f"session-{backend}")
    yield srv
    f.close()


@pytest.fixture
def repo(wharf) -> str:
    name = unique_name("t")
    wharf.create_repo(name)
    return name


@pytest.fixture
def wharf_factory(_wharf_tmp):
    f = _ServerFactory(_wharf_tmp)
    yield f
    f.close()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend(request) -> str:
    if request.param == "postgres":
        require_pg()
    return request.param


@pytest.fixture(scope="session")
def wharf_any(backend, _wharf_tmp) -> WharfServer:
    f = _ServerFactory(_wharf_tmp)
    srv = f(backend=backend, data_dir=_wharf_tmp / f"session-any-{backend}")
    yield srv
    f.close()


# --------------------------------------------------------------------------- hooks
def pytest_generate_tests(metafunc):
    """The conformance suite runs on both metadata backends (PostgreSQL whenever it is
    available, always in CI); the other suites use the `wharf` server on SQLite."""
    if "wharf" not in metafunc.fixturenames:
        return
    both = metafunc.module.__name__.startswith("test_conformance") and (PG_URL or IN_CI)
    metafunc.parametrize("wharf", ["sqlite", "postgres"] if both else ["sqlite"], indirect=True, scope="session")


def pytest_configure(config):
    # SIGTERM (e.g. from `timeout` in scripts/test.sh): kill our servers, then let pytest
    # unwind as on Ctrl-C (summary + teardown).
    def on_term(signum, frame):
        _kill_live_servers()
        raise KeyboardInterrupt("SIGTERM")

    try:
        signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not in the main thread
        pass


def pytest_report_header(config):
    exists = "" if os.path.exists(WHARF_BIN) else "  (MISSING)"
    return [f"wharf: WHARF_BIN={WHARF_BIN}{exists}",
            f"wharf: postgres backend {'ON' if PG_URL else 'OFF (WHARF_TEST_PG_URL unset)'}; "
            f"CI={IN_CI}"]


def _servers_of(item) -> list[WharfServer]:
    out = []
    for v in getattr(item, "funcargs", {}).values():
        if isinstance(v, WharfServer):
            out.append(v)
        elif isinstance(v, _ServerFactory):
            out.extend(v.servers)
    seen, uniq = set(), []
    for s in out:
        if id(s) not in seen:
            seen.add(id(s))
            uniq.append(s)
    return uniq


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    # CI: a skip is a failure (unless explicitly allowed), xfail stays xfail.
    if (rep.skipped and IN_CI and not hasattr(rep, "wasxfail")
            and os.environ.get("WHARF_TEST_ALLOW_SKIP", "") in ("", "0")):
        reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        rep.outcome = "failed"
        rep.longrepr = f"skipped under CI=true, which is not allowed: {reason}"
    if rep.failed:
        for s in _servers_of(item):
            rep.sections.append((f"wharf server {s.url} ({s.backend})", s.log_tail()))
