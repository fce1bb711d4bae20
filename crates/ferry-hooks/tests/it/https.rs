//! `https://` webhooks: verified TLS, with the operator's roots or the web's.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::receiver::Receiver;
use crate::support::*;

/// A private CA and a `localhost` server certificate it signed.
fn pki() -> (CertificateDer<'static>, Arc<rustls::ServerConfig>) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string()]).unwrap().signed_by(&key, &*ca).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], PrivateKeyDer::Pkcs8(key.serialize_der().into()))
        .unwrap();
    (ca.der().clone(), Arc::new(server))
}

fn client_trusting(ca: CertificateDer<'static>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

fn https_hook(name: &str, rx: &Receiver) -> ferry_hooks::HookConfig {
    hook(&format!("name = \"{name}\"\nevents = [\"upload\"]\nurl = \"https://localhost:{}/tls\"\nsecret = \"k\"", rx.addr.port()))
}

#[tokio::test]
async fn an_https_webhook_is_delivered_over_verified_tls() {
    let (ca, server) = pki();
    let rx = Receiver::start_tls(server).await;
    let spool = tempfile::tempdir().unwrap();
    let mut s = settings(spool.path());
    s.tls = Some(client_trusting(ca));
    let (events, dispatcher) = start(s, &[https_hook("tls", &rx)]);
    events.emit(upload("alice", "/secure.bin", 9));
    let got = rx.wait_for(1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].path, "/tls");
    assert_eq!(got[0].json()["path"], "/secure.bin");
    assert_eq!(got[0].header("x-ferry-signature"), ferry_hooks::signature::sign(b"k", &got[0].body));
    dispatcher.stop().await;
}

#[tokio::test]
async fn a_certificate_the_roots_do_not_vouch_for_is_a_failed_try() {
    let (_, server) = pki();
    let rx = Receiver::start_tls(server).await;
    let spool = tempfile::tempdir().unwrap();
    // The default: the web's roots, which do not know our private CA.
    let (events, dispatcher) = start(settings(spool.path()), &[https_hook("untrusted", &rx)]);
    events.emit(upload("alice", "/secure.bin", 9));
    eventually("a refused try", || dispatcher.metrics().deliveries("untrusted", "retried") >= 2).await;
    assert!(rx.got().is_empty(), "nothing was sent over a connection that failed verification");
    assert_eq!(dispatcher.metrics().deliveries("untrusted", "delivered"), 0);
    assert_eq!(spooled(spool.path()).len(), 1, "the event waits");
    dispatcher.stop().await;
}
