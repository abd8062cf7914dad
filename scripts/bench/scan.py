#!/usr/bin/env python3
"""Vulnerability scanning: a hand-run benchmark of `wharf vulndb import` and `wharf scan`.

    python3 scripts/bench/scan.py                    # everything (~4 minutes on an idle machine)
    python3 scripts/bench/scan.py --only import      # one part: import, big, python (repeatable)
    python3 scripts/bench/scan.py --json out.json    # also write every number as JSON

Measures, each `--runs` times (median reported), the wall time, user+sys CPU and max RSS of
the wharf process, from GNU time's wait4(2) rusage (`/usr/bin/time -v` style):

* import: `wharf vulndb import --json` of all of the vulnerability data (default
  /work/shared/vulndb); every run replaces the database of one data dir.
* big: `wharf scan --json` of a ~100 MB image built from this machine's real files (Debian
  dpkg status, /usr/bin, Go binaries including kubectl, Debian's Python, a site-packages tree).
* python: the same for a Python image (CPython's standard library from pyenv and ~50 old
  PyPI wheels with known advisories, from `pip download`, cached and checked by SHA-256).

"cold" = the image's inventory is not stored yet, so the scan reads every layer; each cold
run scans its own copy of the image, pushed into a repository of its own (inventories are
stored per repository and image). "warm" = the same image scanned again: the stored inventory
is matched again, no layer is read. The registry's scan type is ENHANCED (OS and language
packages). See scripts/bench/README.md, section "Vulnerability scanning".
"""

from __future__ import annotations

import argparse
import configparser
import csv
import hashlib
import io
import json
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402  (server wrapper, machine-load helpers, table; also puts tests/e2e on sys.path)
from run import log  # noqa: E402

import images  # noqa: E402
import scanimages  # noqa: E402  (wheel_files, download_wheel)

PARTS = ["import", "big", "python"]
SITE = "usr/local/lib/python3.11/site-packages"
PYENV = Path("/root/.pyenv/versions/3.11.7")

# --------------------------------------------------------------------------- image contents
# The ~100 MB image: real files of this Debian 12 machine, four gzip layers.
# Go binaries: two Debian builds (go1.19.8, GOPATH mode: only the stdlib in their build info)
# and Google's kubectl (Debian package `kubectl` of the Cloud SDK repository: go1.23, ~80
# modules), 57 MB, close to the 64 MiB up to which a scan reads an ELF file whole.
GO_BINARIES = ["/usr/bin/docker-registry", "/usr/bin/shfmt", "/usr/lib/google-cloud-sdk/bin/kubectl"]
SMALL_BIN_MAX = 2 << 20  # /usr/bin files up to 2 MiB go into the base layer
# Distributions of pyenv's site-packages left out of the app layer (the biggest ones), to keep
# the image near 100 MB compressed.
SITE_SKIP = {"awscli", "cfn_lint", "jedi", "libcst", "moto", "mpmath", "networkx", "sympy"}

# The Python image's site-packages: old releases with published advisories (PyPI snapshot of
# the vulndb ends in October 2024). `pip download --no-deps --only-binary=:all:
# --python-version 3.11 --platform manylinux2014_x86_64 NAME==VERSION`; file name and SHA-256
# pinned so the image is the same on every run.
PYPI_WHEELS = {
    "aiohttp==3.8.5": ("aiohttp-3.8.5-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
                       "5ed1c46fb119f1b59304b5ec89f834f07124cd23ae5b74288e364477641060ff"),
    "babel==2.9.0": ("Babel-2.9.0-py2.py3-none-any.whl",
                     "9d35c22fcc79893c3ecc85ac4a56cde1ecf3f19c540bba0922308a6c06ca6fa5"),
    "bleach==3.1.0": ("bleach-3.1.0-py2.py3-none-any.whl",
                      "213336e49e102af26d9cde77dd2d0397afabc5a6bf2fed985dc35b5d1e285a16"),
    "cbor2==5.4.6": ("cbor2-5.4.6-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
                     "1835536e76ea16e88c934aac5e369ba9f93d495b01e5fa2d93f0b4986b89146d"),
    "certifi==2022.9.24": ("certifi-2022.9.24-py3-none-any.whl",
                           "90c1a32f1d68f940488354e36370f6cca89f0f106db09518524c88d6ed83f382"),
    "cryptography==3.3.2": ("cryptography-3.3.2-cp36-abi3-manylinux2010_x86_64.whl",
                            "a0f0b96c572fc9f25c3f4ddbf4688b9b38c69836713fb255f4a2715d93cbaf44"),
    "django==2.2": ("Django-2.2-py3-none-any.whl",
                    "a2814bffd1f007805b19194eb0b9a331933b82bd5da1c3ba3d7b7ba16e06dc4b"),
    "dnspython==2.2.0": ("dnspython-2.2.0-py3-none-any.whl",
                         "081649da27ced5e75709a1ee542136eaba9842a0fe4c03da4fb0a3d3ed1f3c44"),
    "ecdsa==0.14": ("ecdsa-0.14-py2.py3-none-any.whl",
                    "da25d37406a664e9e4bcf009834bddfd98ec8d334cf2000621486515c6d1bc58"),
    "fastapi==0.65.1": ("fastapi-0.65.1-py3-none-any.whl",
                        "7619282fbce0ec53c7dfa3fa262280c00ace9f6d772cfd06e4ab219dce66985e"),
    "flask==0.12.2": ("Flask-0.12.2-py2.py3-none-any.whl",
                      "0749df235e3ff61ac108f69ac178c9770caeaccad2509cb762ce1f65570a8856"),
    "gitpython==3.1.30": ("GitPython-3.1.30-py3-none-any.whl",
                          "cd455b0000615c60e286208ba540271af9fe531fa6a87cc590a7298785ab2882"),
    "gunicorn==20.1.0": ("gunicorn-20.1.0-py3-none-any.whl",
                         "9dcc4547dbb1cb284accfb15ab5667a0e5d1881cc443e0677b4882a4067a807e"),
    "httpx==0.22.0": ("httpx-0.22.0-py3-none-any.whl",
                      "e35e83d1d2b9b2a609ef367cc4c1e66fd80b750348b20cc9e19d1952fc2ca3f6"),
    "idna==3.6": ("idna-3.6-py3-none-any.whl",
                  "c05567e9c24a6b9faaa835c4821bad0590fbb9d5779e7caa6e1cc4978e7eb24f"),
    "ipython==7.31.0": ("ipython-7.31.0-py3-none-any.whl",
                        "4c4234cdcc6b8f87c5b5c7af9899aa696ac5cfcf0e9f6d0688018bbee5c73bce"),
    "jinja2==2.10": ("Jinja2-2.10-py2.py3-none-any.whl",
                     "74c935a1b8bb9a3947c50a54766a969d4846290e1e788ea44c1392163723c3bd"),
    "joblib==1.1.0": ("joblib-1.1.0-py2.py3-none-any.whl",
                      "f21f109b3c7ff9d95f8387f752d0d9c34a02aa2f7060c2135f465da0e5160ff6"),
    "lxml==4.9.1": ("lxml-4.9.1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"
                    ".manylinux_2_24_x86_64.whl",
                    "f1be258c4d3dc609e654a1dc59d37b17d7fef05df912c01fc2e15eb43a9735f3"),
    "mako==1.2.1": ("Mako-1.2.1-py3-none-any.whl",
                    "df3921c3081b013c8a2d5ff03c18375651684921ae83fd12e64800b7da923257"),
    "markdown==3.3.4": ("Markdown-3.3.4-py3-none-any.whl",
                        "96c3ba1261de2f7547b46a00ea8463832c921d3f9d6aba3f255a6f71386db20c"),
    "mistune==0.8.4": ("mistune-0.8.4-py2.py3-none-any.whl",
                       "88a1051873018da288eee8538d476dffe1262495144b33ecb586c4ab266bb8d4"),
    "nltk==3.6.5": ("nltk-3.6.5-py3-none-any.whl",
                    "95fb4f577efe93af21765e9b2852235c2c6a405885da2a70f397478d94e906e0"),
    "notebook==6.4.10": ("notebook-6.4.10-py3-none-any.whl",
                         "49cead814bff0945fcb2ee07579259418672ac175d3dc3d8102a4b0a656ed4df"),
    "numpy==1.24.0": ("numpy-1.24.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
                      "ada6c1e9608ceadaf7020e1deea508b73ace85560a16f51bef26aecb93626a72"),
    "paramiko==2.4.1": ("paramiko-2.4.1-py2.py3-none-any.whl",
                        "24fb31c947de85fbdeca09e222d41206781581fb0bdf118d2ef18f6e414cd388"),
    "pillow==9.3.0": ("Pillow-9.3.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
                      "b9a65733d103311331875c1dca05cb4606997fd33d6acfed695b1232ba1df193"),
    "pip==21.0": ("pip-21.0-py3-none-any.whl",
                  "cf2410eedf8735fd842e0fecd4117ca79025d7fe7c161e32f8640ed6ebe5ecb9"),
    "protobuf==3.20.1": ("protobuf-3.20.1-py2.py3-none-any.whl",
                         "adfc6cf69c7f8c50fd24c793964eef18f0ac321315439d94945820612849c388"),
    "py==1.11.0": ("py-1.11.0-py2.py3-none-any.whl",
                   "607c53218732647dff4acdfcd50cb62615cedf612e72d1724fb1a0cc6405b378"),
    "pydantic==1.8.1": ("pydantic-1.8.1-py3-none-any.whl",
                        "e3f8790c47ac42549dc8b045a67b0ca371c7f66e73040d0197ce6172b385e520"),
    "pygments==2.5.2": ("Pygments-2.5.2-py2.py3-none-any.whl",
                        "2a3fe295e54a20164a9df49c75fa58526d3be48e14aceba6d6b1e8ac0bfd6f1b"),
    "pyjwt==1.7.1": ("PyJWT-1.7.1-py2.py3-none-any.whl",
                     "5c6eca3c2940464d106b99ba83b00c6add741c9becaec087fb7ccdefea71350e"),
    "pyopenssl==22.0.0": ("pyOpenSSL-22.0.0-py2.py3-none-any.whl",
                          "ea252b38c87425b64116f808355e8da644ef9b07e429398bfece610f893ee2e0"),
    "redis==4.4.0": ("redis-4.4.0-py3-none-any.whl",
                     "cae3ee5d1f57d8caf534cd8764edf3163c77e073bdd74b6f54a87ffafdc5e7d9"),
    "requests==2.19.1": ("requests-2.19.1-py2.py3-none-any.whl",
                         "63b52e3c866428a224f97cab011de738c36aec0185aa91cfacd418b5d58911d1"),
    "rsa==4.0": ("rsa-4.0-py2.py3-none-any.whl",
                 "14ba45700ff1ec9eeb206a2ce76b32814958a98e372006c8fb76ba820211be66"),
    "scrapy==2.5.0": ("Scrapy-2.5.0-py2.py3-none-any.whl",
                      "5f590fdc84b496e5a4bb5ef99836b0aa688a07cfcb4bc3bb7290f66486f27424"),
    "setuptools==65.5.0": ("setuptools-65.5.0-py3-none-any.whl",
                           "f62ea9da9ed6289bfe868cd6845968a2c854d1427f8548d52cae02a42b4f0356"),
    "sqlparse==0.4.1": ("sqlparse-0.4.1-py3-none-any.whl",
                        "017cde379adbd6a1f15a61873f43e8274179378e95ef3fede90b5aa64d304ed0"),
    "starlette==0.25.0": ("starlette-0.25.0-py3-none-any.whl",
                          "774f1df1983fd594b9b6fb3ded39c2aa1979d10ac45caac0f4255cbe2acb8628"),
    "tornado==6.3.2": ("tornado-6.3.2-cp38-abi3-manylinux_2_5_x86_64.manylinux1_x86_64"
                       ".manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
                       "5b17b1cf5f8354efa3d37c6e28fdfd9c1c1e5122f2cb56dac121ac61baa47cbe"),
    "tqdm==4.64.0": ("tqdm-4.64.0-py2.py3-none-any.whl",
                     "74a2cdefe14d11442cedf3ba4e21a3b84ff9a2dbdc6cfae2c34addb2a14a5ea6"),
    "transformers==4.30.0": ("transformers-4.30.0-py3-none-any.whl",
                             "e90e9fc05310985f3ede2da278d11c91656b4a354b4935c54604f57409299aae"),
    "twisted==22.4.0": ("Twisted-22.4.0-py3-none-any.whl",
                        "f9f7a91f94932477a9fc3b169d57f54f96c6e74a23d78d9ce54039a7f48928a2"),
    "urllib3==1.24.1": ("urllib3-1.24.1-py2.py3-none-any.whl",
                        "61bf29cada3fc2fbefad4fdf059ea4bd1b4a86d2b6d15e1c7c0b582b9752fe39"),
    "waitress==1.4.3": ("waitress-1.4.3-py2.py3-none-any.whl",
                        "77ff3f3226931a1d7d8624c5371de07c8e90c7e5d80c5cc660d72659aaf23f38"),
    "werkzeug==0.14.1": ("Werkzeug-0.14.1-py2.py3-none-any.whl",
                         "d5da73735293558eb1651ee2fddc4d0dedcfa06538b8813a2e20011583c9e49b"),
    "wheel==0.37.1": ("wheel-0.37.1-py2.py3-none-any.whl",
                      "4bdcd7d840138086126cd09254dc6195fb4fc6f01c050a1d7236f2630db1d22a"),
}
# CPython's standard library from pyenv, as a python:3.11 image has it under /usr/local
# (without its tests, the static library, IDLE and Tk).
STDLIB_SKIP = {"test", "site-packages", "config-3.11-x86_64-linux-gnu", "idlelib", "tkinter",
               "turtledemo"}


# --------------------------------------------------------------------------- layer building
class Tree:
    """The entries of one layer: {path in the image: ("file", bytes|source path) |
    ("link", target) | ("dir", None)}, written as a deterministic tar (sorted, fixed mtime,
    uid/gid 0, the source's permission bits)."""

    def __init__(self):
        self.entries: dict[str, tuple[str, object, int]] = {}

    def add_file(self, dest: str, src: str | Path | None = None, data: bytes | None = None,
                 mode: int | None = None) -> None:
        if mode is None:
            mode = (os.stat(src).st_mode & 0o7777) if src is not None else 0o644
        self.entries[dest.strip("/")] = ("file", data if data is not None else str(src), mode)

    def add_tree(self, src: str | Path, dest: str, skip=lambda rel, name, is_dir: False,
                 max_file: int | None = None) -> None:
        """Every directory, regular file and symlink under `src` (no __pycache__)."""
        src = str(src)
        for dp, dns, fns in os.walk(src):
            rel = os.path.relpath(dp, src)
            rel = "" if rel == "." else rel
            dns[:] = sorted(d for d in dns if d != "__pycache__" and not skip(rel, d, True))
            for d in dns:
                p = os.path.join(dp, d)
                if os.path.islink(p):  # os.walk lists a symlink to a directory as a directory
                    self.entries[f"{dest}/{rel}/{d}".replace("//", "/").strip("/")] = (
                        "link", os.readlink(p), 0o777)
                else:
                    self.entries[f"{dest}/{rel}/{d}".replace("//", "/").strip("/")] = (
                        "dir", None, os.stat(p).st_mode & 0o7777)
            dns[:] = [d for d in dns if not os.path.islink(os.path.join(dp, d))]
            for f in sorted(fns):
                if f.endswith(".pyc") or skip(rel, f, False):
                    continue
                p = os.path.join(dp, f)
                name = f"{dest}/{rel}/{f}".replace("//", "/").strip("/")
                st = os.lstat(p)
                if os.path.islink(p):
                    self.entries[name] = ("link", os.readlink(p), 0o777)
                elif os.path.isfile(p):
                    if max_file is not None and st.st_size > max_file:
                        continue
                    self.entries[name] = ("file", p, st.st_mode & 0o7777)

    def tar(self) -> tuple[bytes, dict]:
        dirs = {n for n, e in self.entries.items() if e[0] == "dir"}
        for n in list(self.entries):
            parts = n.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                dirs.add("/".join(parts[:i]))
        buf = io.BytesIO()
        stats = Counter()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
            for d in sorted(dirs):
                e = self.entries.get(d)
                ti = images._tarinfo(d + "/", tarfile.DIRTYPE, mode=e[2] if e else 0o755)
                tf.addfile(ti)
                stats["dirs"] += 1
            for n in sorted(self.entries):
                kind, what, mode = self.entries[n]
                if kind == "dir":
                    continue
                if kind == "link":
                    tf.addfile(images._tarinfo(n, tarfile.SYMTYPE, mode=0o777, linkname=what))
                    stats["symlinks"] += 1
                    continue
                data = what if isinstance(what, bytes) else Path(what).read_bytes()
                tf.addfile(images._tarinfo(n, mode=mode, size=len(data)), io.BytesIO(data))
                stats["files"] += 1
                stats["file_bytes"] += len(data)
        return buf.getvalue(), dict(stats)


def layer_of(tree: Tree, what: str) -> tuple[images.Layer, dict]:
    raw, stats = tree.tar()
    layer = images.make_layer(raw)  # gzip level 6, mtime 0: deterministic
    info = {"what": what, "digest": layer.digest, "compressed": layer.size,
            "uncompressed": len(raw), **stats}
    return layer, info


def os_release_and_dpkg(tree: Tree, dpkg: bool) -> None:
    tree.add_file("etc/os-release", data=Path("/etc/os-release").read_bytes(), mode=0o644)
    if dpkg:
        tree.add_file("var/lib/dpkg/status", data=Path("/var/lib/dpkg/status").read_bytes(),
                      mode=0o644)


def site_packages_subset(tree: Tree, src: Path, dest: str) -> list[str]:
    """The files each installed distribution's RECORD lists (all but SITE_SKIP)."""
    taken = []
    for di in sorted(src.glob("*.dist-info")):
        dist = di.name[:-len(".dist-info")].rsplit("-", 1)[0].lower().replace("-", "_")
        if dist in SITE_SKIP or not (di / "RECORD").exists():
            continue
        taken.append(di.name[:-len(".dist-info")])
        with open(di / "RECORD", newline="") as f:
            for row in csv.reader(f):
                if not row:
                    continue
                p = os.path.normpath(src / row[0])
                if ("__pycache__" in p or not p.startswith(str(src) + "/")
                        or os.path.islink(p) or not os.path.isfile(p)):
                    continue
                tree.add_file(f"{dest}/{os.path.relpath(p, src)}", src=p)
    return taken


def big_image_layers() -> tuple[list[images.Layer], list[dict], dict]:
    notes = {}
    base = Tree()
    os_release_and_dpkg(base, dpkg=True)
    base.add_tree("/usr/bin", "usr/bin", max_file=SMALL_BIN_MAX)
    base.add_tree("/usr/share/zoneinfo", "usr/share/zoneinfo")
    go = Tree()
    for b in GO_BINARIES:
        if os.path.exists(b):
            go.add_file(b, src=b)
    notes["go_binaries"] = [b for b in GO_BINARIES if os.path.exists(b)]
    py = Tree()
    py.add_tree("/usr/lib/python3.11", "usr/lib/python3.11",
                skip=lambda rel, name, is_dir: rel == "" and name in ("test", "site-packages"))
    py.add_tree("/usr/lib/python3/dist-packages", "usr/lib/python3/dist-packages")
    app = Tree()
    sp = PYENV / "lib/python3.11/site-packages"
    notes["site_packages"] = site_packages_subset(app, sp, SITE)
    out = [layer_of(base, "Debian base: /etc/os-release, /var/lib/dpkg/status, /usr/bin files "
                          f"<= {SMALL_BIN_MAX >> 20} MiB, /usr/share/zoneinfo"),
           layer_of(go, "Go binaries: " + ", ".join(notes["go_binaries"])),
           layer_of(py, "Debian's Python: /usr/lib/python3.11 (no test/), "
                        "/usr/lib/python3/dist-packages"),
           layer_of(app, f"site-packages: {len(notes['site_packages'])} distributions of "
                         f"{sp} (all but {', '.join(sorted(SITE_SKIP))})")]
    return [l for l, _ in out], [i for _, i in out], notes


def pypi_wheel(cache: Path, spec: str) -> Path:
    filename, sha = PYPI_WHEELS[spec]
    return scanimages.download_wheel(cache, spec, filename, sha,
                                     ["--python-version", "3.11", "--platform", "manylinux2014_x86_64"])


def python_image_layers(cache: Path) -> tuple[list[images.Layer], list[dict], dict]:
    runtime = Tree()
    os_release_and_dpkg(runtime, dpkg=False)
    runtime.add_file("usr/local/bin/python3.11", src=PYENV / "bin/python3.11")
    runtime.add_file("usr/local/lib/libpython3.11.so.1.0", src=PYENV / "lib/libpython3.11.so.1.0")
    runtime.add_tree(PYENV / "lib/python3.11", "usr/local/lib/python3.11",
                     skip=lambda rel, name, is_dir: rel == "" and name in STDLIB_SKIP)
    wheels = Tree()
    for spec in sorted(PYPI_WHEELS):
        for name, data in scanimages.wheel_files(pypi_wheel(cache, spec), SITE).items():
            wheels.add_file(name, data=data, mode=0o644)
    out = [layer_of(runtime, f"/etc/os-release and CPython 3.11.7 (pyenv) under /usr/local: "
                             f"python3.11, libpython, stdlib without {', '.join(sorted(STDLIB_SKIP))}"),
           layer_of(wheels, f"site-packages: {len(PYPI_WHEELS)} old PyPI wheels (pip download, "
                            "pinned SHA-256), installed as pip lays them out")]
    return [l for l, _ in out], [i for _, i in out], {"wheels": sorted(PYPI_WHEELS)}


# --------------------------------------------------------------------------- measuring
TIME_BIN = "/usr/bin/time"  # GNU time (Debian package `time`)


def timed(cmd: list[str], out_path: Path, timeout: float) -> dict:
    """Runs `cmd` under GNU time with stdout to `out_path`: wall, CPU and max RSS of that
    process (GNU time's wait4 rusage), and how many cores other work used meanwhile.

    Not wait4 on our own child: Linux carries the pre-exec address space's RSS high-water
    mark across execve into ru_maxrss, so a child forked from this Python process (which holds
    the images, hundreds of MB) would report at least that much. GNU time is tiny."""
    rus = Path(str(out_path) + ".time")
    busy0 = run.busy_seconds()
    with open(out_path, "wb") as out, open(str(out_path) + ".err", "wb") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen([TIME_BIN, "-o", str(rus), "-f", "%e %U %S %M %F %R %w %c", *cmd],
                             stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        run._LIVE.add(p)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        wall = time.perf_counter() - t0
    run._LIVE.discard(p)
    busy = run.busy_seconds() - busy0
    if p.returncode != 0:
        err = Path(str(out_path) + ".err").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}:\n{err}")
    # the last line: GNU time may put "Command exited with non-zero status" first
    e, u, s_, m, majf, minf, vcs, ics = rus.read_text().strip().splitlines()[-1].split()
    cpu = float(u) + float(s_)
    return {"wall_s": round(wall, 3), "time_wall_s": float(e), "cpu_s": round(cpu, 3),
            "user_s": float(u), "sys_s": float(s_), "max_rss_mb": round(int(m) / 1024, 1),
            "major_faults": int(majf), "minor_faults": int(minf),
            "voluntary_ctx_switches": int(vcs), "involuntary_ctx_switches": int(ics),
            "other_cores": round(max(0.0, busy - cpu) / max(wall, 1e-6), 2)}


class ScanBench:
    def __init__(self, args, workdir: Path):
        self.args = args
        self.workdir = workdir
        self.bin = str(workdir / "wharf")
        self.results: dict = {}
        self.noisy: list[str] = []
        self.n_out = 0

    def wharf(self, data_dir: Path, *a) -> list[str]:
        return [self.bin, "--data-dir", str(data_dir), *a]

    def step(self, label: str, cmd: list[str], timeout: float = 900) -> dict:
        os.sync()
        time.sleep(0.3)
        if self.args.wait_quiet > 0:
            run.wait_quiet(self.args.wait_quiet)
        self.n_out += 1
        out = self.workdir / f"out-{self.n_out:02d}.txt"
        r = timed(cmd, out, timeout)
        r["stdout"] = out
        if r["other_cores"] > self.args.noise_cores:
            self.noisy.append(f"{label}: {r['other_cores']:.2f} cores")
            log(f"    !! {r['other_cores']:.2f} cores were busy with other work during {label}")
        return r

    @staticmethod
    def summary(runs: list[dict]) -> dict:
        keep = [{k: v for k, v in r.items() if k != "stdout"} for r in runs]
        return {"runs": keep,
                **{f"median_{k}": statistics.median(r[k] for r in runs)
                   for k in ("wall_s", "cpu_s", "max_rss_mb")},
                "max_other_cores": max(r["other_cores"] for r in runs)}

    # -- import
    def bench_import(self) -> None:
        d = self.workdir / "import-data"
        log(f"\n== vulndb import of {self.args.vulndb} ({self.args.runs} runs; run 1 into a new "
            "data dir, later runs replace its database)")
        runs = []
        for i in range(self.args.runs):
            r = self.step(f"import run {i + 1}",
                          self.wharf(d, "vulndb", "import", "--json", self.args.vulndb))
            summary = json.loads(Path(r["stdout"]).read_text())
            r["records"], r["kev"] = summary.get("records"), summary.get("kev")
            r["db_mb"] = round(sum(f.stat().st_size for f in d.glob("wharf.db*")) / 1e6, 1)
            runs.append(r)
            log(f"  run {i + 1}: {r['wall_s']:.2f} s wall, {r['cpu_s']:.2f} s CPU "
                f"(user {r['user_s']:.2f}, sys {r['sys_s']:.2f}), max RSS {r['max_rss_mb']:.0f} MB; "
                f"{r['records']} records, {r['kev']} KEV; wharf.db* {r['db_mb']} MB; "
                f"other work {r['other_cores']:.2f} cores")
        status = json.loads(subprocess.run(self.wharf(d, "vulndb", "status", "--json"),
                                           capture_output=True, text=True, check=True).stdout)
        self.results["import"] = {**self.summary(runs), "status": status}

    # -- scans
    def bench_scans(self, parts: list[str]) -> None:
        d = self.workdir / "scan-data"
        built = {}
        for part in parts:
            t = time.perf_counter()
            if part == "big":
                layers, infos, notes = big_image_layers()
            else:
                layers, infos, notes = python_image_layers(Path(self.args.cache))
            im = images.build_image(layers=layers, marker=f"wharf-bench-scan-{part}")
            built[part] = im
            info = {"manifest_digest": im.digest, "layers": infos,
                    "compressed": sum(i["compressed"] for i in infos),
                    "uncompressed": sum(i["uncompressed"] for i in infos),
                    "files": sum(i.get("files", 0) for i in infos),
                    "symlinks": sum(i.get("symlinks", 0) for i in infos), **notes}
            self.results.setdefault(part, {})["image"] = info
            log(f"\n== built the {part} image in {time.perf_counter() - t:.1f} s: {im.digest[:19]}…, "
                f"{info['compressed'] / 1e6:.1f} MB compressed, {info['uncompressed'] / 1e6:.1f} MB "
                f"of tar, {info['files']} files, {info['symlinks']} symlinks, {len(infos)} layers")
            for i in infos:
                log(f"    {i['compressed'] / 1e6:6.1f} MB gz / {i['uncompressed'] / 1e6:6.1f} MB tar, "
                    f"{i.get('files', 0):5} files: {i['what']}")

        # One server: repositories, pushes (one copy of each image per cold run), ENHANCED.
        srv = ScanServer(self.workdir, self.bin, [f"bench-scan/{p}-{i + 1}" for p in parts
                                                  for i in range(self.args.runs)])
        srv.prepare()
        srv.start()
        try:
            import requests
            s = requests.Session()
            s.trust_env = False
            s.headers.update(srv.auth)
            for part in parts:
                t = time.perf_counter()
                for i in range(self.args.runs):
                    images.push_image(srv.url, f"bench-scan/{part}-{i + 1}", "latest", built[part],
                                      session=s)
                log(f"  pushed the {part} image into {self.args.runs} repositories "
                    f"({time.perf_counter() - t:.1f} s)")
            cp = configparser.ConfigParser()
            cp.read(srv.data_dir / "admin-credentials")
            sec = cp[cp.sections()[0]]
            import boto3
            ecr = boto3.client("ecr", endpoint_url=srv.url, region_name="us-east-1",
                               aws_access_key_id=sec["aws_access_key_id"],
                               aws_secret_access_key=sec["aws_secret_access_key"])
            got = ecr.put_registry_scanning_configuration(scanType="ENHANCED", rules=[])
            assert got["registryScanningConfiguration"]["scanType"] == "ENHANCED", got
        finally:
            srv.stop()  # the scans run with no server on the data dir
        d = srv.data_dir
        t = time.perf_counter()
        subprocess.run(self.wharf(d, "vulndb", "import", self.args.vulndb), check=True,
                       capture_output=True, timeout=600)
        log(f"  imported the vulndb into the scan data dir ({time.perf_counter() - t:.1f} s, untimed)")
        built.clear()
        del im, layers

        for part in parts:
            res = self.results[part]
            name = "~100 MB image" if part == "big" else "Python image"
            log(f"\n== wharf scan of the {name} (ENHANCED; {self.args.runs} cold, each on its own "
                f"repository, then {self.args.runs} warm on bench-scan/{part}-1)")
            cold, warm = [], []
            for i in range(self.args.runs):
                repo = f"bench-scan/{part}-{i + 1}"
                if stored_inventory(d, repo) is not None:
                    raise RuntimeError(f"{repo} already has an inventory: not a cold scan")
                r = self.step(f"{part} cold run {i + 1}",
                              self.wharf(d, "scan", f"{repo}:latest", "--json"))
                r.update(findings_of(Path(r["stdout"])))
                cold.append(r)
                self.log_scan("cold", i, r)
            inv = stored_inventory(d, f"bench-scan/{part}-1")
            if inv is None:
                raise RuntimeError("no inventory stored after a cold scan")
            res["inventory"] = inventory_counts(inv)
            for i in range(self.args.runs):
                r = self.step(f"{part} warm run {i + 1}",
                              self.wharf(d, "scan", f"bench-scan/{part}-1:latest", "--json"))
                r.update(findings_of(Path(r["stdout"])))
                warm.append(r)
                self.log_scan("warm", i, r)
            res["cold"] = self.summary(cold)
            res["warm"] = self.summary(warm)
            ic = res["inventory"]
            log(f"  inventory: {ic['packages']} packages ({', '.join(f'{k} {v}' for k, v in ic['by_kind'].items())}); "
                f"os {ic['os']}; {ic['skipped']} skipped")
            log(f"  findings: {cold[0]['findings']} ({cold[0]['severity_counts']}), "
                f"by package manager {cold[0]['by_package_manager']}")

    def log_scan(self, kind: str, i: int, r: dict) -> None:
        log(f"  {kind} {i + 1}: {r['wall_s']:.2f} s wall, {r['cpu_s']:.2f} s CPU (user "
            f"{r['user_s']:.2f}, sys {r['sys_s']:.2f}), max RSS {r['max_rss_mb']:.0f} MB; "
            f"{r['findings']} findings ({r['status']}); other work {r['other_cores']:.2f} cores")


class ScanServer(run.Wharf):
    name = "wharf"

    def __init__(self, workdir: Path, binary: str, repos: list[str]):
        self.repos = repos
        super().__init__(workdir, binary)
        self.data_dir = workdir / "scan-data"
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def prepare(self) -> None:
        for r in self.repos:
            subprocess.run([self.binary, "--data-dir", str(self.data_dir), "repo", "create", r],
                           check=True, capture_output=True, timeout=60)


def stored_inventory(data_dir: Path, repo: str) -> dict | None:
    """The inventory wharf stored for repo:latest (read-only look at the SQLite file)."""
    con = sqlite3.connect(f"file:{data_dir / 'wharf.db'}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "image_inventories" not in tables:
            return None
        row = con.execute(
            "SELECT i.inventory FROM image_inventories i JOIN repositories r ON r.id = i.repository_id "
            "JOIN manifests m ON m.repository_id = i.repository_id AND m.digest = i.digest "
            "WHERE r.name = ?", (repo,)).fetchone()
    finally:
        con.close()
    return json.loads(row[0]) if row else None


def inventory_counts(inv: dict) -> dict:
    pk = inv.get("packages") or []
    return {"packages": len(pk), "by_kind": dict(Counter(p.get("kind") for p in pk).most_common()),
            "by_ecosystem": dict(Counter(p.get("ecosystem") for p in pk).most_common()),
            "os": (inv.get("os") or {}).get("pretty_name"), "skipped": len(inv.get("skipped") or [])}


def findings_of(path: Path) -> dict:
    doc = json.loads(path.read_text())
    f = doc.get("imageScanFindings") or {}
    items = f.get("enhancedFindings") or f.get("findings") or []
    pm = Counter()
    for x in items:
        for p in (x.get("packageVulnerabilityDetails") or {}).get("vulnerablePackages") or []:
            pm[p.get("packageManager")] += 1
    return {"findings": len(items), "severity_counts": f.get("findingSeverityCounts") or {},
            "status": (doc.get("imageScanStatus") or {}).get("status"),
            "by_package_manager": dict(pm.most_common())}


# --------------------------------------------------------------------------- table
def build_rows(res: dict, runs: int) -> list[list]:
    rows = []

    def add(metric, unit, block, key, target=None, fmt="{:.2f}"):
        if not block:
            return
        vals = [r[key] for r in block["runs"]]
        med = statistics.median(vals)
        met = ""
        if target is not None:
            met = "yes" if med <= target else "NO"
        rows.append([metric, unit, fmt.format(med), ", ".join(fmt.format(v) for v in vals),
                     "" if target is None else f"<= {target}",
                     met, f"{block['max_other_cores']:.2f}"])

    imp = res.get("import")
    if imp:
        n = imp["runs"][0].get("records")
        add(f"vulndb import ({n} records + KEV), wall", "s", imp, "wall_s", 10)
        add("vulndb import, CPU", "s", imp, "cpu_s")
        add("vulndb import, peak RSS", "MB", imp, "max_rss_mb", None, "{:.0f}")
    for part, name in (("big", "~100 MB image"), ("python", "Python image")):
        r = res.get(part) or {}
        for kind in ("cold", "warm"):
            b = r.get(kind)
            what = "layers read" if kind == "cold" else "rematch only"
            add(f"scan {name}, {kind} ({what}), wall", "s", b, "wall_s",
                2 if (part == "big" and kind == "cold") else None)
            add(f"scan {name}, {kind}, CPU", "s", b, "cpu_s")
            add(f"scan {name}, {kind}, peak RSS", "MB", b, "max_rss_mb", 150, "{:.0f}")
    return rows


def render(rows: list[list]) -> str:
    hdr = ["metric", "unit", "median", "runs", "target", "met", "other cores (max)"]
    return run.markdown_table(hdr, rows, right={2, 6})


# --------------------------------------------------------------------------- main
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", action="append", default=[],
                   help=f"run only these parts (repeatable or comma list): {', '.join(PARTS)}")
    p.add_argument("--json", metavar="FILE", help="write all results as JSON")
    p.add_argument("--wharf-bin", default=os.environ.get("WHARF_BIN")
                   or str(run.REPO_ROOT / "target" / "release" / "wharf"),
                   help="copied into the temp dir at the start; the copy is what runs")
    p.add_argument("--vulndb", default=str(run.REPO_ROOT.parent / "shared" / "vulndb"),
                   help="folder (or file) given to `wharf vulndb import` (default ../shared/vulndb)")
    p.add_argument("--runs", type=int, default=3, help="runs of each measurement (default 3)")
    p.add_argument("--cache", default=os.environ.get("WHARF_BENCH_CACHE")
                   or str(Path.home() / ".cache" / "wharf-bench" / "pypi"),
                   help="where the PyPI wheels of the Python image are kept")
    p.add_argument("--wait-quiet", type=float, default=120, metavar="S",
                   help="before each run wait up to S seconds for the machine to be idle (0 = don't)")
    p.add_argument("--noise-cores", type=float, default=0.3,
                   help="flag runs during which other work used more than this many cores")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (data dirs, outputs)")
    p.add_argument("--tmp", default="/tmp", help="parent of the temp dir (default /tmp)")
    a = p.parse_args(argv)
    a.selected = run.select(p, a.only, PARTS, "part")
    if a.runs < 1:
        p.error("--runs must be at least 1")
    return a


def main(argv=None) -> int:
    args = parse_args(argv)
    if not os.access(TIME_BIN, os.X_OK):
        sys.exit(f"{TIME_BIN} not found (apt-get install time)")
    if not os.access(args.wharf_bin, os.X_OK):
        sys.exit(f"wharf binary not found: {args.wharf_bin} (cargo build --release -p wharf)")
    if not os.path.exists(args.vulndb):
        sys.exit(f"vulnerability data not found: {args.vulndb}")
    workdir, cleanup = run.make_workdir(args, "wharf-bench-scan-")
    shutil.copy2(args.wharf_bin, workdir / "wharf")  # others may rebuild the original meanwhile
    b = ScanBench(args, workdir)
    st = os.stat(args.wharf_bin)
    meta = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"), "host": platform.node(),
        "cpus": os.cpu_count(), "kernel": platform.release(),
        "wharf_bin": args.wharf_bin,
        "wharf_bin_sha256": hashlib.sha256((workdir / "wharf").read_bytes()).hexdigest(),
        "wharf_bin_mtime": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(st.st_mtime)),
        "wharf_version": subprocess.run([b.bin, "--version"], capture_output=True,
                                        text=True).stdout.strip(),
        "repo_head": subprocess.run(["git", "-C", str(run.REPO_ROOT), "rev-parse", "--short", "HEAD"],
                                    capture_output=True, text=True).stdout.strip(),
        "vulndb": args.vulndb, "parts": args.selected, "runs": args.runs, "workdir": str(workdir),
        "loadavg_start": os.getloadavg(),
    }
    log(f"wharf scan benchmark: {meta['when']}, {meta['cpus']} CPUs, parts {', '.join(args.selected)}")
    log(f"  wharf: {meta['wharf_version']} ({args.wharf_bin}, built {meta['wharf_bin_mtime']}, "
        f"sha256 {meta['wharf_bin_sha256'][:12]}…, run from a copy)")
    log(f"  repository HEAD {meta['repo_head']}; temp dir {workdir}; load average {' '.join(f'{x:.2f}' for x in meta['loadavg_start'])}")
    errors = []
    try:
        if "import" in args.selected:
            try:
                b.bench_import()
            except Exception as e:  # noqa: BLE001
                errors.append(f"import: {e}")
                log(f"  !! import failed: {e}")
        parts = [p for p in ("big", "python") if p in args.selected]
        if parts:
            try:
                b.bench_scans(parts)
            except Exception as e:  # noqa: BLE001
                errors.append(f"scan: {e}")
                log(f"  !! scans failed: {e}")
    finally:
        cleanup()
    meta["loadavg_end"] = os.getloadavg()

    rows = build_rows(b.results, args.runs)
    log("\n" + render(rows))
    for part in ("big", "python"):
        im = (b.results.get(part) or {}).get("image")
        inv = (b.results.get(part) or {}).get("inventory")
        if im:
            log(f"\n{part}: {im['compressed'] / 1e6:.1f} MB compressed, {im['uncompressed'] / 1e6:.1f} MB "
                f"uncompressed, {im['files']} files, {len(im['layers'])} layers"
                + (f"; {inv['packages']} packages found ({', '.join(f'{k} {v}' for k, v in inv['by_kind'].items())})"
                   if inv else ""))
    log(f"\nload average at start {' '.join(f'{x:.2f}' for x in meta['loadavg_start'])}, at end "
        f"{' '.join(f'{x:.2f}' for x in meta['loadavg_end'])}")
    if b.noisy:
        log("WARNING: other work ran during these runs, their numbers are suspect: " + "; ".join(b.noisy))
    for e in errors:
        log(f"ERROR {e}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "results": b.results, "noisy_runs": b.noisy, "errors": errors,
                       "table": [dict(zip(["metric", "unit", "median", "runs", "target", "met",
                                           "other_cores_max"], r)) for r in rows]}, f, indent=2)
        log(f"wrote {args.json}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
