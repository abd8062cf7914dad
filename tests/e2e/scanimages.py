"""Real-content images for the vulnerability-scanning tests (test_scanning.py), and the facts
the tests expect about them, worked out here from the advisory data without wharf.

Every image holds real package records, never made-up ones:

python_layer(name, version)   the files of a real wheel from PyPI (pip download, cached) under
                              usr/lib/python3.11/site-packages: requests 2.30.0 has
                              PYSEC-2023-74, requests 2.31.0 (its fix) has nothing.
go_layer(fixed)               a real Go binary: Debian bookworm's /usr/bin/shfmt (package
                              `shfmt`, built by Debian with go1.19.8: ~80 stdlib advisories);
                              the fixed one is the same program from PyPI's `shfmt-py` 4.2.0
                              wheel, built upstream with go1.27.1 (none in the snapshot).
cargo_layer(fixed)            a Cargo.lock that `cargo generate-lockfile` wrote for a crate
                              pinning smallvec 1.6.0, regex 1.5.4 and libwebp-sys 0.9.2
                              (RUSTSEC-2021-0003, -2022-0013, -2023-0061) or their fixes.
rpm_layer(packages)           an rpm database written by Debian's rpm 4.18 (sqlite backend,
                              `rpmdb.sqlite`) listing header-only packages built with rpmbuild
                              under AlmaLinux 9 names and versions, plus an AlmaLinux 9
                              os-release.
dpkg_layer(drop=(), keep=None) this machine's /var/lib/dpkg/status and /etc/os-release (a real
                              Debian 12 system), optionally with only some packages' paragraphs.
bomb_layer()                  a gzip layer that inflates to a few hundred MiB of zeros.
helm_artifact()               a Helm chart as an OCI artifact: not an image.

Advisory data: tests/data/vulndb (real OSV exports and CISA's KEV list, see its README) and
DEBIAN_RECORDS, Debian:12 records written from the Debian security tracker (the fixed versions
are those in the changelogs of the packages installed here).

Independent checks: expected_ids_*() evaluate OSV ranges the way the OSV schema says, with
comparators that are not wharf's: `packaging` for PyPI, a semver implementation here for Go
and crates.io, rpm's own rpm.vercmp (rpm's Lua) for AlmaLinux and `dpkg --compare-versions`
for Debian. So an id the tests expect is a fact about the data.

Downloads and rpm databases are cached under $WHARF_TEST_CACHE (default ~/.cache/wharf-e2e).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from images import (FIXED_MTIME, OCI_LAYER_GZIP, Blob, Image, Layer, busybox_rootfs_bytes,
                    canonical_json, make_layer, tar_bytes)

REPO_ROOT = Path(__file__).resolve().parents[2]
VULNDB_DIR = REPO_ROOT / "tests" / "data" / "vulndb"
OSV_DIR = VULNDB_DIR / "osv"
KEV_JSON = VULNDB_DIR / "kev.json"
CACHE_DIR = Path(os.environ.get("WHARF_TEST_CACHE") or Path.home() / ".cache" / "wharf-e2e")
SITE_PACKAGES = "usr/lib/python3.11/site-packages"


# =========================================================================== OSV evaluation
def osv_records(path: str | os.PathLike) -> list[dict]:
    """Every record of an OSV export zip."""
    with zipfile.ZipFile(path) as z:
        return [json.loads(z.read(n)) for n in z.namelist() if n.endswith(".json")]


@functools.lru_cache(maxsize=None)
def ecosystem_records(ecosystem: str) -> tuple:
    return tuple(osv_records(OSV_DIR / ecosystem / "all.zip"))


def record_by_id(ecosystem: str, rid: str) -> dict:
    return next(r for r in ecosystem_records(ecosystem) if r["id"] == rid)


def _semver_key(v: str):
    v = v.lstrip("v").partition("+")[0]
    core, _, pre = v.partition("-")
    nums = [int(x) for x in core.split(".")]
    nums += [0] * (3 - len(nums))
    ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split(".")) if pre else ()
    # semver 2.0 precedence: a pre-release sorts below its release
    return (tuple(nums), 0 if pre else 1, ids)


def semver_cmp(a: str, b: str) -> int:
    ka, kb = _semver_key(a), _semver_key(b)
    return (ka > kb) - (ka < kb)


def pep440_cmp(a: str, b: str) -> int:
    from packaging.version import Version
    va, vb = Version(a), Version(b)
    return (va > vb) - (va < vb)


def pep503(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _events(rng: dict) -> list[tuple[str, str]]:
    return [next(iter(e.items())) for e in rng["events"]]


def entry_affects(entry: dict, version: str, cmp) -> bool:
    """OSV evaluation of one affected entry: exact `versions`, then each SEMVER/ECOSYSTEM
    range replayed in version order (introduced "0" first; fixed is not affected)."""
    if version in entry.get("versions", []):
        return True
    for rng in entry.get("ranges", []):
        if rng["type"] not in ("SEMVER", "ECOSYSTEM"):
            continue

        def order(a, b):
            za, zb = a == ("introduced", "0"), b == ("introduced", "0")
            if za or zb:
                return zb - za if not (za and zb) else 0
            return cmp(a[1], b[1])

        state = False
        for kind, v in sorted(_events(rng), key=functools.cmp_to_key(order)):
            if kind == "introduced" and (v == "0" or cmp(version, v) >= 0):
                state = True
            elif kind == "fixed" and cmp(version, v) >= 0:
                state = False
            elif kind == "last_affected" and cmp(version, v) > 0:
                state = False
        if state:
            return True
    return False


def matching_ids(records, ecosystem: str, name: str, version: str, cmp,
                 norm=lambda s: s) -> set[str]:
    out = set()
    for r in records:
        if r.get("withdrawn"):
            continue
        for a in r.get("affected", []):
            p = a.get("package") or {}
            if (p.get("ecosystem") == ecosystem and norm(p.get("name", "")) == norm(name)
                    and entry_affects(a, version, cmp)):
                out.add(r["id"])
    return out


def rpm_vercmp_many(pairs) -> dict:
    """{(a, b): -1|0|1} by rpm's own EVR comparison (rpm.vercmp in rpm's embedded Lua)."""
    pairs = sorted(set(pairs))
    if not pairs:
        return {}
    for a, b in pairs:
        assert '"' not in a + b and "\\" not in a + b, (a, b)
    lua = "".join(f'io.write(rpm.vercmp("{a}", "{b}"), "\\n")\n' for a, b in pairs)
    out = subprocess.run(["rpm", "--eval", "%{lua:\n" + lua + "}"], capture_output=True,
                         text=True, check=True).stdout.split()
    assert len(out) == len(pairs), out
    return {p: int(x) for p, x in zip(pairs, out)}


def _simple_ranges(entry: dict) -> list[tuple[str, str | None]]:
    """[(introduced, fixed|None)] of an entry whose ranges are single ECOSYSTEM intervals (all
    the AlmaLinux and Debian records used here are)."""
    out = []
    for rng in entry.get("ranges", []):
        evs = _events(rng)
        assert rng["type"] == "ECOSYSTEM" and evs[0][0] == "introduced" and len(evs) <= 2 \
            and (len(evs) == 1 or evs[1][0] == "fixed"), rng
        out.append((evs[0][1], evs[1][1] if len(evs) == 2 else None))
    assert not entry.get("versions"), entry
    return out


def rpm_matching_ids(records, ecosystem: str, installed: dict[str, str]) -> dict[str, set[str]]:
    """{package: advisory ids affecting it} for rpm packages {name: "[E:]V-R"}."""
    todo = []
    for r in records:
        if r.get("withdrawn"):
            continue
        for a in r.get("affected", []):
            p = a.get("package") or {}
            if p.get("ecosystem") == ecosystem and p.get("name") in installed:
                todo += [(r["id"], p["name"], i, f) for i, f in _simple_ranges(a)]
    pairs = [(installed[n], v) for _, n, i, f in todo for v in (i, f) if v not in (None, "0")]
    c = rpm_vercmp_many(pairs)
    out: dict[str, set[str]] = {n: set() for n in installed}
    for rid, n, i, f in todo:
        v = installed[n]
        if (i == "0" or c[(v, i)] >= 0) and (f is None or c[(v, f)] < 0):
            out[n].add(rid)
    return out


def rpm_highest_fix(records, ecosystem: str, name: str) -> str:
    fixes = sorted({f for r in records for a in r.get("affected", [])
                    if (a.get("package") or {}).get("ecosystem") == ecosystem
                    and a["package"]["name"] == name
                    for _, f in _simple_ranges(a) if f})
    c = rpm_vercmp_many([(a, b) for a in fixes for b in fixes])
    return sorted(fixes, key=functools.cmp_to_key(lambda a, b: c[(a, b)]))[-1]


def dpkg_cmp(a: str, b: str) -> int:
    for op, res in (("lt", -1), ("eq", 0)):
        if subprocess.run(["dpkg", "--compare-versions", a, op, b]).returncode == 0:
            return res
    return 1


def kev_cves() -> set[str]:
    return {v["cveID"] for v in json.loads(KEV_JSON.read_text())["vulnerabilities"]}


# =========================================================================== downloads
# Real release files from PyPI, pinned by their published SHA-256 (PyPI files never change).
PYPI_FILES = {
    ("requests", "2.30.0"): ("requests-2.30.0-py3-none-any.whl",
                             "10e94cc4f3121ee6da529d358cdaeaff2f1c409cd377dbc72b825852f2f7e294"),
    ("requests", "2.31.0"): ("requests-2.31.0-py3-none-any.whl",
                             "58cd2187c01e70e6e26505bca751777aa9f2ee0b7f4300988b709f44e013003f"),
    ("shfmt-py", "4.2.0"): ("shfmt_py-4.2.0-py2.py3-none-manylinux2014_x86_64.whl",
                            "867b55792952d4e4aa27a1b2d578e63b745a77e11b7742d2f6258ef123a9c8f2"),
}
_PIP_PLATFORM = {"shfmt-py": ["--platform", "manylinux2014_x86_64", "--python-version", "3.11"]}


def pypi_file(name: str, version: str) -> Path:
    """The wheel of name==version, from the cache or `pip download` (checked against its
    pinned SHA-256)."""
    filename, sha = PYPI_FILES[(name, version)]
    return download_wheel(CACHE_DIR / "pypi", f"{name}=={version}", filename, sha,
                          _PIP_PLATFORM.get(name, []))


def download_wheel(dest: Path, spec: str, filename: str, sha: str, pip_args=()) -> Path:
    """`dest/filename`, fetched with `pip download SPEC` when missing, and checked against
    its pinned SHA-256 (a file that does not match is removed)."""
    path = dest / filename
    if not path.exists():
        dest.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=dest) as td:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   "--disable-pip-version-check", "--no-cache-dir", "-q", "-d", td,
                   *pip_args, spec]
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
            if r.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stdout}\n{r.stderr}")
            os.replace(Path(td) / filename, path)
    got = hashlib.sha256(path.read_bytes()).hexdigest()
    if got != sha:
        path.unlink()
        raise RuntimeError(f"{path}: sha256 {got}, expected {sha}")
    return path


def wheel_files(path: Path, prefix: str = SITE_PACKAGES) -> dict[str, bytes]:
    """The files a wheel installs into site-packages (its .data/ directory left out)."""
    out = {}
    with zipfile.ZipFile(path) as z:
        for n in z.namelist():
            if n.endswith("/") or ".data/" in n:
                continue
            out[f"{prefix}/{n}"] = z.read(n)
    return out


def dist_info_dir(name: str, version: str) -> str:
    return f"{SITE_PACKAGES}/{name}-{version}.dist-info"


# =========================================================================== Python
@functools.lru_cache(maxsize=None)
def python_layer(name: str, version: str) -> Layer:
    """A layer with the real installed files of ``name==version`` (its METADATA included)."""
    files = wheel_files(pypi_file(name, version))
    assert f"{dist_info_dir(name, version)}/METADATA" in files, sorted(files)
    return make_layer(files)


def expected_ids_pypi(name: str, version: str, extra_records=()) -> set[str]:
    recs = list(ecosystem_records("PyPI")) + list(extra_records)
    return matching_ids(recs, "PyPI", name, version, pep440_cmp, pep503)


# A real GitHub advisory for the same flaw as PYSEC-2023-74 (GitHub's id is an alias of
# the PYSEC record): https://github.com/advisories/GHSA-j8r2-6x86-q33q. The PyPI export above
# holds only PYSEC records, so this one is written here to check that aliased advisories
# make one finding.
GHSA_REQUESTS = {
    "schema_version": "1.4.0",
    "id": "GHSA-j8r2-6x86-q33q",
    "modified": "2023-05-26T00:00:00Z",
    "published": "2023-05-22T20:36:32Z",
    "aliases": ["CVE-2023-32681"],
    "summary": "Unintended leak of Proxy-Authorization header in requests",
    "affected": [{
        "package": {"ecosystem": "PyPI", "name": "requests", "purl": "pkg:pypi/requests"},
        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "2.3.0"}, {"fixed": "2.31.0"}]}],
    }],
    "references": [
        {"type": "WEB", "url": "https://github.com/psf/requests/security/advisories/GHSA-j8r2-6x86-q33q"},
        {"type": "ADVISORY", "url": "https://nvd.nist.gov/vuln/detail/CVE-2023-32681"},
    ],
    "database_specific": {"severity": "MODERATE"},
}


# =========================================================================== Go
DEBIAN_GO_BINARY = "/usr/bin/shfmt"  # Debian bookworm package `shfmt` 3.6.0-1+b2, go1.19.8


def go_buildinfo(data: bytes) -> tuple[str, str]:
    """(Go version, module info) from a Go >= 1.18 binary's build info blob, as
    `go version -m` reads it."""
    i = data.find(b"\xff Go buildinf:")
    if i < 0:
        raise ValueError("no Go build info")
    flags = data[i + 15]
    if not flags & 2:
        raise ValueError("pre-1.18 build info (pointers) is not read here")
    pos, out = i + 32, []
    for _ in range(2):
        n = shift = 0
        while True:
            b = data[pos]
            pos += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        out.append(data[pos:pos + n])
        pos += n
    mod = out[1]
    if len(mod) >= 33:  # sentinel-wrapped
        mod = mod[16:-16]
    return out[0].decode(), mod.decode(errors="replace")


def go_modules(modinfo: str) -> list[tuple[str, str]]:
    """(path, version) of the main module's dependencies (`dep` lines, `=>` replacements)."""
    out = []
    for line in modinfo.splitlines():
        parts = line.split("\t")
        if parts[0] == "dep":
            out.append((parts[1], parts[2]))
        elif parts[0] == "=>" and out:
            out[-1] = (parts[1], parts[2])
    return out


def go_binary(fixed: bool) -> tuple[str, bytes]:
    """(path in the image, bytes) of the real Go binary of each side."""
    if not fixed:
        if not os.path.exists(DEBIAN_GO_BINARY):
            raise FileNotFoundError(f"{DEBIAN_GO_BINARY} missing: apt-get install shfmt")
        return "usr/bin/shfmt", Path(DEBIAN_GO_BINARY).read_bytes()
    with zipfile.ZipFile(pypi_file("shfmt-py", "4.2.0")) as z:
        return "usr/local/bin/shfmt", z.read("shfmt_py-4.2.0.data/scripts/shfmt")


@functools.lru_cache(maxsize=None)
def go_layer(fixed: bool) -> Layer:
    path, data = go_binary(fixed)
    return make_layer(tar_bytes({path: data}, modes={path: 0o755}))


def expected_ids_go(fixed: bool) -> tuple[str, set[str]]:
    """(stdlib version, advisory ids) for the binary of each side, from Go's OSV data."""
    goversion, modinfo = go_buildinfo(go_binary(fixed)[1])
    stdlib = goversion.removeprefix("go")
    recs = ecosystem_records("Go")
    ids = matching_ids(recs, "Go", "stdlib", stdlib, semver_cmp)
    for path, version in go_modules(modinfo):
        ids |= matching_ids(recs, "Go", path, version, semver_cmp)
    return stdlib, ids


# =========================================================================== Cargo
# Written by `cargo generate-lockfile` (cargo 1.95, crates.io index of 2026) for a crate
# `wharf-scan-fixture` depending on libwebp-sys "=0.9.2", regex "=1.5.4" and smallvec "=1.6.0".
CARGO_LOCK_VULNERABLE = """# This file is automatically @generated by Cargo.
# It is not intended for manual editing.
version = 4

[[package]]
name = "aho-corasick"
version = "0.7.20"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "cc936419f96fa211c1b9166887b38e5e40b19958e5b895be7c1f93adec7071ac"
dependencies = [
 "memchr",
]

[[package]]
name = "cc"
version = "1.11.3"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "02f0e023adb368345ce0ca6cdfc0f24a06554468d0e8503e14a0841de79bfa69"
dependencies = [
 "find-msvc-tools",
 "jobserver",
 "libc",
 "shlex",
]

[[package]]
name = "cfg-if"
version = "1.0.5"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "4e7648175b45a9a48536d676f68d918270699102aa8dab5496df06904c914600"

[[package]]
name = "find-msvc-tools"
version = "0.1.15"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "1c66915cc5391097de7a2b0b972e8505aa33c0df401fd3a6811dbdb32881ba48"

[[package]]
name = "getrandom"
version = "0.4.3"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "300e883d756b2e4ec94e02791f39b04b522276138852cfc41d9fb7e904106099"
dependencies = [
 "cfg-if",
 "libc",
 "r-efi",
]

[[package]]
name = "glob"
version = "0.3.4"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "e4eba85ea1d0a966a983acd07deee566e67395d2d96b6fb39e62b5a833f1eb0b"

[[package]]
name = "jobserver"
version = "0.1.35"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "1c00acbd29eabad4a2392fa0e921c874934dbbf4194312ad20f04a0ed67a3cb3"
dependencies = [
 "getrandom",
 "libc",
]

[[package]]
name = "libc"
version = "0.2.191"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "65cd87c9a6d60536580b316ad985726104730a5151c99845f2490428ef91240a"

[[package]]
name = "libwebp-sys"
version = "0.9.2"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "a5df1e76f0acef0058aa2164ccf74e610e716e7f9eeb3ee2283de7d43659d823"
dependencies = [
 "cc",
 "glob",
]

[[package]]
name = "memchr"
version = "2.8.3"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "cf8baf1c55e62ffcace7a9f06f4bd9cd3f0c4beb022d3b367256b91b87513d98"

[[package]]
name = "r-efi"
version = "6.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "f8dcc9c7d52a811697d2151c701e0d08956f92b0e24136cf4cf27b57a6a0d9bf"

[[package]]
name = "regex"
version = "1.5.4"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "d07a8629359eb56f1e2fb1652bb04212c072a87ba68546a04065d525673ac461"
dependencies = [
 "aho-corasick",
 "memchr",
 "regex-syntax",
]

[[package]]
name = "regex-syntax"
version = "0.6.29"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "f162c6dd7b008981e4d40210aca20b4bd0f9b60ca9271061b07f78537722f2e1"

[[package]]
name = "shlex"
version = "2.0.1"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "f8fadd59c855ef2080decdef8ff161eb6661b86933c9d82e5ba29dc602a55aba"

[[package]]
name = "smallvec"
version = "1.6.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "1a55ca5f3b68e41c979bf8c46a6f1da892ca4db8f94023ce0bd32407573b1ac0"

[[package]]
name = "wharf-scan-fixture"
version = "0.1.0"
dependencies = [
 "libwebp-sys",
 "regex",
 "smallvec",
]
"""

# The same, written for libwebp-sys "=0.9.3", regex "=1.5.5", smallvec "=1.6.1": cargo's output
# differed from the one above only in these three packages' versions and checksums.
CARGO_FIXES = {
    "libwebp-sys": ("0.9.2", "a5df1e76f0acef0058aa2164ccf74e610e716e7f9eeb3ee2283de7d43659d823",
                    "0.9.3", "0c94b08ea3ec9eedea0fa779848e7fa183dc52aa60882488828883503faf630f"),
    "regex": ("1.5.4", "d07a8629359eb56f1e2fb1652bb04212c072a87ba68546a04065d525673ac461",
              "1.5.5", "1a11647b6b25ff05a515cb92c365cec08801e83423a235b51e231e1808747286"),
    "smallvec": ("1.6.0", "1a55ca5f3b68e41c979bf8c46a6f1da892ca4db8f94023ce0bd32407573b1ac0",
                 "1.6.1", "fe0f37c9e8f3c5a4a66ad655a93c74daac4ad00c441533bf5c6e7990bb42604e"),
}


def cargo_lock(fixed: bool) -> str:
    text = CARGO_LOCK_VULNERABLE
    if fixed:
        for name, (old, old_sum, new, new_sum) in CARGO_FIXES.items():
            block = (f'name = "{name}"\nversion = "{old}"\nsource = "registry+https://github.com/'
                     f'rust-lang/crates.io-index"\nchecksum = "{old_sum}"')
            assert text.count(block) == 1, name
            text = text.replace(block, block.replace(old, new, 1).replace(old_sum, new_sum))
    return text


CARGO_LOCK_PATH = "usr/src/wharf-scan-fixture/Cargo.lock"


@functools.lru_cache(maxsize=None)
def cargo_layer(fixed: bool) -> Layer:
    return make_layer({CARGO_LOCK_PATH: cargo_lock(fixed)})


def cargo_packages(fixed: bool) -> list[tuple[str, str]]:
    """(name, version) of the crates.io packages the lock file pins."""
    import tomllib
    lock = tomllib.loads(cargo_lock(fixed))
    return [(p["name"], p["version"]) for p in lock["package"]
            if p.get("source", "").startswith("registry+")]


def expected_ids_cargo(fixed: bool) -> dict[str, set[str]]:
    """{"name version": ids} for every pinned crate with an advisory."""
    recs = ecosystem_records("crates.io")
    out = {}
    for name, version in cargo_packages(fixed):
        ids = matching_ids(recs, "crates.io", name, version, semver_cmp)
        if ids:
            out[f"{name} {version}"] = ids
    return out


# =========================================================================== rpm (AlmaLinux 9)
# AlmaLinux 9.2's /etc/os-release (from the almalinux-release 9.2 package).
ALMALINUX_92_OS_RELEASE = """NAME="AlmaLinux"
VERSION="9.2 (Turquoise Kodkod)"
ID="almalinux"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.2"
PLATFORM_ID="platform:el9"
PRETTY_NAME="AlmaLinux 9.2 (Turquoise Kodkod)"
ANSI_COLOR="0;34"
LOGO="fedora-logo-icon"
CPE_NAME="cpe:/o:almalinux:almalinux:9::baseos"
HOME_URL="https://almalinux.org/"
DOCUMENTATION_URL="https://wiki.almalinux.org/"
BUG_REPORT_URL="https://bugs.almalinux.org/"

ALMALINUX_MANTISBT_PROJECT="AlmaLinux-9"
ALMALINUX_MANTISBT_PROJECT_VERSION="9.2"
REDHAT_SUPPORT_PRODUCT="AlmaLinux"
REDHAT_SUPPORT_PRODUCT_VERSION="9.2"
"""


@dataclass(frozen=True)
class Rpm:
    name: str
    evr: str                 # "[epoch:]version-release", as in the AlmaLinux records
    source: str = ""         # source package (for subpackages such as openssl-libs)
    arch: str = "x86_64"

    @property
    def src(self) -> str:
        return self.source or self.name


# AlmaLinux 9 package versions that AlmaLinux really shipped: each is the fixed version of
# one of its advisories (openssl 1:3.0.7-16.el9_2 of ALSA-2023:3722, sudo 1.9.5p2-7.el9_1.1
# of ALSA-2023:0282, less 590-2.el9_2 of ALSA-2023:3725), so later advisories affect them.
ALMA_VULNERABLE = (
    Rpm("openssl", "1:3.0.7-16.el9_2"),
    Rpm("openssl-libs", "1:3.0.7-16.el9_2", source="openssl"),
    Rpm("sudo", "1.9.5p2-7.el9_1.1"),
    Rpm("less", "590-2.el9_2"),
    Rpm("tzdata", "2023c-1.el9", arch="noarch"),
)


def alma_fixed() -> tuple[Rpm, ...]:
    """The same packages at the highest fixed version any AlmaLinux 9 advisory names (real
    versions too): nothing in the data affects them."""
    recs = ecosystem_records("AlmaLinux:9")
    out = []
    for p in ALMA_VULNERABLE:
        try:
            evr = rpm_highest_fix(recs, "AlmaLinux:9", p.name)
        except IndexError:  # no advisory names it (tzdata)
            evr = p.evr
        out.append(Rpm(p.name, evr, p.source, p.arch))
    return tuple(out)


def expected_ids_rpm(packages) -> dict[str, set[str]]:
    return rpm_matching_ids(ecosystem_records("AlmaLinux:9"), "AlmaLinux:9",
                            {p.name: p.evr for p in packages})


def _split_evr(evr: str) -> tuple[str, str, str]:
    epoch, _, vr = evr.rpartition(":")
    version, _, release = vr.rpartition("-")
    return epoch or "0", version, release


def _spec(source: str, packages: list[Rpm]) -> str:
    epoch, version, release = _split_evr(packages[0].evr)
    assert all(p.evr == packages[0].evr for p in packages), packages
    lines = [f"Name: {source}"]
    if epoch != "0":
        lines.append(f"Epoch: {epoch}")
    lines += [f"Version: {version}", f"Release: {release}", "Summary: wharf test fixture",
              "License: MIT"]
    if packages[0].arch == "noarch":
        lines.append("BuildArch: noarch")
    lines += ["%description", "wharf test fixture (header only)"]
    for p in packages:
        if p.name == source:
            lines.append("%files")
        else:
            assert p.name.startswith(source + "-"), p
            sub = p.name[len(source) + 1:]
            lines += [f"%package {sub}", "Summary: wharf test fixture", f"%description {sub}",
                      "fixture", f"%files {sub}"]
    return "\n".join(lines) + "\n"


def build_rpmdb(packages, arch: str = "x86_64") -> bytes:
    """rpmdb.sqlite (rpm's sqlite backend, as AlmaLinux 9 images carry it) listing
    ``packages``: header-only rpms built with rpmbuild and installed with `rpm --justdb`,
    both Debian's rpm 4.18. Cached by content."""
    for tool in ("rpm", "rpmbuild"):
        if shutil.which(tool) is None:
            raise FileNotFoundError(f"{tool} missing: apt-get install rpm")
    packages = [Rpm(p.name, p.evr, p.source, "noarch" if p.arch == "noarch" else arch)
                for p in packages]
    rpm_version = subprocess.run(["rpm", "--version"], capture_output=True, text=True).stdout
    key = hashlib.sha256(json.dumps([rpm_version, [p.__dict__ for p in packages]],
                                    sort_keys=True).encode()).hexdigest()[:20]
    cached = CACHE_DIR / "rpmdb" / f"{key}.sqlite"
    if cached.exists():
        return cached.read_bytes()
    groups: dict[str, list[Rpm]] = {}
    for p in packages:
        groups.setdefault(p.src, []).append(p)
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(FIXED_MTIME), "HOME": "/nonexistent"}
    with tempfile.TemporaryDirectory() as td:
        work = Path(td)
        specs = []
        for source, group in groups.items():
            spec = work / f"{source}.spec"
            spec.write_text(_spec(source, group))
            specs.append(str(spec))
        subprocess.run(["rpmbuild", "--quiet", "-bb", "--define", f"_topdir {work}/build",
                        "--define", "_build_id_links none",
                        "--define", "use_source_date_epoch_as_buildtime 1",
                        "--define", "_buildhost wharf-test", "--target", arch, *specs],
                       check=True, capture_output=True, env=env, timeout=300)
        rpms = sorted(str(p) for p in (work / "build" / "RPMS").rglob("*.rpm"))
        assert len(rpms) == len(packages), rpms
        db = work / "db"
        db.mkdir()
        common = ["--dbpath", str(db), "--define", "_db_backend sqlite"]
        subprocess.run(["rpm", *common, "--initdb"], check=True, capture_output=True, env=env)
        subprocess.run(["rpm", *common, "-i", "--justdb", "--nodeps", "--ignorearch",
                        "--ignoreos", "--nosignature", *rpms],
                       check=True, capture_output=True, env=env, timeout=300)
        listed = subprocess.run(["rpm", *common, "-qa", "--qf",
                                 "%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE} %{SOURCERPM}\\n"],
                                check=True, capture_output=True, text=True, env=env).stdout
        want = sorted(f"{p.name} {p.evr if ':' in p.evr else '0:' + p.evr} "
                      f"{p.src}-{_split_evr(p.evr)[1]}-{_split_evr(p.evr)[2]}.src.rpm"
                      for p in packages)
        assert sorted(listed.splitlines()) == want, (listed, want)
        path = db / "rpmdb.sqlite"
        # rpm keeps its database in WAL mode: fold the log into the file, as rpm does when
        # it closes the database cleanly before an image layer is written.
        con = sqlite3.connect(path)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
        data = path.read_bytes()
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, cached)
    return data


@functools.lru_cache(maxsize=None)
def rpm_layer(packages, arch: str = "x86_64", os_release: str = ALMALINUX_92_OS_RELEASE) -> Layer:
    return make_layer({"var/lib/rpm/rpmdb.sqlite": build_rpmdb(packages, arch),
                       "etc/os-release": os_release})


def almalinux_os_release(version_id: str) -> str:
    """An AlmaLinux 9.x os-release for images whose packages are of a later minor release."""
    return (ALMALINUX_92_OS_RELEASE.replace('VERSION="9.2 (Turquoise Kodkod)"', f'VERSION="{version_id}"')
            .replace('PRETTY_NAME="AlmaLinux 9.2 (Turquoise Kodkod)"', f'PRETTY_NAME="AlmaLinux {version_id}"')
            .replace("9.2", version_id))


ALMA_SEVERITY = {"Low": "LOW", "Moderate": "MEDIUM", "Important": "HIGH", "Critical": "CRITICAL"}


def alma_severity(rid: str) -> str:
    """ECR's severity for an AlmaLinux advisory: the distribution's own rating, the prefix of
    its summary ("Important: openssl security update")."""
    prefix = record_by_id("AlmaLinux:9", rid)["summary"].split(":", 1)[0]
    return ALMA_SEVERITY[prefix]


# =========================================================================== dpkg (Debian 12)
DPKG_STATUS = "/var/lib/dpkg/status"


def dpkg_paragraphs(text: str) -> list[str]:
    return [p for p in text.split("\n\n") if p.strip()]


def _field(paragraph: str, key: str) -> str | None:
    m = re.search(rf"^{re.escape(key)}: (.*)$", paragraph, re.M)
    return m.group(1).strip() if m else None


def dpkg_installed(status_text: str | None = None) -> dict[str, tuple[str, str, str]]:
    """{package: (version, source name, source version)} of the installed packages."""
    text = status_text if status_text is not None else Path(DPKG_STATUS).read_text()
    out = {}
    for p in dpkg_paragraphs(text):
        if _field(p, "Status") != "install ok installed":
            continue
        name, version = _field(p, "Package"), _field(p, "Version")
        src = _field(p, "Source") or name
        m = re.match(r"(\S+)(?: \((.+)\))?$", src)
        out[name] = (version, m.group(1), m.group(2) or version)
    return out


def dpkg_status_text(drop=(), keep=None) -> str:
    """This machine's dpkg status, without the paragraphs of the packages in ``drop``, and
    with only those in ``keep`` if given (paragraphs are left as they are)."""
    text = Path(DPKG_STATUS).read_text()
    if not drop and keep is None:
        return text
    kept = [p for p in dpkg_paragraphs(text) if _field(p, "Package") not in drop
            and (keep is None or _field(p, "Package") in keep)]
    assert len(kept) < len(dpkg_paragraphs(text)), (drop, keep)
    return "\n\n".join(kept) + "\n"


# A few real paragraphs, for tests about the API rather than the data (a full status makes a
# scan look up ~800 packages).
DPKG_CORE = ("apt", "libapt-pkg6.0", "libc6", "libc-bin", "libssl3", "openssl", "zlib1g",
             "base-files", "bash", "coreutils", "tar")


@functools.lru_cache(maxsize=None)
def dpkg_layer(drop=(), keep=None) -> Layer:
    """This Debian 12 system's package database and os-release (real files; ``drop`` and
    ``keep`` select packages' paragraphs)."""
    return make_layer({"var/lib/dpkg/status": dpkg_status_text(drop, keep),
                       "etc/os-release": Path("/etc/os-release").read_text()})


def _debian_record(cve: str, source: str, fixed: str | None, details: str,
                   severity: str | None = None) -> dict:
    events = [{"introduced": "0"}] + ([{"fixed": fixed}] if fixed else [])
    rec = {
        "schema_version": "1.6.0",
        "id": f"DEBIAN-{cve}",
        "modified": "2026-08-01T00:00:00Z",
        "published": "2026-08-01T00:00:00Z",
        "upstream": [cve],
        "details": details,
        "affected": [{
            "package": {"name": source, "ecosystem": "Debian:12",
                        "purl": f"pkg:deb/debian/{source}?arch=source"},
            "ranges": [{"type": "ECOSYSTEM", "events": events}],
        }],
        "references": [{"type": "ADVISORY",
                        "url": f"https://security-tracker.debian.org/tracker/{cve}"}],
    }
    if severity:
        rec["severity"] = [{"type": "CVSS_V3", "score": severity}]
    return rec


# Debian 12 records in the form osv.dev publishes the Debian security tracker's (one
# DEBIAN-CVE-… record per CVE, naming the source package), for real tracker entries:
# - unfixed in bookworm (no fixed version: every installed version is affected):
#   CVE-2011-3374 (apt), CVE-2019-1010022 (glibc: binary packages libc6, libc-bin),
#   CVE-2010-0928 (openssl: binary packages libssl3, openssl). Details are NVD's; the CVSS
#   vector of CVE-2019-1010022 is NVD's (9.8).
# - fixed at or below what a Debian 12 system has: CVE-2023-5363 (openssl
#   3.0.11-1~deb12u2, bookworm-security), CVE-2026-28390 (openssl 3.0.19-1~deb12u2,
#   bookworm-security) and CVE-2022-37434 (zlib 1:1.2.11.dfsg-4.1, fixed before bookworm
#   was released), as the packages' own changelogs in /usr/share/doc say.
DEBIAN_AFFECTING = ("DEBIAN-CVE-2011-3374", "DEBIAN-CVE-2019-1010022", "DEBIAN-CVE-2010-0928")
DEBIAN_FIXED = ("DEBIAN-CVE-2023-5363", "DEBIAN-CVE-2026-28390", "DEBIAN-CVE-2022-37434")
DEBIAN_RECORDS = [
    _debian_record("CVE-2011-3374", "apt", None,
                   "It was found that apt-key in apt, all versions, do not correctly validate gpg "
                   "keys with the master keyring, leading to a potential man-in-the-middle attack."),
    _debian_record("CVE-2019-1010022", "glibc", None,
                   "GNU Libc current is affected by: Mitigation bypass. The impact is: Attacker may "
                   "bypass stack guard protection. The component is: nptl. The attack vector is: "
                   "Exploit stack buffer overflow vulnerability and use this bypass vulnerability "
                   "to bypass stack guard.",
                   severity="CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
    _debian_record("CVE-2010-0928", "openssl", None,
                   "OpenSSL 0.9.8i on the Gaisler Research LEON3 SoC on the Xilinx Virtex-II Pro "
                   "FPGA uses a Fixed Width Exponentiation (FWE) algorithm for certain signature "
                   "calculations, and does not verify the signature before providing it to a "
                   "caller, which makes it easier for physically proximate attackers to determine "
                   "the private key via a modified supply voltage for the microprocessor, related "
                   "to a \"fault-based attack.\""),
    _debian_record("CVE-2023-5363", "openssl", "3.0.11-1~deb12u2",
                   "Incorrect cipher key and IV length processing."),
    _debian_record("CVE-2026-28390", "openssl", "3.0.19-1~deb12u2",
                   "Possible NULL dereference when processing CMS KeyTransportRecipientInfo."),
    _debian_record("CVE-2022-37434", "zlib", "1:1.2.11.dfsg-4.1",
                   "zlib through 1.2.12 has a heap-based buffer over-read or buffer overflow in "
                   "inflate in inflate.c via a large gzip header extra field."),
]
DEBIAN_CVSS = {"DEBIAN-CVE-2019-1010022": ("9.8", "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")}


def expected_debian(records=None, status_text: str | None = None) -> dict[str, set[str]]:
    """{record id: installed binary packages it affects}, with `dpkg --compare-versions`."""
    installed = dpkg_installed(status_text)
    out: dict[str, set[str]] = {}
    for r in records if records is not None else DEBIAN_RECORDS:
        for a in r["affected"]:
            src = a["package"]["name"]
            for (intro, fixed) in _simple_ranges(a):
                for name, (version, sname, sversion) in installed.items():
                    if src not in (name, sname):
                        continue
                    v = version if src == name else sversion
                    if (intro == "0" or dpkg_cmp(v, intro) >= 0) and (fixed is None or dpkg_cmp(v, fixed) < 0):
                        out.setdefault(r["id"], set()).add(name)
    return out


# =========================================================================== database files
def write_osv_zip(path: Path, records) -> Path:
    """An OSV export zip (one <id>.json per record), as osv.dev publishes them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for r in records:
            z.writestr(f"{r['id']}.json", json.dumps(r, indent=2))
    return path


def osv_export_counts(paths) -> tuple[int, dict[str, int]]:
    """(records, {ecosystem: records naming it}) of some export zips."""
    total, per = 0, {}
    by_path = {OSV_DIR / eco / "all.zip": eco for eco in ("PyPI", "Go", "crates.io", "AlmaLinux:9")}
    for p in paths:
        eco = by_path.get(Path(p))
        for r in ecosystem_records(eco) if eco else osv_records(p):
            total += 1
            for eco in {a["package"]["ecosystem"] for a in r.get("affected", []) if a.get("package")}:
                per[eco] = per.get(eco, 0) + 1
    return total, per


def malformed_zip(path: Path) -> Path:
    """An export zip with one good record and one that is not JSON (cut off mid-file)."""
    good = record_by_id("PyPI", "PYSEC-2023-74")
    text = json.dumps(good)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("PYSEC-2023-74.json", text)
        z.writestr("PYSEC-9999-1.json", text[: len(text) // 2])
    return path


# =========================================================================== hostile layers
@functools.lru_cache(maxsize=None)
def bomb_layer(inflated: int = 320 << 20) -> Layer:
    """A gzip layer that inflates to ``inflated`` bytes: a tar holding one file of zeros. The
    blob is ~330 KiB. It is one ordinary gzip member; to make it quickly, the deflate stream is
    cut into byte-aligned pieces (each ended by a full flush, which resets the compressor), so
    the piece for 1 MiB of zeros is compressed once and repeated."""
    header = tarfile.TarInfo("var/cache/zeros.bin")
    header.size = inflated - 3 * 512
    header.mtime = FIXED_MTIME
    header.mode = 0o644
    head = header.tobuf(format=tarfile.USTAR_FORMAT)
    assert len(head) == 512
    chunk = bytes(1 << 20)
    assert header.size % len(chunk) == (inflated - 1536) % len(chunk)
    full, rest = divmod(header.size, len(chunk))
    trailer = bytes((-header.size) % 512 + 1024)  # padding, then the two blocks ending a tar

    def piece(data: bytes, last: bool = False) -> bytes:
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        return c.compress(data) + c.flush(zlib.Z_FINISH if last else zlib.Z_FULL_FLUSH)

    zero_piece = piece(chunk)
    parts = [b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", piece(head)]
    parts += [zero_piece] * full
    parts += [piece(chunk[:rest]), piece(trailer, last=True)]
    crc, raw_sha = zlib.crc32(head), hashlib.sha256(head)
    for _ in range(full):
        crc = zlib.crc32(chunk, crc)
        raw_sha.update(chunk)
    for tail in (chunk[:rest], trailer):
        crc = zlib.crc32(tail, crc)
        raw_sha.update(tail)
    size = 512 + header.size + len(trailer)
    parts.append(crc.to_bytes(4, "little") + (size & 0xFFFFFFFF).to_bytes(4, "little"))
    return Layer(data=b"".join(parts), media_type=OCI_LAYER_GZIP,
                 diff_id="sha256:" + raw_sha.hexdigest())


@functools.lru_cache(maxsize=None)
def busybox_layer() -> Layer:
    """The busybox base layer (its os-release names no distribution with advisories)."""
    return make_layer(busybox_rootfs_bytes())


HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_CHART = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"


def helm_artifact(marker: str) -> Image:
    """A Helm chart pushed as an OCI artifact (config media type Helm's): not a container
    image, so ECR does not scan it."""
    chart = make_layer({"mychart/Chart.yaml": f"apiVersion: v2\nname: mychart\nversion: 0.1.0\n"
                                              f"description: {marker}\n"})
    chart = Layer(data=chart.data, media_type=HELM_CHART, diff_id=chart.diff_id)
    config = Blob(data=canonical_json({"name": "mychart", "version": "0.1.0", "apiVersion": "v2"}),
                  media_type=HELM_CONFIG)
    man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": config.descriptor(), "layers": [chart.descriptor()]}
    return Image(config=config, layers=[chart], manifest=json.dumps(man, indent=2).encode())


# =========================================================================== CVSS v3
def cvss3_base_score(vector: str) -> float:
    """The CVSS v3.0/v3.1 base score of a vector, by the specification's formulas."""
    parts = vector.split("/")
    version = parts[0].split(":")[1]
    m = dict(p.split(":") for p in parts[1:])
    changed = m["S"] == "C"
    av = {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2}[m["AV"]]
    ac = {"L": 0.77, "H": 0.44}[m["AC"]]
    pr = {"N": 0.85, "L": 0.68 if changed else 0.62, "H": 0.5 if changed else 0.27}[m["PR"]]
    ui = {"N": 0.85, "R": 0.62}[m["UI"]]
    cia = {"H": 0.56, "L": 0.22, "N": 0.0}
    iss = 1 - (1 - cia[m["C"]]) * (1 - cia[m["I"]]) * (1 - cia[m["A"]])
    impact = 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15 if changed else 6.42 * iss
    exploitability = 8.22 * av * ac * pr * ui

    def roundup(x: float) -> float:
        if version == "3.0":
            import math
            return math.ceil(x * 10) / 10
        i = round(x * 100000)
        return i / 100000.0 if i % 10000 == 0 else (i // 10000 + 1) / 10.0

    if impact <= 0:
        return 0.0
    total = impact + exploitability
    return roundup(min(1.08 * total if changed else total, 10))


def severity_of_score(score: float) -> str:
    return ("CRITICAL" if score >= 9 else "HIGH" if score >= 7 else "MEDIUM" if score >= 4
            else "LOW" if score > 0 else "INFORMATIONAL")
