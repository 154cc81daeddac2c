//! TLS to the database, for `sslmode=prefer` (tokio-postgres's default: TLS when the server offers it) and
//! `sslmode=require`: rustls with the platform's certificate verifier and aws-lc-rs, the same stack the provider
//! client uses, so no second TLS library is linked.

use std::sync::Arc;

use rustls_platform_verifier::BuilderVerifierExt;
use tokio_postgres_rustls::MakeRustlsConnect;

pub(super) fn connector() -> MakeRustlsConnect {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_platform_verifier())
        .map(|builder| builder.with_no_client_auth());
    match config {
        Ok(config) => MakeRustlsConnect::new(config),
        Err(error) => {
            // Only a broken system certificate store gets here; plain connections still work, TLS ones fail and say so.
            tracing::warn!("no TLS for PostgreSQL: the system's certificates cannot be read: {error}");
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let roots = rustls::RootCertStore::empty();
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("aws-lc-rs supports the default protocol versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
            MakeRustlsConnect::new(config)
        }
    }
}
