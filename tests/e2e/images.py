"""Helpers that make REAL container images without pulling anything.

Everything here is built locally from Debian's ``busybox-static`` (/bin/busybox) and from
bytes made up by the tests. Outputs are deterministic (fixed mtimes, uid 0, gzip mtime 0),
so the same inputs always give the same digests; pass ``extra_files``/``marker`` to make an
image unique.

Main entry points
-----------------
busybox_rootfs_tar(path, extra_files=None) -> path
    A bootable busybox root filesystem tarball (uncompressed tar).
make_layer(files) -> Layer            one gzip layer from {path: bytes | str}
build_image(layers=None, platform="linux/amd64", ...) -> Image
    An OCI image (config + gzip layers + manifest) held in memory.
build_index(images) -> Index           an OCI image index over several Images.
make_oci_layout(dir, layers=None, platform=..., tag="latest") -> Image
    Writes an OCI image layout (oci-layout, index.json, blobs/sha256/...) for
    ``skopeo copy oci:DIR:TAG docker://HOST/REPO:TAG``.
make_multiarch_oci_layout(dir, platforms=("linux/amd64", "linux/arm64"), tag="latest") -> Index
    Same, but the tag points at an image index with one child per platform, each with
    distinct layers (``skopeo copy --all oci:DIR:TAG docker://...``).
docker_import_image(tag) -> image id   ``docker import`` of the busybox rootfs.
push_image(base_url, repo, ref, image_or_index, session=None) -> manifest digest
    Plain-HTTP push (monolithic blob uploads + PUT manifest) with ``requests``; pass a
    session that authenticates (``wharf.session()``, see conftest.py).

Findings about the real clients in this sandbox (Debian 12, root, no registry access)
------------------------------------------------------------------------------------
* skopeo 1.9.3: ``skopeo copy --dest-tls-verify=false oci:DIR:TAG docker://127.0.0.1:PORT/R:T``
  and ``--src-tls-verify=false`` for the reverse; ``--all`` for an index. No other flags.
  ``skopeo inspect --tls-verify=false --raw docker://...`` for the raw manifest.
  OCI layouts keep the OCI media types; ``--format v2s2`` converts to Docker schema2.
* docker (client 28, engine 20.10, storage fuse-overlayfs): the engine treats
  127.0.0.0/8 as insecure, so ``docker push/pull 127.0.0.1:PORT/REPO:TAG`` works over plain
  HTTP with no daemon config. ``docker import`` makes an image from a rootfs tar (no pull
  needed); ``docker run`` of it works. Docker pushes Docker schema2 media types.
* podman 4.3.1 (root): push/pull to 127.0.0.1:PORT work with ``--tls-verify=false`` (no
  registries.conf change). Use ``podman_flags(tmpdir)`` (vfs driver, cgroupfs, file events,
  private --root/--runroot/--tmpdir) so tests never touch the host's image store.
  ``podman import`` works. ``podman run`` fails here with "error setting rlimit type 7:
  operation not permitted" (its default nofile/nproc ulimits exceed the sandbox's hard
  limits); add PODMAN_RUN_FLAGS (``--ulimit nofile=1024:1024 --ulimit nproc=1024:1024``).
* oras-py 0.2.43: ``oras.client.OrasClient(hostname="127.0.0.1:PORT", insecure=True,
  auth_backend="basic")``, then ``login(username="AWS", password=TOKEN, hostname=...,
  tls_verify=False, config_path=...)``; push/pull/get_tags work over plain HTTP. The default
  "token" backend wants a Bearer token service and fails on wharf's (ECR's) Basic challenge;
  the "basic" one sends each request without credentials first and retries after the 401.
  ``login`` hands the credentials to the docker engine (nothing written) and only falls
  back to writing ``config_path`` (default ~/.docker/config.json) without it.
* Logging in (wharf requires auth like ECR; user ``AWS``, password = the token from
  ``get-login-password``): ``docker login --username AWS --password-stdin HOST`` (with
  ``DOCKER_CONFIG=<temp dir>`` to keep ~/.docker clean), ``skopeo login --tls-verify=false
  -u AWS --password-stdin HOST`` and the same for podman, both with ``REGISTRY_AUTH_FILE=
  <temp file>`` (read by every later skopeo/podman command).
* buildah 1.28.2 is installed (dependency of podman): same flags as podman
  (``--storage-driver vfs --root .. --runroot ..``, ``--tls-verify=false``).
* containerd's ``ctr`` is installed; docker's containerd listens on
  /run/docker/containerd/containerd.sock: ``ctr --address <that> -n <own namespace>
  images pull --plain-http 127.0.0.1:PORT/r:t`` works (add ``--all-platforms`` before
  pushing an index back). crane, nerdctl and the oras CLI are NOT installed.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

# --------------------------------------------------------------------------- media types
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"

BUSYBOX = "/bin/busybox"
FIXED_MTIME = 1_700_000_000  # 2023-11-14, any fixed value keeps digests stable
APPLETS = (
    "sh", "ash", "ls", "cat", "echo", "true", "false", "env", "sleep", "uname", "id",
    "mkdir", "rm", "cp", "mv", "ln", "touch", "sha256sum", "wget", "grep", "sed", "head",
    "tail", "wc", "ps", "hostname", "date", "printf", "test", "[", "pwd", "find", "tar",
)

# Flags for running podman in this sandbox without touching the host's storage.
# Usage: subprocess.run(["podman", *podman_flags(tmpdir), "push", "--tls-verify=false", ...])
PODMAN_GLOBAL_FLAGS = ("--storage-driver", "vfs", "--cgroup-manager", "cgroupfs",
                       "--events-backend", "file")
# Extra flags for `podman run` (sandbox hard limits are below podman's default ulimits).
PODMAN_RUN_FLAGS = ("--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024")


def podman_flags(state_dir: str | os.PathLike) -> list[str]:
    """Global podman flags that isolate its storage under ``state_dir``."""
    state_dir = Path(state_dir)
    return [*PODMAN_GLOBAL_FLAGS,
            "--root", str(state_dir / "root"),
            "--runroot", str(state_dir / "runroot"),
            "--tmpdir", str(state_dir / "tmp")]


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


# --------------------------------------------------------------------------- tar building
def _tarinfo(name: str, type_=tarfile.REGTYPE, mode=0o644, size=0, linkname="") -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type = type_
    ti.mode = mode
    ti.size = size
    ti.linkname = linkname
    ti.mtime = FIXED_MTIME
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = "root"
    return ti


def _as_bytes(v) -> bytes:
    return v.encode() if isinstance(v, str) else bytes(v)


def tar_bytes(files: Mapping[str, bytes | str], dirs: Iterable[str] = (),
              symlinks: Mapping[str, str] | None = None,
              modes: Mapping[str, int] | None = None) -> bytes:
    """Deterministic uncompressed tar. ``files`` maps 'a/b.txt' -> content. Parent
    directories are added automatically."""
    modes = modes or {}
    symlinks = symlinks or {}
    all_dirs: set[str] = set(d.strip("/") for d in dirs if d.strip("/"))
    for p in list(files) + list(symlinks):
        parts = p.strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            all_dirs.add("/".join(parts[:i]))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for d in sorted(all_dirs):
            mode = 0o1777 if d == "tmp" else 0o755
            tf.addfile(_tarinfo(d + "/", tarfile.DIRTYPE, mode=modes.get(d, mode)))
        for p in sorted(files):
            data = _as_bytes(files[p])
            name = p.strip("/")
            tf.addfile(_tarinfo(name, mode=modes.get(name, 0o644), size=len(data)),
                       io.BytesIO(data))
        for p in sorted(symlinks):
            tf.addfile(_tarinfo(p.strip("/"), tarfile.SYMTYPE, mode=0o777,
                                linkname=symlinks[p]))
    return buf.getvalue()


def gzip_bytes(data: bytes) -> bytes:
    """Deterministic gzip (mtime 0, no file name)."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=6, filename="") as gz:
        gz.write(data)
    return buf.getvalue()


def busybox_files(extra_files: Mapping[str, bytes | str] | None = None,
                  arch: str = "amd64") -> tuple[dict, list, dict, dict]:
    """(files, dirs, symlinks, modes) of a minimal busybox root filesystem."""
    if not os.path.exists(BUSYBOX):
        raise FileNotFoundError(f"{BUSYBOX} missing: apt-get install busybox-static")
    with open(BUSYBOX, "rb") as f:
        busybox = f.read()
    files: dict[str, bytes | str] = {
        "bin/busybox": busybox,
        "etc/os-release": ('NAME="wharf-test busybox"\nID=busybox\nVERSION_ID=1.35\n'
                           'PRETTY_NAME="wharf test image (busybox)"\n'),
        "etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
        "etc/group": "root:x:0:\nnogroup:x:65534:\n",
        "etc/hostname": "wharf-test\n",
        "etc/wharf-arch": arch + "\n",
    }
    files.update(extra_files or {})
    dirs = ["bin", "etc", "tmp", "root", "proc", "sys", "dev", "usr/bin", "var", "home"]
    symlinks = {f"bin/{a}": "busybox" for a in APPLETS}
    modes = {"bin/busybox": 0o755, "root": 0o700}
    return files, dirs, symlinks, modes


def busybox_rootfs_bytes(extra_files: Mapping[str, bytes | str] | None = None,
                         arch: str = "amd64") -> bytes:
    files, dirs, symlinks, modes = busybox_files(extra_files, arch)
    return tar_bytes(files, dirs, symlinks, modes)


def busybox_rootfs_tar(path: str | os.PathLike,
                       extra_files: Mapping[str, bytes | str] | None = None) -> Path:
    """Write a real busybox root filesystem tarball (uncompressed) to ``path``."""
    path = Path(path)
    path.write_bytes(busybox_rootfs_bytes(extra_files))
    return path


# --------------------------------------------------------------------------- image model
@dataclass
class Blob:
    data: bytes
    media_type: str

    @property
    def digest(self) -> str:
        return sha256_digest(self.data)

    @property
    def size(self) -> int:
        return len(self.data)

    def descriptor(self, **extra) -> dict:
        d = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        d.update(extra)
        return d


@dataclass
class Layer(Blob):
    diff_id: str = ""  # sha256 of the uncompressed tar


@dataclass
class Image:
    config: Blob
    layers: list[Layer]
    manifest: bytes  # exact bytes (its digest is the image digest)
    media_type: str = OCI_MANIFEST
    platform: dict = field(default_factory=dict)

    @property
    def digest(self) -> str:
        return sha256_digest(self.manifest)

    def blobs(self) -> list[Blob]:
        return [self.config, *self.layers]

    def descriptor(self) -> dict:
        d = {"mediaType": self.media_type, "digest": self.digest, "size": len(self.manifest)}
        if self.platform:
            d["platform"] = self.platform
        return d


@dataclass
class Index:
    images: list[Image]
    manifest: bytes
    media_type: str = OCI_INDEX

    @property
    def digest(self) -> str:
        return sha256_digest(self.manifest)

    def blobs(self) -> list[Blob]:
        seen, out = set(), []
        for im in self.images:
            for b in im.blobs():
                if b.digest not in seen:
                    seen.add(b.digest)
                    out.append(b)
        return out


def make_layer(files: Mapping[str, bytes | str] | bytes, docker: bool = False,
               compress: bool = True) -> Layer:
    """A layer from {path: content} (or from ready uncompressed tar bytes)."""
    raw = files if isinstance(files, (bytes, bytearray)) else tar_bytes(files)
    raw = bytes(raw)
    if compress:
        data = gzip_bytes(raw)
        mt = DOCKER_LAYER_GZIP if docker else OCI_LAYER_GZIP
    else:
        data, mt = raw, OCI_LAYER_TAR
    return Layer(data=data, media_type=mt, diff_id=sha256_digest(raw))


def random_layer(size: int = 1024, docker: bool = False) -> Layer:
    """A small layer with one file of ``size`` random bytes (unique every call)."""
    return make_layer({f"data/{os.urandom(8).hex()}.bin": os.urandom(size)}, docker=docker)


def _split_platform(platform: str) -> dict:
    parts = platform.split("/")
    p = {"os": parts[0], "architecture": parts[1]}
    if len(parts) > 2:
        p["variant"] = parts[2]
    return p


def build_image(layers: list[Layer] | None = None, platform: str = "linux/amd64",
                docker: bool = False, marker: str | None = None,
                cmd: list[str] | None = None, annotations: dict | None = None,
                labels: dict | None = None) -> Image:
    """An image in memory. Default layers: the busybox rootfs (plus a file /etc/wharf-marker
    with ``marker`` if given, which makes the image unique). ``docker=True`` uses Docker
    schema2 media types instead of OCI."""
    plat = _split_platform(platform)
    if layers is None:
        extra = {"etc/wharf-marker": marker + "\n"} if marker is not None else None
        layers = [make_layer(busybox_rootfs_bytes(extra, arch=plat["architecture"]),
                             docker=docker)]
    cfg = {
        "architecture": plat["architecture"],
        "os": plat["os"],
        "created": "2023-11-14T22:13:20Z",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Cmd": cmd or ["/bin/sh"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [l.diff_id for l in layers]},
        "history": [{"created": "2023-11-14T22:13:20Z", "created_by": "wharf tests/e2e/images.py"}
                    for _ in layers],
    }
    if "variant" in plat:
        cfg["variant"] = plat["variant"]
    if labels:
        cfg["config"]["Labels"] = labels
    config = Blob(data=canonical_json(cfg), media_type=DOCKER_CONFIG if docker else OCI_CONFIG)
    mt = DOCKER_MANIFEST if docker else OCI_MANIFEST
    man = {"schemaVersion": 2, "mediaType": mt, "config": config.descriptor(),
           "layers": [l.descriptor() for l in layers]}
    if annotations:
        man["annotations"] = annotations
    return Image(config=config, layers=list(layers), manifest=json.dumps(man, indent=2).encode(),
                 media_type=mt, platform=plat)


def build_index(images: list[Image], docker: bool = False,
                annotations: dict | None = None) -> Index:
    mt = DOCKER_LIST if docker else OCI_INDEX
    idx = {"schemaVersion": 2, "mediaType": mt, "manifests": [im.descriptor() for im in images]}
    if annotations:
        idx["annotations"] = annotations
    return Index(images=list(images), manifest=json.dumps(idx, indent=2).encode(), media_type=mt)


def build_multiarch(platforms=("linux/amd64", "linux/arm64"), docker: bool = False,
                    marker: str | None = None) -> Index:
    """An index with one busybox image per platform; every child has distinct layers
    (the rootfs records the arch in /etc/wharf-arch)."""
    images = [build_image(platform=p, docker=docker, marker=marker) for p in platforms]
    return build_index(images, docker=docker)


# --------------------------------------------------------------------------- OCI layout
def _write_blob(root: Path, data: bytes) -> str:
    d = sha256_digest(data)
    p = root / "blobs" / "sha256" / d.split(":", 1)[1]
    p.parent.mkdir(parents=True, exist_ok=True)
    if not p.exists():
        p.write_bytes(data)
    return d


def write_oci_layout(dir: str | os.PathLike, top: Image | Index, tag: str = "latest") -> Path:
    """Write ``top`` (an Image or an Index) into an OCI image layout at ``dir`` under
    ``tag``. Adds to an existing layout (several tags) if index.json exists."""
    root = Path(dir)
    root.mkdir(parents=True, exist_ok=True)
    (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    images = top.images if isinstance(top, Index) else [top]
    for im in images:
        for b in im.blobs():
            _write_blob(root, b.data)
        _write_blob(root, im.manifest)
    if isinstance(top, Index):
        _write_blob(root, top.manifest)
    desc = {"mediaType": top.media_type, "digest": top.digest, "size": len(top.manifest),
            "annotations": {"org.opencontainers.image.ref.name": tag}}
    index_path = root / "index.json"
    if index_path.exists():
        index = json.loads(index_path.read_text())
        index["manifests"] = [m for m in index["manifests"]
                              if m.get("annotations", {}).get("org.opencontainers.image.ref.name")
                              != tag]
    else:
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
    index["manifests"].append(desc)
    index_path.write_text(json.dumps(index, indent=2))
    return root


def make_oci_layout(dir: str | os.PathLike, layers: list[Layer] | None = None,
                    platform: str = "linux/amd64", tag: str = "latest",
                    marker: str | None = None) -> Image:
    """OCI image layout with one image (default: busybox rootfs layer). Use with
    ``skopeo copy oci:DIR:TAG docker://HOST/REPO:TAG``. Returns the Image."""
    im = build_image(layers=layers, platform=platform, marker=marker)
    write_oci_layout(dir, im, tag)
    return im


def make_multiarch_oci_layout(dir: str | os.PathLike,
                              platforms=("linux/amd64", "linux/arm64"),
                              tag: str = "latest", marker: str | None = None) -> Index:
    """OCI layout whose tag is an image index (one busybox child per platform, distinct
    layers). Use with ``skopeo copy --all oci:DIR:TAG docker://...``. Returns the Index."""
    idx = build_multiarch(platforms, marker=marker)
    write_oci_layout(dir, idx, tag)
    return idx


# --------------------------------------------------------------------------- docker
def docker_import_image(tag: str, extra_files: Mapping[str, bytes | str] | None = None) -> str:
    """``docker import`` the busybox rootfs as local image ``tag`` (e.g.
    "127.0.0.1:5000/repo:v1"); returns the image id ("sha256:...")."""
    with tempfile.TemporaryDirectory() as td:
        tar = busybox_rootfs_tar(Path(td) / "rootfs.tar", extra_files)
        out = subprocess.run(["docker", "import", "--change", 'CMD ["/bin/sh"]', str(tar), tag],
                             check=True, capture_output=True, text=True, timeout=120)
    return out.stdout.strip()


def podman_import_image(tag: str, state_dir: str | os.PathLike,
                        extra_files: Mapping[str, bytes | str] | None = None) -> str:
    """``podman import`` the busybox rootfs into podman storage under ``state_dir`` (see
    podman_flags); returns the image id."""
    with tempfile.TemporaryDirectory() as td:
        tar = busybox_rootfs_tar(Path(td) / "rootfs.tar", extra_files)
        out = subprocess.run(["podman", *podman_flags(state_dir), "import",
                              "--change", 'CMD ["/bin/sh"]', str(tar), tag],
                             check=True, capture_output=True, text=True, timeout=120)
    return out.stdout.strip().splitlines()[-1]


# --------------------------------------------------------------------------- HTTP push
def push_blob(base_url: str, repo: str, blob: Blob, session=None) -> None:
    """Monolithic upload (POST then PUT ?digest=) unless the blob already exists."""
    import requests
    s = session or requests.Session()
    head = s.head(f"{base_url}/v2/{repo}/blobs/{blob.digest}", timeout=30)
    if head.status_code == 200:
        return
    r = s.post(f"{base_url}/v2/{repo}/blobs/uploads/", timeout=30)
    if r.status_code != 202:
        raise AssertionError(f"POST upload {repo}: {r.status_code} {r.text}")
    loc = r.headers["Location"]
    if loc.startswith("/"):
        loc = base_url + loc
    sep = "&" if "?" in loc else "?"
    r = s.put(f"{loc}{sep}digest={blob.digest}", data=blob.data,
              headers={"Content-Type": "application/octet-stream"}, timeout=60)
    if r.status_code != 201:
        raise AssertionError(f"PUT blob {blob.digest} to {repo}: {r.status_code} {r.text}")


def push_manifest(base_url: str, repo: str, ref: str, manifest: bytes, media_type: str,
                  session=None):
    import requests
    s = session or requests.Session()
    return s.put(f"{base_url}/v2/{repo}/manifests/{ref}", data=manifest,
                 headers={"Content-Type": media_type}, timeout=30)


def push_image(base_url: str, repo: str, ref: str, image: Image | Index, session=None) -> str:
    """Push all blobs, child manifests (for an Index, by digest) and the top manifest under
    ``ref``; returns the top manifest digest. Raises AssertionError on a non-201."""
    import requests
    s = session or requests.Session()
    for b in image.blobs():
        push_blob(base_url, repo, b, s)
    children = image.images if isinstance(image, Index) else []
    for im in children:
        r = push_manifest(base_url, repo, im.digest, im.manifest, im.media_type, s)
        if r.status_code != 201:
            raise AssertionError(f"PUT child manifest {im.digest}: {r.status_code} {r.text}")
    r = push_manifest(base_url, repo, ref, image.manifest, image.media_type, s)
    if r.status_code != 201:
        raise AssertionError(f"PUT manifest {repo}:{ref}: {r.status_code} {r.text}")
    return image.digest


def have_tool(name: str) -> bool:
    return shutil.which(name) is not None
