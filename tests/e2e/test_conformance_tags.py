"""OCI Distribution conformance: content discovery, tag listing (end-8a, end-8b) and the
repository catalog (/v2/_catalog, a Distribution extension that ECR also serves).
"""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from ocihelp import Client, assert_error, unique

TAGS = ["v10", "v2", "a-1", "a.1", "a_1", "latest", "1.0", "zz"]
SORTED = sorted(TAGS)  # no upper case: ASCII and case-insensitive order agree
LINK_RE = re.compile(r'^<([^>]+)>;\s*rel="?next"?$')


@pytest.fixture
def c(wharf):
    return Client(wharf)


@pytest.fixture
def tagged(c, repo):
    d, body = c.push_image(repo, TAGS[0])
    for t in TAGS[1:]:
        c.push_manifest(repo, t, body)
    return repo


def _next(resp):
    link = resp.headers.get("Link")
    if link is None:
        return None
    m = LINK_RE.match(link.strip())
    assert m, f"malformed Link header {link!r}"
    return m.group(1)


def _tags(c, repo, **params):
    r = c.get(f"/v2/{repo}/tags/list", params=params)
    assert r.status_code == 200, (r.status_code, r.text)
    body = r.json()
    assert body["name"] == repo
    return body["tags"], r


# --- tags -------------------------------------------------------------------------------------


def test_tags_list_empty_repository(c, repo):
    r = c.get(f"/v2/{repo}/tags/list")
    assert r.status_code == 200
    assert r.json() == {"name": repo, "tags": []}


def test_tags_list_sorted(c, tagged):
    tags, r = _tags(c, tagged)
    assert tags == SORTED
    assert r.headers.get("Content-Type", "").split(";")[0] == "application/json"
    assert _next(r) is None


def test_tags_list_n(c, tagged):
    tags, r = _tags(c, tagged, n=3)
    assert tags == SORTED[:3]


def test_tags_list_n_link_header(c, tagged):
    tags, r = _tags(c, tagged, n=3)
    nxt = _next(r)
    assert nxt is not None, "more tags remain: Link rel=next expected"
    u = urlsplit(nxt)
    assert u.path == f"/v2/{tagged}/tags/list"
    q = parse_qs(u.query)
    assert q.get("n") == ["3"]
    assert q.get("last") == [SORTED[2]]


def test_tags_list_follow_links(c, tagged):
    seen = []
    url = f"/v2/{tagged}/tags/list?n=3"
    pages = 0
    while url:
        r = c.get(url)
        assert r.status_code == 200
        page = r.json()["tags"]
        assert len(page) <= 3
        seen += page
        url = _next(r)
        pages += 1
        assert pages <= 10
    assert seen == SORTED
    assert pages == 3


def test_tags_list_last(c, tagged):
    tags, _ = _tags(c, tagged, n=2, last=SORTED[2])
    assert tags == SORTED[3:5]


def test_tags_list_last_without_n(c, tagged):
    tags, r = _tags(c, tagged, last=SORTED[4])
    assert tags == SORTED[5:]
    assert _next(r) is None


def test_tags_list_last_not_a_tag(c, tagged):
    # `last` is a position in lexical order, it need not be an existing tag
    tags, _ = _tags(c, tagged, last="b")
    assert tags == [t for t in SORTED if t > "b"]


def test_tags_list_last_after_everything(c, tagged):
    tags, r = _tags(c, tagged, last="zzz")
    assert tags == []
    assert _next(r) is None


def test_tags_list_n_zero(c, tagged):
    tags, r = _tags(c, tagged, n=0)
    assert tags == []
    assert r.headers.get("Link") is None


def test_tags_list_n_exact(c, tagged):
    tags, r = _tags(c, tagged, n=len(TAGS))
    assert tags == SORTED
    assert _next(r) is None


def test_tags_list_n_larger_than_count(c, tagged):
    tags, r = _tags(c, tagged, n=len(TAGS) + 5)
    assert tags == SORTED
    assert _next(r) is None


def test_tags_list_n_very_large(c, tagged):
    # a registry may cap the page size, but then it must say so with a Link header
    tags, r = _tags(c, tagged, n=1_000_000)
    if _next(r) is None:
        assert tags == SORTED
    else:
        assert tags == SORTED[: len(tags)] and tags


@pytest.mark.parametrize("n", ["-1", "abc", "1.5"])
def test_tags_list_bad_n(c, tagged, n):
    r = c.get(f"/v2/{tagged}/tags/list", params={"n": n})
    assert_error(r, 400)


def test_tags_list_after_untag(c, tagged):
    assert c.delete(f"/v2/{tagged}/manifests/latest").status_code == 202
    tags, _ = _tags(c, tagged)
    assert tags == [t for t in SORTED if t != "latest"]


def test_tags_list_digest_only_pushes(c, repo):
    c.push_image(repo)  # pushed by digest
    tags, _ = _tags(c, repo)
    assert tags == []


def test_tags_list_nested_name(c, wharf):
    name = f"nest{unique()}/a/b/c"
    wharf.create_repo(name)
    c.push_image(name, "x")
    tags, _ = _tags(c, name)
    assert tags == ["x"]


def _follow(c, url, limit=1000):
    out, pages = [], 0
    while url:
        r = c.get(url)
        assert r.status_code == 200, (r.status_code, r.text)
        out += r.json()["tags"]
        url = _next(r)
        pages += 1
        assert pages <= limit
    return out, pages


def test_tags_list_mixed_case_pagination_consistent(c, repo):
    # ASCII or case-insensitive order are both allowed; paging must follow the same order
    tags = ["A", "b", "C", "d", "E", "f", "G", "_h", "0"]
    d, body = c.push_image(repo, tags[0])
    for t in tags[1:]:
        c.push_manifest(repo, t, body)
    full, _ = _tags(c, repo)
    assert full in (sorted(tags), sorted(tags, key=str.lower)), full
    paged, pages = _follow(c, f"/v2/{repo}/tags/list?n=2")
    assert paged == full
    assert pages == 5
    # and `last` alone agrees with that order
    for i, t in enumerate(full):
        assert _tags(c, repo, last=t)[0] == full[i + 1:]


def test_tags_list_many_tags_default_page(c, repo):
    # without `n`, a registry returns everything or pages with Link: a client following
    # Link headers sees every tag exactly once, in order
    from concurrent.futures import ThreadPoolExecutor

    d, body = c.push_image(repo, "t0000")
    tags = [f"t{i:04d}" for i in range(300)]

    def put(t):
        return Client(c.wharf).put_manifest(repo, t, body).status_code

    with ThreadPoolExecutor(8) as ex:
        assert set(ex.map(put, tags[1:])) == {201}
    got, _ = _follow(c, f"/v2/{repo}/tags/list")
    assert got == tags


# --- catalog -----------------------------------------------------------------------------------


@pytest.fixture
def catalog_repos(c, wharf):
    prefix = f"cat{unique()}"
    names = [f"{prefix}/{s}" for s in ("c", "a", "b", "d-1", "d/e")]
    for n in names:
        wharf.create_repo(n)
        c.push_image(n, "v1")
    return prefix, sorted(names)


def test_catalog(c, catalog_repos):
    prefix, names = catalog_repos
    r = c.get("/v2/_catalog")
    assert r.status_code == 200
    repos = r.json()["repositories"]
    # the server holds other repositories too: ours appear, in order, and the list is sorted
    while _next(r):
        r = c.get(_next(r))
        repos += r.json()["repositories"]
    assert repos == sorted(repos)
    assert [x for x in repos if x.startswith(prefix + "/")] == names


def test_catalog_pagination(c, catalog_repos):
    prefix, names = catalog_repos
    r = c.get("/v2/_catalog", params={"n": 2, "last": prefix})
    assert r.status_code == 200
    assert r.json()["repositories"] == names[:2]
    nxt = _next(r)
    assert nxt is not None
    q = parse_qs(urlsplit(nxt).query)
    assert q.get("n") == ["2"] and q.get("last") == [names[1]]
    r = c.get(nxt)
    assert r.json()["repositories"] == names[2:4]


def test_catalog_n_zero(c, catalog_repos):
    r = c.get("/v2/_catalog", params={"n": 0})
    assert r.status_code == 200
    assert r.json()["repositories"] == []
    assert r.headers.get("Link") is None


def test_catalog_lists_deep_names(c, catalog_repos):
    prefix, names = catalog_repos
    r = c.get("/v2/_catalog", params={"n": 100, "last": prefix})
    assert f"{prefix}/d/e" in r.json()["repositories"]


def test_catalog_pagination_order_with_separators(c, wharf):
    prefix = f"cats{unique()}"
    names = [f"{prefix}/{s}" for s in ("x-y", "x.y", "x_y", "x/y", "x0", "x", "x--y", "x__y")]
    for n in names:
        wharf.create_repo(n)
        c.push_image(n, "v1")
    got, url = [], f"/v2/_catalog?n=1&last={prefix}"
    for _ in range(20):
        r = c.get(url)
        assert r.status_code == 200
        page = r.json()["repositories"]
        assert len(page) <= 1
        if not page or not page[0].startswith(prefix + "/"):
            break
        got += page
        url = _next(r)
        assert url, "more repositories remain: Link expected"
    assert got == sorted(names)
