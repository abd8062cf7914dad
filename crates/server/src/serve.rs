//! The serve loop: accept connections (optionally TLS), serve HTTP/1.1 and HTTP/2, run the
//! background workers, and on SIGTERM or Ctrl-C stop accepting, let in-flight requests
//! finish, then flush what is pending.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tracing::{debug, info, warn};
use wharf_registry::scanning::ScanLimits;
use wharf_registry::{GcOptions, Quiet};

use crate::connection::Connection;
use crate::{App, Config, Hosts, open, router};

pub async fn serve(config: Config) -> anyhow::Result<()> {
    let services = open(&config).await?;
    let registry = Arc::new(services.registry);
    let app = Arc::new(App {
        registry: registry.clone(),
        access: Arc::new(services.access),
        hosts: Hosts::new(&config),
        max_page_size: config.max_page_size,
        max_api_body_bytes: config.max_api_body_bytes,
    });
    let router = router(app);
    let tls = config.tls.as_ref().map(|(cert, key)| tls_acceptor(cert, key)).transpose()?;
    let listener =
        TcpListener::bind(config.listen).await.with_context(|| format!("cannot listen on {}", config.listen))?;
    info!(address = %listener.local_addr()?, tls = tls.is_some(), data_dir = %config.data_dir.display(), "wharf is listening");

    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().max_buf_size(config.max_header_bytes);
    builder.http2().max_header_list_size(config.max_header_bytes as u32);
    let graceful = GracefulShutdown::new();
    let flusher = tokio::spawn(flush_pulls(registry.clone(), config.pull_flush_interval));
    let lifecycle = tokio::spawn(run_lifecycle(registry.clone(), config.lifecycle_interval));
    let collector =
        config.gc_interval.map(|every| tokio::spawn(collect_garbage(registry.clone(), every, config.gc.clone())));
    let mut scanners: Vec<_> =
        (0..config.scan_workers).map(|_| tokio::spawn(run_scans(registry.clone(), config.scan))).collect();
    if config.scan_workers > 0 {
        scanners.push(tokio::spawn(rematch_scans(registry.clone(), config.scan)));
    }

    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let connection = Connection { peer, tls: tls.is_some() };
        let service = TowerToHyperService::new(router.clone().layer(axum::Extension(connection)));
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let tls = tls.clone();
        tokio::spawn(async move {
            let served = match tls {
                None => serve_connection(&builder, watcher, stream, service).await,
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(stream) => serve_connection(&builder, watcher, stream, service).await,
                    Err(e) => Err(e.into()),
                },
            };
            if let Err(e) = served {
                debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }

    drop(listener);
    info!("shutting down: waiting for in-flight requests");
    tokio::select! {
        () = graceful.shutdown() => info!("in-flight requests finished"),
        () = tokio::time::sleep(config.shutdown_grace) => warn!("shutdown grace period over; closing remaining connections"),
    }
    flusher.abort();
    lifecycle.abort();
    // A scan cut short keeps its lease; another node (or this one, restarted) takes it over
    // when the lease runs out.
    for scanner in scanners {
        scanner.abort();
    }
    if let Some(collector) = collector {
        // A collection cut short is finished by the next one (see wharf_registry::gc).
        collector.abort();
    }
    if let Err(e) = registry.flush_pulls().await {
        warn!(error = %e, "writing pull times failed");
    }
    registry.meta().close().await;
    info!("stopped");
    Ok(())
}

type Service = TowerToHyperService<axum::Router>;

async fn serve_connection<S>(
    builder: &auto::Builder<TokioExecutor>,
    watcher: hyper_util::server::graceful::Watcher,
    stream: S,
    service: Service,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    watcher.watch(connection.into_owned()).await
}

async fn flush_pulls(registry: Arc<wharf_registry::Registry>, every: std::time::Duration) {
    let mut interval = tokio::time::interval(every);
    loop {
        interval.tick().await;
        if let Err(e) = registry.flush_pulls().await {
            warn!(error = %e, "writing pull times failed");
        }
    }
}

/// Applies due lifecycle policies and completes restores of archived images. A pass cut
/// short by a shutdown is redone: a repository's run is claimed before it starts, and the
/// evaluation it skipped happens on the next interval.
async fn run_lifecycle(registry: Arc<wharf_registry::Registry>, every: Duration) {
    let mut interval = tokio::time::interval(every.min(Duration::from_secs(5)));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        if let Err(e) = registry.finish_restores().await {
            warn!(error = %e, "completing restores of archived images failed");
        }
        match registry.run_due_lifecycle_policies(every).await {
            Ok(actions) if !actions.is_empty() => info!(images = actions.len(), "lifecycle policies applied"),
            Ok(_) => {}
            Err(e) => warn!(error = %e, "applying lifecycle policies failed"),
        }
    }
}

async fn collect_garbage(registry: Arc<wharf_registry::Registry>, every: Duration, options: GcOptions) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval.tick().await; // not at start-up: the first tick is immediate
    loop {
        interval.tick().await;
        match registry.collect_garbage(&options, &Quiet).await {
            Ok(Some(report)) => info!(?report, "garbage collected"),
            Ok(None) => debug!("another garbage collection is running"),
            Err(e) => warn!(error = %e, "garbage collection failed"),
        }
    }
}

/// Runs queued scans, waking up when this process queues one and every second for those
/// other nodes queue.
async fn run_scans(registry: Arc<wharf_registry::Registry>, limits: ScanLimits) {
    loop {
        match registry.run_next_scan(&limits).await {
            Ok(true) => {}
            Ok(false) => registry.wait_for_scans(Duration::from_secs(1)).await,
            Err(e) => {
                warn!(error = %e, "running a scan failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Matches continuous scans again whenever a new vulnerability database is imported.
async fn rematch_scans(registry: Arc<wharf_registry::Registry>, limits: ScanLimits) {
    let mut interval = tokio::time::interval(Duration::from_secs(2));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut done = None;
    loop {
        interval.tick().await;
        match registry.rematch_continuous_scans(done, &limits).await {
            Ok((db, changed)) => {
                if changed > 0 {
                    info!(scans = changed, "continuous scans matched against the new vulnerability database");
                }
                done = db;
            }
            Err(e) => warn!(error = %e, "matching continuous scans again failed"),
        }
    }
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

fn tls_acceptor(cert: &Path, key: &Path) -> anyhow::Result<TlsAcceptor> {
    let certs = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("cannot read TLS certificate {}", cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("bad TLS certificate {}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key).with_context(|| format!("cannot read TLS key {}", key.display()))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut tls = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("TLS certificate and key do not match")?;
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(tls)))
}
