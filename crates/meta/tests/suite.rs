//! One behaviour suite for every MetaStore backend: each test runs on SQLite and on
//! PostgreSQL (the database named by `WHARF_TEST_PG_URL`; required when `CI` is set).

use bytes::Bytes;
use wharf_meta::*;

const A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const M1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const M2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
const IDX: &str = "sha256:9999999999999999999999999999999999999999999999999999999999999999";

async fn sqlite() -> (MetaStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("meta.db").display());
    (MetaStore::connect(&url, &PoolConfig::default()).await.unwrap(), dir)
}

/// A fresh database on the test server, so tests never see each other's rows.
async fn postgres() -> Option<(MetaStore, ())> {
    let Ok(base) = std::env::var("WHARF_TEST_PG_URL") else {
        assert!(std::env::var("CI").is_err(), "WHARF_TEST_PG_URL must be set in CI");
        eprintln!("WHARF_TEST_PG_URL not set: PostgreSQL half of the suite not run");
        return None;
    };
    sqlx::any::install_default_drivers();
    let name = format!("wharf_meta_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::AnyPool::connect(&base).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await.unwrap();
    admin.close().await;
    let (prefix, _) = base.rsplit_once('/').expect("database URL names a database");
    let query = base.split_once('?').map(|(_, q)| format!("?{q}")).unwrap_or_default();
    let url = format!("{prefix}/{name}{query}");
    Some((MetaStore::connect(&url, &PoolConfig::default()).await.unwrap(), ()))
}

macro_rules! suite {
    ($($test:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                let (store, _dir) = super::sqlite().await;
                super::$test(store).await;
            })*
        }
        mod on_postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                if let Some((store, ())) = super::postgres().await {
                    super::$test(store).await;
                }
            })*
        }
    };
}

suite!(
    vulndb_generations,
    scan_jobs,
    garbage_collection,
    leases,
    storage_classes,
    lifecycle_runs_and_events,
    repositories,
    blob_links,
    manifests_and_tags,
    index_children,
    referrers_and_pulls,
    uploads,
    concurrent_writers,
    huge_reference_lists,
    identities,
    resource_policies,
    repository_settings,
    immutable_tags,
    images,
    previews
);

fn key(name: &str) -> RepositoryKey {
    RepositoryKey { account: "000000000000".into(), region: "us-east-1".into(), name: name.into() }
}

async fn repo(store: &MetaStore, name: &str) -> Repository {
    store.ensure_account("000000000000", 1).await.unwrap();
    store.create_repository(&key(name), &RepositorySettings::default(), &[], 1).await.unwrap().expect("new repository")
}

fn manifest(digest: &str, subject: Option<&str>, artifact_type: Option<&str>) -> ManifestRecord {
    ManifestRecord {
        digest: digest.into(),
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        artifact_type: artifact_type.map(Into::into),
        size: 3,
        subject_digest: subject.map(Into::into),
        config_digest: Some(A.into()),
        content: Bytes::from_static(b"{ }"),
        pushed_at: 10,
        status: ImageStatus::Active,
    }
}

async fn put(
    store: &MetaStore,
    repo: i64,
    m: &ManifestRecord,
    blobs: &[&str],
    children: &[&str],
    tag: Option<&str>,
) -> PutManifestOutcome {
    let blobs: Vec<String> = blobs.iter().map(|s| s.to_string()).collect();
    let children: Vec<String> = children.iter().map(|s| s.to_string()).collect();
    store
        .put_manifest(
            repo,
            &NewManifest { record: m, blobs: &blobs, children: &children, tag, tag_immutable: false, layers_size: 0 },
        )
        .await
        .unwrap()
}

async fn repositories(store: MetaStore) {
    let r = repo(&store, "team/app").await;
    assert_eq!(r.key, key("team/app"));
    assert_eq!(
        store.create_repository(&key("team/app"), &RepositorySettings::default(), &[], 2).await.unwrap(),
        None,
        "duplicate"
    );
    assert_eq!(store.repository(&key("team/app")).await.unwrap(), Some(r.clone()));
    assert_eq!(store.repository(&key("nope")).await.unwrap(), None);
    for name in ["team/app-b", "team/app/x", "team/app_c", "a", "team/appz"] {
        repo(&store, name).await;
    }
    // Byte order on both backends: '-' (0x2d) < '/' (0x2f) < '_' (0x5f) < letters.
    let names = |repos: Vec<Repository>| repos.into_iter().map(|r| r.key.name).collect::<Vec<_>>();
    let all = store.repositories("000000000000", "us-east-1", None, 100).await.unwrap();
    assert_eq!(names(all), ["a", "team/app", "team/app-b", "team/app/x", "team/app_c", "team/appz"]);
    let page = store.repositories("000000000000", "us-east-1", Some("team/app-b"), 2).await.unwrap();
    assert_eq!(names(page), ["team/app/x", "team/app_c"]);
    assert!(store.repositories("000000000000", "eu-west-1", None, 100).await.unwrap().is_empty());

    store.commit_blob(r.id, A, 1, None, 1).await.unwrap();
    store.commit_blob(r.id, B, 1, None, 1).await.unwrap();
    assert_eq!(
        put(&store, r.id, &manifest(M1, None, None), &[A, B], &[], Some("v1")).await,
        PutManifestOutcome::Stored
    );
    assert_eq!(store.delete_repository(&key("team/app"), false).await.unwrap(), DeleteRepositoryOutcome::NotEmpty);
    assert_eq!(store.delete_repository(&key("team/app"), true).await.unwrap(), DeleteRepositoryOutcome::Deleted);
    assert_eq!(store.delete_repository(&key("team/app"), true).await.unwrap(), DeleteRepositoryOutcome::NotFound);
    assert_eq!(store.delete_repository(&key("a"), false).await.unwrap(), DeleteRepositoryOutcome::Deleted);
    // A new repository with an old name never reuses the old id.
    let again = repo(&store, "team/app").await;
    assert_ne!(again.id, r.id);
    assert_eq!(store.blob_in_repository(again.id, A).await.unwrap(), None);
}

async fn blob_links(store: MetaStore) {
    let one = repo(&store, "one").await;
    let two = repo(&store, "two").await;
    store.commit_blob(one.id, A, 42, None, 1).await.unwrap();
    store.commit_blob(one.id, A, 42, None, 2).await.unwrap(); // idempotent
    assert_eq!(store.blob_in_repository(one.id, A).await.unwrap(), Some(42));
    assert_eq!(store.blob_in_repository(two.id, A).await.unwrap(), None, "links are per repository");
    assert_eq!(store.mount_blob(two.id, one.id, B, 3).await.unwrap(), None, "source cannot read B");
    assert_eq!(store.mount_blob(two.id, one.id, A, 3).await.unwrap(), Some(42));
    assert_eq!(store.blob_in_repository(two.id, A).await.unwrap(), Some(42));

    store.commit_blob(one.id, B, 7, None, 1).await.unwrap();
    assert_eq!(put(&store, one.id, &manifest(M1, None, None), &[A, B], &[], None).await, PutManifestOutcome::Stored);
    assert_eq!(store.unlink_blob(one.id, A).await.unwrap(), DeleteOutcome::Referenced);
    assert_eq!(store.unlink_blob(two.id, A).await.unwrap(), DeleteOutcome::Deleted);
    assert_eq!(store.unlink_blob(two.id, A).await.unwrap(), DeleteOutcome::NotFound);
    assert_eq!(store.blob_in_repository(one.id, A).await.unwrap(), Some(42), "other repository unaffected");
}

async fn manifests_and_tags(store: MetaStore) {
    let r = repo(&store, "app").await;
    store.commit_blob(r.id, A, 1, None, 1).await.unwrap();
    let m1 = manifest(M1, None, None);
    assert_eq!(
        put(&store, r.id, &m1, &[A, B], &[], Some("v1")).await,
        PutManifestOutcome::MissingBlobs(vec![B.into()])
    );
    assert_eq!(store.manifest_by_digest(r.id, M1).await.unwrap(), None, "nothing half-written");
    assert_eq!(store.manifest_by_tag(r.id, "v1").await.unwrap(), None);

    store.commit_blob(r.id, B, 1, None, 1).await.unwrap();
    assert_eq!(put(&store, r.id, &m1, &[A, B], &[], Some("v1")).await, PutManifestOutcome::Stored);
    assert_eq!(put(&store, r.id, &m1, &[A, B], &[], Some("latest")).await, PutManifestOutcome::Stored);
    assert_eq!(store.manifest_by_tag(r.id, "v1").await.unwrap(), Some(m1.clone()));
    assert_eq!(store.manifest_by_digest(r.id, M1).await.unwrap(), Some(m1.clone()));

    let m2 = manifest(M2, None, None);
    assert_eq!(put(&store, r.id, &m2, &[A], &[], Some("latest")).await, PutManifestOutcome::Stored);
    assert_eq!(store.manifest_by_tag(r.id, "latest").await.unwrap().unwrap().digest, M2, "tag moved");
    assert_eq!(store.list_tags(r.id, None, 10).await.unwrap(), ["latest", "v1"]);
    assert_eq!(store.list_tags(r.id, Some("latest"), 10).await.unwrap(), ["v1"]);
    assert_eq!(store.list_tags(r.id, None, 1).await.unwrap(), ["latest"]);

    assert!(store.delete_tag(r.id, "latest").await.unwrap());
    assert!(!store.delete_tag(r.id, "latest").await.unwrap());
    assert!(store.manifest_by_digest(r.id, M2).await.unwrap().is_some(), "untagging keeps the manifest");

    put(&store, r.id, &m1, &[A, B], &[], Some("again")).await;
    let (outcome, mut tags) = store.delete_manifest(r.id, M1).await.unwrap();
    tags.sort();
    assert_eq!((outcome, tags), (DeleteOutcome::Deleted, vec!["again".to_string(), "v1".to_string()]));
    assert_eq!(store.delete_manifest(r.id, M1).await.unwrap().0, DeleteOutcome::NotFound);
    assert_eq!(store.list_tags(r.id, None, 10).await.unwrap(), Vec::<String>::new());
    assert_eq!(store.unlink_blob(r.id, B).await.unwrap(), DeleteOutcome::Deleted, "no reference left");
}

async fn index_children(store: MetaStore) {
    let r = repo(&store, "multi").await;
    store.commit_blob(r.id, A, 1, None, 1).await.unwrap();
    let index = ManifestRecord {
        media_type: "application/vnd.oci.image.index.v1+json".into(),
        config_digest: None,
        ..manifest(IDX, None, None)
    };
    assert_eq!(
        put(&store, r.id, &index, &[], &[M1, M2], Some("multi")).await,
        PutManifestOutcome::MissingChildren(vec![M1.into(), M2.into()])
    );
    put(&store, r.id, &manifest(M1, None, None), &[A], &[], None).await;
    put(&store, r.id, &manifest(M2, None, None), &[A], &[], None).await;
    assert_eq!(put(&store, r.id, &index, &[], &[M1, M2], Some("multi")).await, PutManifestOutcome::Stored);
    assert_eq!(store.delete_manifest(r.id, M1).await.unwrap().0, DeleteOutcome::Referenced);
    assert_eq!(store.delete_manifest(r.id, IDX).await.unwrap().0, DeleteOutcome::Deleted);
    assert_eq!(store.delete_manifest(r.id, M1).await.unwrap().0, DeleteOutcome::Deleted);
}

async fn referrers_and_pulls(store: MetaStore) {
    let r = repo(&store, "art").await;
    store.commit_blob(r.id, A, 1, None, 1).await.unwrap();
    put(&store, r.id, &manifest(M1, None, None), &[A], &[], Some("v1")).await;
    put(&store, r.id, &manifest(M2, Some(M1), Some("application/x.sbom")), &[A], &[], None).await;
    put(&store, r.id, &manifest(B, Some(M1), Some("application/x.sig")), &[A], &[], None).await;
    let digests = |found: Vec<ManifestRecord>| found.into_iter().map(|m| m.digest).collect::<Vec<_>>();
    assert_eq!(digests(store.referrers(r.id, M1, &[], None, 10).await.unwrap()), [M2, B]);
    assert_eq!(digests(store.referrers(r.id, M1, &[], None, 1).await.unwrap()), [M2], "paged");
    assert_eq!(digests(store.referrers(r.id, M1, &[], Some(M2), 10).await.unwrap()), [B]);
    let sboms = store.referrers(r.id, M1, &["application/x.sbom"], None, 10).await.unwrap();
    assert_eq!(digests(sboms), [M2]);
    assert!(store.referrers(r.id, M2, &[], None, 10).await.unwrap().is_empty());

    assert_eq!(store.last_pulled_at(r.id, M1).await.unwrap(), None);
    store.record_pulls(&[(r.id, M1.into(), 500), (r.id, "sha256:gone".into(), 1)]).await.unwrap();
    store.record_pulls(&[(r.id, M1.into(), 400)]).await.unwrap(); // never moves back
    assert_eq!(store.last_pulled_at(r.id, M1).await.unwrap(), Some(500));
}

async fn uploads(store: MetaStore) {
    let r = repo(&store, "up").await;
    store.create_upload("u1", r.id, 5).await.unwrap();
    assert_eq!(store.upload("u1").await.unwrap(), Some(Upload { id: "u1".into(), repository_id: r.id, created_at: 5 }));
    store.commit_blob(r.id, A, 3, Some("u1"), 6).await.unwrap();
    assert_eq!(store.upload("u1").await.unwrap(), None, "committing closes the session");
    // A commit that fails half-way (no such repository) leaves nothing and no open
    // transaction behind.
    assert!(store.commit_blob(r.id + 1000, B, 3, None, 6).await.is_err());
    assert_eq!(store.mount_blob(r.id, r.id, B, 7).await.unwrap(), None);
    store.create_upload("u2", r.id, 5).await.unwrap();
    assert!(store.delete_upload("u2").await.unwrap());
    assert!(!store.delete_upload("u2").await.unwrap());
}

/// Many writers on the same blob and the same tag: every call succeeds and the end state
/// is one of the written values.
async fn concurrent_writers(store: MetaStore) {
    let r = repo(&store, "race").await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.commit_blob(r.id, A, 9, None, i).await.unwrap();
            let digest = format!("sha256:{:064x}", i);
            let m = manifest(&digest, None, None);
            let blobs = vec![A.to_string()];
            store
                .put_manifest(
                    r.id,
                    &NewManifest {
                        record: &m,
                        blobs: &blobs,
                        children: &[],
                        tag: Some("latest"),
                        tag_immutable: false,
                        layers_size: 0,
                    },
                )
                .await
                .unwrap()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), PutManifestOutcome::Stored);
    }
    let latest = store.manifest_by_tag(r.id, "latest").await.unwrap().unwrap();
    assert!(latest.digest.starts_with("sha256:0000"));
    for i in 0..16 {
        assert!(store.manifest_by_digest(r.id, &format!("sha256:{:064x}", i)).await.unwrap().is_some());
    }
}

/// More references than a statement may bind (a 4 MiB manifest can hold ~30,000).
async fn huge_reference_lists(store: MetaStore) {
    let r = repo(&store, "huge").await;
    store.commit_blob(r.id, A, 1, None, 1).await.unwrap();
    let mut wanted: Vec<String> = (0..40_000).map(|i| format!("sha256:{i:064x}")).collect();
    wanted.push(A.into());
    let m = manifest(M1, None, None);
    let outcome = store
        .put_manifest(
            r.id,
            &NewManifest { record: &m, blobs: &wanted, children: &[], tag: None, tag_immutable: false, layers_size: 0 },
        )
        .await;
    match outcome.unwrap() {
        PutManifestOutcome::MissingBlobs(missing) => assert_eq!(missing.len(), 40_000),
        other => panic!("{other:?}"),
    }
}

async fn identities(store: MetaStore) {
    const ACCT: &str = "111111111111";
    assert!(store.ensure_account(ACCT, 1).await.unwrap());
    assert!(!store.ensure_account(ACCT, 2).await.unwrap(), "a second ensure creates nothing");
    let user = User { account: ACCT.into(), name: "alice".into(), user_id: "AIDA1".into(), created_at: 1 };
    assert!(store.create_user(&user).await.unwrap());
    assert!(!store.create_user(&user).await.unwrap(), "names are unique per account");
    assert_eq!(store.user(ACCT, "alice").await.unwrap(), Some(user.clone()));
    let role = Role {
        account: ACCT.into(),
        name: "ci".into(),
        role_id: "AROA1".into(),
        trust_policy: "{}".into(),
        max_session_secs: 3600,
        created_at: 1,
    };
    assert!(store.create_role(&role).await.unwrap());
    assert_eq!(store.list_roles(ACCT).await.unwrap(), [role]);
    assert!(store.identity_exists(ACCT, "user/alice").await.unwrap());
    assert!(store.identity_exists(ACCT, ROOT).await.unwrap());
    assert!(!store.identity_exists(ACCT, "user/bob").await.unwrap());
    assert!(!store.identity_exists("222222222222", ROOT).await.unwrap());

    store.put_identity_policy(ACCT, "user/alice", "p", "v1").await.unwrap();
    store.put_identity_policy(ACCT, "user/alice", "p", "v2").await.unwrap();
    assert_eq!(store.identity_policies(ACCT, "user/alice").await.unwrap(), [("p".to_owned(), "v2".to_owned())]);

    let key = AccessKey {
        id: "AKIA1".into(),
        account: ACCT.into(),
        identity: "user/alice".into(),
        sealed_secret: vec![0, 1, 2, 255],
        active: true,
        created_at: 1,
    };
    store.create_access_key(&key).await.unwrap();
    assert_eq!(store.access_key("AKIA1").await.unwrap(), Some(key.clone()));
    assert!(store.set_access_key_active("AKIA1", false).await.unwrap());
    assert!(!store.access_key("AKIA1").await.unwrap().unwrap().active);
    assert!(!store.set_access_key_active("AKIA-none", false).await.unwrap());

    // Deleting the user takes its policies and keys along.
    assert!(store.delete_identity(ACCT, "user/alice").await.unwrap());
    assert!(!store.delete_identity(ACCT, "user/alice").await.unwrap());
    assert_eq!(store.access_key("AKIA1").await.unwrap(), None);
    assert!(store.identity_policies(ACCT, "user/alice").await.unwrap().is_empty());
}

async fn resource_policies(store: MetaStore) {
    let r = repo(&store, "pol/a").await;
    assert_eq!(store.repository_policy(r.id).await.unwrap(), None);
    store.set_repository_policy(r.id, "one").await.unwrap();
    store.set_repository_policy(r.id, "two").await.unwrap();
    assert_eq!(store.repository_policy(r.id).await.unwrap().as_deref(), Some("two"));
    assert_eq!(store.delete_repository_policy(r.id).await.unwrap().as_deref(), Some("two"));
    assert_eq!(store.delete_repository_policy(r.id).await.unwrap(), None);
    // A repository deleted with its policy.
    store.set_repository_policy(r.id, "three").await.unwrap();
    assert_eq!(store.delete_repository(&key("pol/a"), true).await.unwrap(), DeleteRepositoryOutcome::Deleted);
    assert_eq!(store.repository_policy(r.id).await.unwrap(), None);

    assert_eq!(store.registry_policy("000000000000", "us-east-1").await.unwrap(), None);
    store.put_registry_policy("000000000000", "us-east-1", "reg").await.unwrap();
    assert_eq!(store.registry_policy("000000000000", "eu-west-1").await.unwrap(), None);
    assert_eq!(store.delete_registry_policy("000000000000", "us-east-1").await.unwrap().as_deref(), Some("reg"));
}

async fn repository_settings(store: MetaStore) {
    store.ensure_account("000000000000", 1).await.unwrap();
    let settings = RepositorySettings {
        tag_mutability: TagMutability::ImmutableWithExclusion,
        mutability_exclusions: vec!["dev-*".into(), "latest".into()],
        scan_on_push: true,
        encryption_type: "KMS".into(),
        kms_key: Some("alias/x".into()),
    };
    let tags = [("team".to_owned(), "a".to_owned())];
    let r = store.create_repository(&key("set/a"), &settings, &tags, 5).await.unwrap().unwrap();
    assert_eq!(r.settings, settings);
    assert_eq!(store.repository(&key("set/a")).await.unwrap().as_ref(), Some(&r));
    assert_eq!(store.repositories("000000000000", "us-east-1", None, 10).await.unwrap(), std::slice::from_ref(&r));

    assert!(store.set_tag_mutability(r.id, TagMutability::Immutable, &[]).await.unwrap());
    let changed = store.repository(&key("set/a")).await.unwrap().unwrap();
    assert_eq!(changed.settings.tag_mutability, TagMutability::Immutable);
    assert!(changed.settings.mutability_exclusions.is_empty());

    assert_eq!(store.repository_tags(r.id).await.unwrap(), tags);
    let more = [("team".to_owned(), "b".to_owned()), ("env".to_owned(), "prod".to_owned())];
    assert!(store.tag_repository(r.id, &more, 2).await.unwrap());
    assert_eq!(store.repository_tags(r.id).await.unwrap(), [more[1].clone(), more[0].clone()], "overwritten, sorted");
    assert!(!store.tag_repository(r.id, &[("x".into(), "y".into())], 2).await.unwrap(), "over the limit");
    assert_eq!(store.repository_tags(r.id).await.unwrap().len(), 2, "nothing written");
    store.untag_repository(r.id, &["env".into(), "absent".into()]).await.unwrap();
    assert_eq!(store.repository_tags(r.id).await.unwrap(), [more[0].clone()]);
}

async fn immutable_tags(store: MetaStore) {
    let r = repo(&store, "imm").await;
    store.commit_blob(r.id, A, 1, None, 1).await.unwrap();
    fn immutable<'a>(m: &'a ManifestRecord, tag: &'a str) -> NewManifest<'a> {
        NewManifest { record: m, blobs: &[], children: &[], tag: Some(tag), tag_immutable: true, layers_size: 0 }
    }
    let (m1, m2) = (manifest(M1, None, None), manifest(M2, None, None));
    assert_eq!(store.put_manifest(r.id, &immutable(&m1, "v1")).await.unwrap(), PutManifestOutcome::Stored);
    assert_eq!(store.put_manifest(r.id, &immutable(&m2, "v1")).await.unwrap(), PutManifestOutcome::TagImmutable);
    assert_eq!(store.manifest_by_digest(r.id, M2).await.unwrap(), None, "nothing stored");
    // As in ECR, not even the same manifest may be pushed to the tag again.
    assert_eq!(store.put_manifest(r.id, &immutable(&m1, "v1")).await.unwrap(), PutManifestOutcome::TagImmutable);
    assert_eq!(store.put_manifest(r.id, &immutable(&m2, "v2")).await.unwrap(), PutManifestOutcome::Stored);
    assert_eq!(store.manifest_by_tag(r.id, "v1").await.unwrap().unwrap().digest, M1);
}

async fn images(store: MetaStore) {
    let r = repo(&store, "img").await;
    store.commit_blob(r.id, A, 100, None, 1).await.unwrap();
    store.commit_blob(r.id, B, 20, None, 1).await.unwrap();
    let new = |m, blobs, children, tag, layers_size| NewManifest {
        record: m,
        blobs,
        children,
        tag,
        tag_immutable: false,
        layers_size,
    };
    let (m1, m2, idx) = (manifest(M1, None, None), manifest(M2, None, None), manifest(IDX, None, None));
    let ab = [A.to_owned(), B.to_owned()];
    store.put_manifest(r.id, &new(&m1, &ab, &[], Some("v1"), 100)).await.unwrap();
    store.put_manifest(r.id, &new(&m1, &ab, &[], Some("latest"), 100)).await.unwrap();
    store.put_manifest(r.id, &new(&m2, &ab[..1], &[], None, 7)).await.unwrap();
    let children = [M1.to_owned(), M2.to_owned()];
    store.put_manifest(r.id, &new(&idx, &[], &children, Some("multi"), 0)).await.unwrap();

    let all = store.images(r.id, tags(TagStatus::Any), None, 10).await.unwrap();
    let digests: Vec<&str> = all.iter().map(|i| i.digest.as_str()).collect();
    assert_eq!(digests, [M1, M2, IDX]);
    assert_eq!(all[0].tags, ["latest", "v1"]);
    assert_eq!(all[0].image_size, 100);
    assert_eq!(all[2].image_size, 100, "an index is as large as its largest child");
    assert!(all[1].tags.is_empty());
    let untagged = store.images(r.id, tags(TagStatus::Untagged), None, 10).await.unwrap();
    assert_eq!(untagged.iter().map(|i| i.digest.as_str()).collect::<Vec<_>>(), [M2]);
    assert_eq!(store.images(r.id, tags(TagStatus::Tagged), Some(M1), 1).await.unwrap()[0].digest, IDX);
    let some = store.images_by_digest(r.id, &[IDX.to_owned(), "sha256:none".to_owned()]).await.unwrap();
    assert_eq!(some.len(), 1);

    let ids = store.image_ids(r.id, tags(TagStatus::Any), None, 10).await.unwrap();
    let expect = |d: &str, t: Option<&str>| (d.to_owned(), t.map(str::to_owned));
    assert_eq!(ids, [expect(M1, Some("latest")), expect(M1, Some("v1")), expect(M2, None), expect(IDX, Some("multi"))]);
    let page = store.image_ids(r.id, tags(TagStatus::Any), Some((M1, "latest")), 2).await.unwrap();
    assert_eq!(page, [expect(M1, Some("v1")), expect(M2, None)]);
    let page = store.image_ids(r.id, tags(TagStatus::Any), Some((M2, "")), 5).await.unwrap();
    assert_eq!(page, [expect(IDX, Some("multi"))]);
    assert_eq!(store.image_ids(r.id, tags(TagStatus::Untagged), None, 5).await.unwrap(), [expect(M2, None)]);
}

fn tags(tags: TagStatus) -> ImageFilter {
    ImageFilter { tags, status: None }
}

async fn previews(store: MetaStore) {
    let r = repo(&store, "lc/prev").await;
    assert_eq!(store.preview(r.id).await.unwrap(), None);
    assert!(store.start_preview(r.id, "p1", 1_000).await.unwrap());
    assert!(!store.start_preview(r.id, "p2", 2_000).await.unwrap(), "one preview at a time");
    assert_eq!(store.preview(r.id).await.unwrap().unwrap().status, "IN_PROGRESS");
    let row = |digest: &str, tagged: bool, transition: bool| PreviewRow {
        digest: digest.into(),
        tags: if tagged { "[\"t\"]".into() } else { "[]".into() },
        tagged,
        pushed_at: 5,
        transition,
        rule_priority: 1,
    };
    let rows: Vec<PreviewRow> = (0..1200).map(|i| row(&format!("d{i:04}"), i % 2 == 0, i % 3 == 0)).collect();
    store.finish_preview(r.id, "COMPLETE", &rows).await.unwrap();
    let p = store.preview(r.id).await.unwrap().unwrap();
    assert_eq!((p.status.as_str(), p.expiring, p.transitioning), ("COMPLETE", 800, 400));
    let page = |tagged, digests, after, limit| PreviewQuery { tagged, digests, after, limit };
    let first = store.preview_results(r.id, page(None, None, 0, 100)).await.unwrap();
    assert_eq!((first.len(), first[0].0, first[0].1.digest.as_str()), (100, 1, "d0000"), "in the order given");
    let next = store.preview_results(r.id, page(None, None, first[99].0, 100)).await.unwrap();
    assert_eq!(next[0].1.digest, "d0100");
    let untagged = store.preview_results(r.id, page(Some(false), None, 0, 1000)).await.unwrap();
    assert_eq!(untagged.len(), 600);
    assert!(untagged.iter().all(|(_, row)| !row.tagged && row.tags == "[]"));
    let named = ["d0003".to_owned(), "d0004".to_owned(), "nope".to_owned()];
    let some = store.preview_results(r.id, page(Some(true), Some(&named), 0, 10)).await.unwrap();
    assert_eq!(some.iter().map(|(_, row)| row.digest.as_str()).collect::<Vec<_>>(), ["d0004"]);

    assert!(store.start_preview(r.id, "p3", 3_000).await.unwrap(), "a finished one may be replaced");
    let p = store.preview(r.id).await.unwrap().unwrap();
    assert_eq!((p.policy_text.as_str(), p.status.as_str(), p.expiring), ("p3", "IN_PROGRESS", 0));
    assert!(store.preview_results(r.id, page(None, None, 0, 10)).await.unwrap().is_empty(), "old results gone");
    assert!(store.start_preview(r.id, "p4", 3_000 + 11 * 60 * 1000).await.unwrap(), "a stale one too");
}

/// Marks, what clears them, and the sweep's own re-checks.
async fn garbage_collection(store: MetaStore) {
    let r = repo(&store, "gc").await;
    store.commit_blob(r.id, A, 10, None, 1).await.unwrap();
    store.commit_blob(r.id, B, 20, None, 1).await.unwrap();
    put(&store, r.id, &manifest(M1, None, None), &[A], &[], Some("v1")).await;
    let digests = |blobs: Vec<GcBlob>| blobs.into_iter().map(|b| b.digest).collect::<Vec<_>>();

    assert!(store.unreferenced_blobs(0, true, "", 10).await.unwrap().is_empty(), "used since the idle cut-off");
    assert_eq!(digests(store.unreferenced_blobs(5, true, "", 10).await.unwrap()), [B], "A is referenced");
    assert_eq!(store.mark_blobs(&[A.into(), B.into()], 100).await.unwrap(), 1, "a referenced blob is never marked");
    assert!(store.unreferenced_blobs(5, true, "", 10).await.unwrap().is_empty(), "marked already");
    assert_eq!(digests(store.marked_blobs(100, "", 10).await.unwrap()), [B]);
    assert!(store.marked_blobs(99, "", 10).await.unwrap().is_empty());

    // A lookup is a use: the mark goes.
    assert_eq!(store.blob_in_repository(r.id, B).await.unwrap(), Some(20));
    assert!(store.marked_blobs(i64::MAX, "", 10).await.unwrap().is_empty());
    assert!(store.sweep_blobs(&[B.into()], i64::MAX).await.unwrap().is_empty(), "unmarked: kept");

    // So is a manifest naming it; the sweep re-checks references itself.
    store.mark_blobs(&[B.into()], 200).await.unwrap();
    put(&store, r.id, &manifest(M2, None, None), &[B], &[], None).await;
    assert!(store.sweep_blobs(&[B.into()], 300).await.unwrap().is_empty());
    assert_eq!(store.delete_manifest(r.id, M2).await.unwrap().0, DeleteOutcome::Deleted);

    // Pushing the manifest cleared the mark; a mark can only outlive a reference when the
    // mark and the push race, which clear_stale_marks mends (nothing to mend here).
    assert_eq!(store.clear_stale_marks().await.unwrap(), 0);

    store.mark_blobs(&[B.into()], 500).await.unwrap();
    assert_eq!(store.sweep_blobs(&[B.into()], 500).await.unwrap(), [GcBlob { digest: B.into(), size: 20 }]);
    assert_eq!(store.blob_in_repository(r.id, B).await.unwrap(), None, "row and link gone");
    assert_eq!(store.known_blobs(&[A.into(), B.into()]).await.unwrap(), [A.to_owned()].into());
    // An upload of the same content brings it back.
    store.commit_blob(r.id, B, 20, None, 600).await.unwrap();
    assert_eq!(store.blob_in_repository(r.id, B).await.unwrap(), Some(20));
}

async fn leases(store: MetaStore) {
    assert!(store.take_lease("gc", "one", 0, 100).await.unwrap());
    assert!(!store.take_lease("gc", "two", 50, 100).await.unwrap(), "held");
    assert!(store.take_lease("gc", "one", 50, 100).await.unwrap(), "renewed by its holder");
    assert!(store.take_lease("gc", "two", 151, 100).await.unwrap(), "expired: taken over");
    store.release_lease("gc", "one").await.unwrap();
    assert!(!store.take_lease("gc", "one", 160, 100).await.unwrap(), "only the holder releases");
    store.release_lease("gc", "two").await.unwrap();
    assert!(store.take_lease("gc", "one", 160, 100).await.unwrap());
}

async fn storage_classes(store: MetaStore) {
    let r = repo(&store, "archive").await;
    store.commit_blob(r.id, A, 1, None, 1).await.unwrap();
    put(&store, r.id, &manifest(M1, None, None), &[A], &[], Some("v1")).await;
    put(&store, r.id, &manifest(M2, None, None), &[A], &[], None).await;
    assert_eq!(store.archive_image(r.id, M1, 1_000).await.unwrap(), Some(ImageStatus::Archived));
    assert_eq!(store.archive_image(r.id, M1, 2_000).await.unwrap(), Some(ImageStatus::Archived));
    assert_eq!(store.archive_image(r.id, IDX, 2_000).await.unwrap(), None);
    assert_eq!(store.manifest_by_tag(r.id, "v1").await.unwrap().unwrap().status, ImageStatus::Archived);
    let only = |status| ImageFilter { tags: TagStatus::Any, status: Some(status) };
    let archived = store.images(r.id, only(ImageStatus::Archived), None, 10).await.unwrap();
    assert_eq!((archived.len(), archived[0].last_archived_at), (1, Some(1_000)), "the first archive time stays");
    assert_eq!(store.image_ids(r.id, only(ImageStatus::Active), None, 10).await.unwrap(), [(M2.to_owned(), None)]);

    assert_eq!(store.restore_image(r.id, M2).await.unwrap(), Some(ImageStatus::Active), "not archived: unchanged");
    assert_eq!(store.restore_image(r.id, M1).await.unwrap(), Some(ImageStatus::Activating));
    assert_eq!(store.activate_images(3_000).await.unwrap(), [(r.id, M1.to_owned())]);
    let m1 = store.images_by_digest(r.id, &[M1.into()]).await.unwrap().remove(0);
    assert_eq!((m1.status, m1.last_activated_at), (ImageStatus::Active, Some(3_000)));

    // Pushing an archived image again restores it at once.
    store.archive_image(r.id, M2, 4_000).await.unwrap();
    put(&store, r.id, &manifest(M2, None, None), &[A], &[], None).await;
    assert_eq!(store.manifest_by_digest(r.id, M2).await.unwrap().unwrap().status, ImageStatus::Active);
}

async fn lifecycle_runs_and_events(store: MetaStore) {
    let r = repo(&store, "lc/run").await;
    let other = repo(&store, "lc/none").await;
    assert!(!store.claim_lifecycle_run(r.id, i64::MAX, 10).await.unwrap(), "no policy");
    assert!(store.set_lifecycle_policy(r.id, "{}").await.unwrap());
    assert_eq!(store.lifecycle_due(100, 0, 10).await.unwrap(), [(r.id, key("lc/run"))]);
    assert!(store.claim_lifecycle_run(r.id, 100, 50).await.unwrap());
    assert!(!store.claim_lifecycle_run(r.id, 40, 60).await.unwrap(), "evaluated at 50: not due before 40");
    assert!(store.lifecycle_due(40, 0, 10).await.unwrap().is_empty());
    assert!(store.lifecycle_due(100, other.id.max(r.id), 10).await.unwrap().is_empty());

    let k = key("lc/run");
    store
        .record_events(&[(1, &k, "ECR Lifecycle Action", "{\"n\":1}".into()), (2, &k, "X", "{}".into())])
        .await
        .unwrap();
    let all = store.events(&k.account, &k.region, None, 0, 10).await.unwrap();
    assert_eq!(
        all.iter().map(|e| (e.at, e.detail_type.as_str())).collect::<Vec<_>>(),
        [(1, "ECR Lifecycle Action"), (2, "X")]
    );
    assert_eq!(store.events(&k.account, &k.region, Some("lc/run"), all[0].id, 10).await.unwrap().len(), 1);
    assert!(store.events(&k.account, &k.region, Some("lc/none"), 0, 10).await.unwrap().is_empty());
}

fn record(id: &str, packages: &[(&str, &str)]) -> VulnRecord {
    VulnRecord {
        id: id.into(),
        body: format!("{{\"id\":\"{id}\"}}"),
        packages: packages.iter().map(|(e, n)| (e.to_string(), n.to_string())).collect(),
    }
}

fn import(id: i64, at: i64) -> VulnDbImport {
    VulnDbImport { id, completed_at: at, source: "{}".into(), source_updated_at: Some(at), records: 1, kev: 0 }
}

async fn vulndb_generations(store: MetaStore) {
    assert!(store.current_vulndb().await.unwrap().is_none());
    let first = store.begin_vulndb_import(1).await.unwrap();
    store.add_vulndb_records(first, &[record("OLD-1", &[("PyPI", "requests")])]).await.unwrap();
    assert!(store.current_vulndb().await.unwrap().is_none(), "not published: invisible");
    store.publish_vulndb_import(&import(first, 2)).await.unwrap();
    assert_eq!(store.current_vulndb().await.unwrap().unwrap().id, first);

    // A second import is invisible until published, then replaces the first at once.
    let second = store.begin_vulndb_import(3).await.unwrap();
    let both = [record("NEW-1", &[("PyPI", "requests"), ("Go", "stdlib")]), record("NEW-1", &[("npm", "x")])];
    store.add_vulndb_records(second, &both).await.unwrap();
    store.add_vulndb_kev(second, &["CVE-1".into(), "CVE-1".into()]).await.unwrap();
    let wanted = [("PyPI".to_owned(), "requests".to_owned()), ("npm".to_owned(), "x".to_owned())];
    let old = store.vulndb_lookup(first, &wanted).await.unwrap();
    assert_eq!(old.records.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), ["OLD-1"]);
    store.publish_vulndb_import(&import(second, 4)).await.unwrap();
    let current = store.current_vulndb().await.unwrap().unwrap();
    assert_eq!(current.id, second);
    let new = store.vulndb_lookup(second, &wanted).await.unwrap();
    assert_eq!(
        new.records,
        [("NEW-1".to_owned(), "{\"id\":\"NEW-1\"}".to_owned())],
        "a duplicate id keeps its first copy"
    );
    assert_eq!(new.names, [("PyPI".into(), "requests".into(), "NEW-1".into())]);
    let exploited = store.vulndb_exploited(second, &["CVE-1".into(), "CVE-2".into()]).await.unwrap();
    assert_eq!(exploited.into_iter().collect::<Vec<_>>(), ["CVE-1"]);
    assert_eq!(store.vulndb_lookup(first, &wanted).await.unwrap().records.len(), 1, "the previous generation stays");

    // A third publication drops the first; an abandoned import leaves no rows.
    let third = store.begin_vulndb_import(5).await.unwrap();
    store.publish_vulndb_import(&import(third, 6)).await.unwrap();
    assert!(store.vulndb_lookup(first, &wanted).await.unwrap().records.is_empty());
    let failed = store.begin_vulndb_import(7).await.unwrap();
    store.add_vulndb_records(failed, &[record("BAD-1", &[("PyPI", "requests")])]).await.unwrap();
    store.abandon_vulndb_import(failed).await.unwrap();
    assert!(store.vulndb_lookup(failed, &wanted).await.unwrap().records.is_empty());
    assert_eq!(store.current_vulndb().await.unwrap().unwrap().id, third);
}

async fn scan_jobs(store: MetaStore) {
    let r = repo(&store, "scan/jobs").await;
    store.commit_blob(r.id, A, 1, None, 1).await.unwrap();
    put(&store, r.id, &manifest(M1, None, None), &[A], &[], Some("v1")).await;
    put(&store, r.id, &manifest(M2, None, None), &[A], &[], None).await;
    let day = 86_400_000;
    assert!(store.request_scan(r.id, M1, "BASIC", 1_000, 1_000 - day).await.unwrap());
    assert!(!store.request_scan(r.id, M1, "BASIC", 2_000, 2_000 - day).await.unwrap(), "once per 24 hours");
    assert!(store.request_scan(r.id, M1, "ENHANCED", 2_000, 2_000 - day).await.unwrap(), "per scan type");
    assert!(store.request_scan(r.id, M2, "BASIC", 3_000, 3_000 - day).await.unwrap());

    // Workers claim the oldest first, one each; an expired lease is taken over.
    let first = store.claim_scan(10_000, 500).await.unwrap().unwrap();
    assert_eq!((first.digest.as_str(), first.scan_type.as_str(), first.attempts), (M1, "BASIC", 1));
    assert_eq!(first.repository, key("scan/jobs"));
    let second = store.claim_scan(10_000, 500).await.unwrap().unwrap();
    assert_eq!((second.digest.as_str(), second.scan_type.as_str()), (M1, "ENHANCED"));
    let third = store.claim_scan(10_000, 500).await.unwrap().unwrap();
    assert_eq!(third.digest, M2);
    assert!(store.claim_scan(10_000, 500).await.unwrap().is_none(), "all leased");
    let again = store.claim_scan(10_600, 500).await.unwrap().unwrap();
    assert_eq!((again.digest.as_str(), again.attempts), (M1, 2), "taken over after the lease");

    let outcome = |status| ScanOutcome {
        status,
        description: Some("done"),
        completed_at: 11_000,
        vulndb_import_id: Some(7),
        source_updated_at: Some(5),
        findings: "[1]",
        severity_counts: "{\"HIGH\":1}",
    };
    assert!(!store.finish_scan(&first, &outcome("COMPLETE")).await.unwrap(), "its lease was taken over");
    assert!(store.finish_scan(&again, &outcome("COMPLETE")).await.unwrap());
    let scan = store.scan(r.id, M1, "BASIC").await.unwrap().unwrap();
    assert_eq!((scan.status.as_str(), scan.findings.as_str(), scan.vulndb_import_id), ("COMPLETE", "[1]", Some(7)));
    let summaries = store.scan_summaries(r.id, &[M1.into(), M2.into()], "BASIC").await.unwrap();
    assert_eq!(summaries.len(), 2);
    assert_eq!(summaries[M1].severity_counts, "{\"HIGH\":1}");
    assert_eq!(summaries[M2].status, "IN_PROGRESS");
    assert!(store.finish_scan(&third, &outcome("FAILED")).await.unwrap());
    assert!(store.request_scan(r.id, M2, "BASIC", 10_400, 10_400 - day).await.unwrap(), "a failed scan may be retried");
    let retried = store.claim_scan(10_400, 500).await.unwrap().unwrap();
    assert_eq!((retried.digest.as_str(), retried.attempts), (M2, 1), "from its first attempt");
    assert!(store.finish_scan(&retried, &outcome("COMPLETE")).await.unwrap());

    // Completed scans matched against another database are stale; a rematch is recorded once.
    store.finish_scan(&second, &outcome("COMPLETE")).await.unwrap();
    let stale = store.stale_scans("ENHANCED", 8, (0, ""), 10).await.unwrap();
    assert_eq!(stale.len(), 1);
    let rematched = ScanOutcome { vulndb_import_id: Some(8), ..outcome("COMPLETE") };
    assert!(store.rematch_scan(&stale[0], "ENHANCED", &rematched).await.unwrap());
    assert!(!store.rematch_scan(&stale[0], "ENHANCED", &rematched).await.unwrap(), "already rematched");
    assert!(store.stale_scans("ENHANCED", 8, (0, ""), 10).await.unwrap().is_empty());

    // `wharf scan` claims at once, whatever the last scan; inventories live with the image.
    let now = store.claim_scan_now(r.id, M1, "BASIC", 12_000, 500).await.unwrap().unwrap();
    assert_eq!(now.attempts, 1);
    assert!(store.put_inventory(r.id, M1, "{\"packages\":[]}", 1).await.unwrap());
    assert!(!store.put_inventory(r.id, IDX, "{}", 1).await.unwrap(), "no such image");
    assert_eq!(store.inventory(r.id, M1).await.unwrap().as_deref(), Some("{\"packages\":[]}"));
    store.delete_manifest(r.id, M1).await.unwrap();
    assert!(store.inventory(r.id, M1).await.unwrap().is_none(), "deleted with the image");
    assert!(store.scan(r.id, M1, "BASIC").await.unwrap().is_none());

    // Registry configuration and the deprecated per-repository setting.
    assert!(store.registry_scanning("000000000000", "us-east-1").await.unwrap().is_none());
    store.set_registry_scanning("000000000000", "us-east-1", "ENHANCED", "[]").await.unwrap();
    assert_eq!(
        store.registry_scanning("000000000000", "us-east-1").await.unwrap(),
        Some(("ENHANCED".into(), "[]".into()))
    );
    assert!(store.set_scan_on_push(r.id, true).await.unwrap());
    assert!(store.repository(&key("scan/jobs")).await.unwrap().unwrap().settings.scan_on_push);
}
