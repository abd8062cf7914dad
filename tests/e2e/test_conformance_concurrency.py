"""Concurrency: many clients pushing the same content or moving the same tag at once.

Spec ("Layer Upload De-duplication"): if two processes upload the same layer at the same time,
both operations proceed; the registry may store one copy since the digests match.
"""

import hashlib
import os
import time
from concurrent.futures import ThreadPoolExecutor


from ocihelp import (
    Client,
    OCI_MANIFEST,
    config_blob,
    descriptor,
    image_manifest,
    new_repo,
    rand_bytes,
    sha256,
    with_query,
    OCI_CONFIG,
    OCI_LAYER,
)

N = 16


def _parallel(fn, n=N):
    with ThreadPoolExecutor(max_workers=n) as ex:
        return list(ex.map(fn, range(n)))


def _copies_on_disk(data_dir, data):
    """How many files under the server's data directory hold exactly `data`."""
    want = hashlib.sha256(data).digest()
    n = 0
    for root, _, files in os.walk(data_dir):
        for f in files:
            p = os.path.join(root, f)
            try:
                if os.path.getsize(p) != len(data):
                    continue
                with open(p, "rb") as fh:
                    if hashlib.sha256(fh.read()).digest() == want:
                        n += 1
            except OSError:
                pass
    return n


def test_same_blob_pushed_concurrently(wharf, repo):
    data = rand_bytes(1024 * 1024 + 3)
    d = sha256(data)

    def push(i):
        c = Client(wharf)
        loc = c.open_session(repo)
        r = c.put(with_query(loc, digest=d), data=data, headers={"Content-Type": "application/octet-stream"})
        return r.status_code, r.headers.get("Docker-Content-Digest")

    results = _parallel(push)
    assert results == [(201, d)] * N
    c = Client(wharf)
    r = c.get_blob(repo, d)
    assert r.status_code == 200 and r.content == data
    data_dir = getattr(wharf, "data_dir", None)
    if data_dir:
        deadline = time.time() + 3
        while True:
            copies = _copies_on_disk(str(data_dir), data)
            if copies == 1 or time.time() > deadline:
                break
            time.sleep(0.2)
        assert copies == 1, f"{copies} copies of the blob on disk"


def test_same_blob_chunked_concurrently(wharf, repo):
    data = rand_bytes(300_000)
    d = sha256(data)

    def push(i):
        c = Client(wharf)
        r = c.push_blob_chunked(repo, data, chunk=100_000)
        return r.status_code

    assert _parallel(push) == [201] * N
    assert Client(wharf).get_blob(repo, d).content == data


def test_same_blob_single_post_concurrently(wharf, repo):
    data = rand_bytes(200_000)

    def push(i):
        return Client(wharf).post_blob(repo, data).status_code

    assert _parallel(push) == [201] * N
    assert Client(wharf).get_blob(repo, sha256(data)).content == data


def test_same_tag_put_concurrently(wharf, repo):
    c = Client(wharf)
    layer = rand_bytes(100)
    c.push_blob(repo, layer)
    bodies = []
    for i in range(N):
        cfg = config_blob(f"cfg-{i}")
        c.push_blob(repo, cfg)
        bodies.append(image_manifest(descriptor(OCI_CONFIG, cfg), [descriptor(OCI_LAYER, layer)]))
    digests = [sha256(b) for b in bodies]
    assert len(set(digests)) == N

    def put(i):
        r = Client(wharf).put_manifest(repo, "race", bodies[i], OCI_MANIFEST)
        return r.status_code, r.headers.get("Docker-Content-Digest")

    results = _parallel(put)
    assert results == [(201, digests[i]) for i in range(N)]
    g = c.get_manifest(repo, "race")
    assert g.status_code == 200
    assert g.content in bodies
    assert g.headers.get("Docker-Content-Digest") == sha256(g.content)
    for b, d in zip(bodies, digests):
        r = c.get_manifest(repo, d)
        assert r.status_code == 200 and r.content == b
    assert c.get(f"/v2/{repo}/tags/list").json()["tags"] == ["race"]


def test_distinct_tags_put_concurrently(wharf, repo):
    c = Client(wharf)
    d, body = c.push_image(repo)

    def put(i):
        return Client(wharf).put_manifest(repo, f"t{i:02d}", body, OCI_MANIFEST).status_code

    assert _parallel(put) == [201] * N
    assert c.get(f"/v2/{repo}/tags/list").json()["tags"] == [f"t{i:02d}" for i in range(N)]


def test_same_blob_mounted_concurrently(wharf, repo):
    wharf.put_account_setting("BLOB_MOUNTING", "ENABLED")
    c = Client(wharf)
    data = rand_bytes(5000)
    d = c.push_blob(repo, data)
    target = new_repo(wharf)

    def mount(i):
        return Client(wharf).start_upload(target, mount=d, **{"from": repo}).status_code

    assert _parallel(mount) == [201] * N
    assert c.get_blob(target, d).content == data


def test_push_and_delete_race_leaves_consistent_state(wharf, repo):
    # half the threads push a manifest to a tag while the other half delete it by digest;
    # afterwards the tag either resolves to the manifest or is gone, never dangling
    c = Client(wharf)
    d, body = c.push_image(repo, "flip")

    def work(i):
        cc = Client(wharf)
        if i % 2:
            return cc.put_manifest(repo, "flip", body, OCI_MANIFEST).status_code
        return cc.delete(f"/v2/{repo}/manifests/{d}").status_code

    for s in _parallel(work):
        assert s in (201, 202, 404), s
    g = c.get_manifest(repo, "flip")
    if g.status_code == 200:
        assert g.content == body
        assert c.get_manifest(repo, d).status_code == 200
        assert "flip" in c.get(f"/v2/{repo}/tags/list").json()["tags"]
    else:
        assert g.status_code == 404
        assert "flip" not in (c.get(f"/v2/{repo}/tags/list").json()["tags"] or [])


def test_same_session_concurrent_chunks(wharf, repo):
    # N clients send the same first chunk to ONE session at once: the chunks are applied one
    # at a time, so exactly one lands at offset 0 and the others are out of order (416)
    c = Client(wharf)
    data = rand_bytes(64 * 1024)
    loc = c.open_session(repo)

    def patch(i):
        return Client(wharf).patch_chunk(loc, data, 0).status_code

    statuses = _parallel(patch)
    assert statuses.count(202) == 1, statuses
    assert statuses.count(416) == N - 1, statuses
    s = c.get(loc)
    assert s.status_code == 204
    assert s.headers.get("Range") == f"0-{len(data) - 1}"
    r = c.put(with_query(c.location(s), digest=sha256(data)), data=b"")
    assert r.status_code == 201
    assert c.get_blob(repo, sha256(data)).content == data
