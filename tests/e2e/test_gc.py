"""Online garbage collection (`wharf gc` and the server's background collector), on SQLite
and PostgreSQL: what is reclaimed, what is kept, and a stress test of collections running
in a loop while clients push images that share layers and delete others.

The tests read the blob folder directly: it is the ground truth of what is stored.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import threading
import time
from pathlib import Path

import pytest

from ocihelp import OCI_CONFIG, OCI_LAYER, Client, config_blob, descriptor, image_manifest, rand_bytes, sha256

GRACE = 2  # seconds, --gc-grace-secs of these servers


def start(wharf_factory, backend, *args):
    return wharf_factory(backend=backend, extra_args=["--gc-interval-secs", "0", "--gc-grace-secs", str(GRACE), *args])


def gc(srv, *args) -> dict:
    return json.loads(srv.cli("gc", "--json", *args).stdout)


def stored(srv) -> set[str]:
    """Digests of the blob files on disk."""
    root = Path(srv.data_dir) / "blobs"
    return {f"{alg.name}:{f.name}" for alg in root.iterdir() for prefix in alg.iterdir() for f in prefix.iterdir()}


def blob_path(srv, digest: str) -> Path:
    alg, hex_ = digest.split(":")
    return Path(srv.data_dir) / "blobs" / alg / hex_[:2] / hex_


def push(c: Client, repo: str, tag: str, layers: list[bytes]) -> tuple[str, dict[str, int]]:
    """Pushes an image the way docker does (HEAD each blob, upload the missing ones);
    returns its digest and its blobs' digests with their sizes."""
    cfg = config_blob()
    for blob in [cfg, *layers]:
        if c.head_blob(repo, sha256(blob)).status_code != 200:
            c.push_blob(repo, blob)
    body = image_manifest(descriptor(OCI_CONFIG, cfg), [descriptor(OCI_LAYER, b) for b in layers])
    digest = c.push_manifest(repo, tag, body)
    return digest, {sha256(b): len(b) for b in [cfg, *layers]}


def pull_all(c: Client, repo: str, tag: str) -> set[str]:
    """Pulls an image completely, checking every digest; its blob digests."""
    r = c.get_manifest(repo, tag)
    assert r.status_code == 200, (repo, tag, r.status_code, r.text)
    manifest = r.json()
    blobs = {manifest["config"]["digest"], *(layer["digest"] for layer in manifest["layers"])}
    for digest in blobs:
        got = c.get_blob(repo, digest)
        assert got.status_code == 200, (repo, tag, digest, got.status_code, got.text)
        assert "sha256:" + hashlib.sha256(got.content).hexdigest() == digest
    return blobs


def test_unreferenced_blobs_are_marked_then_deleted(wharf_factory, backend):
    srv = start(wharf_factory, backend)
    c = Client(srv)
    repo = "gc/basic"
    srv.create_repo(repo)
    shared, only_a, only_b = rand_bytes(300), rand_bytes(500), rand_bytes(700)
    digest_a, blobs_a = push(c, repo, "a", [shared, only_a])
    _, blobs_b = push(c, repo, "b", [shared, only_b])
    assert c.delete(f"/v2/{repo}/manifests/{digest_a}").status_code == 202
    garbage = blobs_a.keys() - blobs_b.keys()
    assert len(garbage) == 2

    first = gc(srv)
    assert first["blobs_marked"] == 0, "blobs used less than the grace period ago are not even marked"
    time.sleep(GRACE + 0.5)
    dry = gc(srv, "--dry-run")
    assert dry["dry_run"] and dry["blobs_deleted"] == 2, dry
    assert stored(srv) >= blobs_a.keys() | blobs_b.keys(), "a dry run deletes nothing"

    marked = gc(srv)
    assert marked["blobs_marked"] == 2 and marked["blobs_deleted"] == 0, marked
    time.sleep(GRACE + 0.5)
    swept = gc(srv)
    assert swept["blobs_deleted"] == 2, swept
    assert swept["bytes_deleted"] == sum(blobs_a[d] for d in garbage), swept

    assert stored(srv) == blobs_b.keys()
    assert pull_all(c, repo, "b") == blobs_b.keys()
    for digest in garbage:
        assert c.head_blob(repo, digest).status_code == 404


def test_a_used_blob_is_kept(wharf_factory, backend):
    """A blob a client looked up (HEAD) or referenced after it was marked is not deleted."""
    srv = start(wharf_factory, backend)
    c = Client(srv)
    repo = "gc/used"
    srv.create_repo(repo)
    layer, cfg = rand_bytes(1000), config_blob()
    c.push_blob(repo, layer)
    c.push_blob(repo, cfg)
    time.sleep(GRACE + 0.5)
    assert gc(srv)["blobs_marked"] == 2
    # A client checks the blobs, decides not to upload them, and pushes its manifest later.
    assert c.head_blob(repo, sha256(layer)).status_code == 200
    assert c.head_blob(repo, sha256(cfg)).status_code == 200
    time.sleep(GRACE + 0.5)
    report = gc(srv)
    assert report["blobs_deleted"] == 0, report
    body = image_manifest(descriptor(OCI_CONFIG, cfg), [descriptor(OCI_LAYER, layer)])
    c.push_manifest(repo, "late", body)
    time.sleep(GRACE + 0.5)
    gc(srv)
    assert gc(srv)["blobs_deleted"] == 0
    assert pull_all(c, repo, "late") == {sha256(layer), sha256(cfg)}


def test_abandoned_uploads_and_orphaned_files(wharf_factory, backend):
    srv = start(wharf_factory, backend, "--upload-max-age-secs", "60")
    c = Client(srv)
    repo = "gc/uploads"
    srv.create_repo(repo)
    live = c.open_session(repo)
    stale = c.open_session(repo)
    assert c.patch_chunk(stale, b"partial", 0).status_code == 202
    stale_id = stale.rstrip("/").split("/")[-1].split("?")[0]
    old = time.time() - 3600
    os.utime(Path(srv.data_dir) / "uploads" / stale_id, (old, old))

    # Bytes whose upload died before its record was written: a file with no blob row.
    orphan = rand_bytes(123)
    path = blob_path(srv, sha256(orphan))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orphan)
    os.utime(path, (old, old))

    report = gc(srv)
    assert report["uploads_deleted"] == 1 and report["orphan_files_deleted"] == 1, report
    assert report["orphan_bytes_deleted"] == 123
    assert not path.exists()
    assert c.patch_chunk(stale, b"more", 7).status_code == 404
    assert c.patch_chunk(live, b"still fine", 0).status_code == 202


def test_an_interrupted_collection_is_finished_by_the_next(wharf_factory, backend):
    """Blobs a collection moved aside before dying go back if they are recorded."""
    srv = start(wharf_factory, backend)
    c = Client(srv)
    repo = "gc/crash"
    srv.create_repo(repo)
    _, blobs = push(c, repo, "v1", [rand_bytes(800)])
    trash = Path(srv.data_dir) / "trash"
    for digest in blobs:
        alg, hex_ = digest.split(":")
        blob_path(srv, digest).rename(trash / f"{alg}-{hex_}")
    assert gc(srv)["quarantine_resolved"] == len(blobs)
    assert pull_all(c, repo, "v1") == blobs.keys()
    assert not any(trash.iterdir())


def test_the_server_collects_in_the_background(wharf_factory, backend):
    srv = wharf_factory(backend=backend, extra_args=["--gc-interval-secs", "1", "--gc-grace-secs", "0"])
    c = Client(srv)
    repo = "gc/background"
    srv.create_repo(repo)
    digest, blobs = push(c, repo, "x", [rand_bytes(321)])
    assert c.delete(f"/v2/{repo}/manifests/{digest}").status_code == 202
    deadline = time.time() + 20
    while stored(srv) & blobs.keys() and time.time() < deadline:
        time.sleep(0.3)
    assert not stored(srv) & blobs.keys(), "the background collector deleted the unreferenced blobs"


def test_stress_concurrent_pushes_deletes_and_collections(wharf_factory, backend):
    """Pushes of images sharing layers, deletes, and collections in a loop, all at once.
    Afterwards every remaining image pulls completely with correct digests, and once the
    grace period has passed no unreferenced blob remains on disk."""
    srv = start(wharf_factory, backend)
    repos = [f"stress/r{i}" for i in range(3)]
    for r in repos:
        srv.create_repo(r)
    pool = [rand_bytes(random.randint(100, 4000)) for _ in range(12)]
    stop = threading.Event()
    errors: list[str] = []
    live: dict[tuple[str, str], str] = {}  # (repo, tag) -> digest
    lock = threading.Lock()
    collections = 0

    def pusher(n: int):
        c = Client(srv)
        rnd = random.Random(n)
        i = 0
        while not stop.is_set():
            repo = rnd.choice(repos)
            tag = f"w{n}-{i % 6}"
            i += 1
            try:
                layers = rnd.sample(pool, rnd.randint(1, 3)) + [rand_bytes(64)]
                digest, _ = push(c, repo, tag, layers)
                with lock:
                    live[(repo, tag)] = digest
                if rnd.random() < 0.4:
                    with lock:
                        victim = rnd.choice(sorted(live))
                        victim_digest = live.pop(victim)
                    r = c.delete(f"/v2/{victim[0]}/manifests/{victim_digest}")
                    if r.status_code != 202:
                        # Another tag of this worker may have been re-pushed with the same
                        # content; that is fine, the digest was deleted by someone.
                        assert r.status_code == 404, (r.status_code, r.text)
            except Exception as e:  # noqa: BLE001 - collected and reported below
                errors.append(f"{repo}:{tag}: {e!r}")

    def collector():
        nonlocal collections
        while not stop.is_set():
            r = srv.cli("gc", "--json", check=False)
            if r.returncode == 0:
                collections += 1
            elif "another garbage collection" not in r.stderr:
                errors.append(f"gc failed: {r.stderr}")

    threads = [threading.Thread(target=pusher, args=(n,)) for n in range(4)]
    threads += [threading.Thread(target=collector) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(25)
    stop.set()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[:5]
    assert collections >= 5, "the collections ran while the load went on"

    c = Client(srv)
    referenced: set[str] = set()
    tags_seen = 0
    for repo in repos:
        tags = c.get(f"/v2/{repo}/tags/list").json().get("tags") or []
        for tag in tags:
            referenced |= pull_all(c, repo, tag)
            tags_seen += 1
    assert tags_seen > 0
    # Untagged images left over (a tag moved on) still reference blobs too.
    for (repo, tag), digest in live.items():
        referenced |= pull_all(c, repo, digest)

    time.sleep(GRACE + 0.5)
    gc(srv)  # marks what the load left unreferenced
    time.sleep(GRACE + 0.5)
    gc(srv)  # deletes it
    on_disk = stored(srv)
    assert referenced <= on_disk, "every referenced blob is still stored"
    leftover = on_disk - referenced
    # Whatever else is on disk must be referenced by an untagged manifest still in a repository.
    for digest in leftover:
        found = any(c.head_blob(repo, digest).status_code == 200 for repo in repos)
        assert found, f"{digest} is stored but referenced by nothing"
    dry = gc(srv, "--dry-run")
    assert dry["blobs_deleted"] == 0 and dry["orphan_files_deleted"] == 0, dry
