//! A connection to one registry: HTTPS through rustls with the ring provider and an extra CA from
//! `--ca-file`; plain HTTP only for loopback registries (or with `--insecure`), and only when the
//! registry does not speak TLS, as docker decides for its insecure registries.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;

use super::error::{explain, is_certificate_problem, is_transient_status, status};
use super::retry::retry;

/// How long connecting may take before it counts as a failed (and retried) attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a response may stall before the attempt counts as failed.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// The line that starts a certificate in a PEM file.
const PEM_CERTIFICATE: &str = "-----BEGIN CERTIFICATE-----";
const USER_AGENT: &str = concat!("pause-xtask/", env!("CARGO_PKG_VERSION"));

pub(crate) struct RegistryClient {
    pub(crate) oci: oci_client::Client,
    pub(crate) host: String,
}

impl RegistryClient {
    /// Finds out how `host` is reached and waits until it answers `/v2/` (retrying connection
    /// failures, 429 and 5xx), then sets up oci-client for it. `repository` is for messages.
    pub(crate) async fn connect(
        host: &str,
        insecure: bool,
        ca_file: Option<&Path>,
        repository: &str,
    ) -> Result<RegistryClient> {
        // reqwest is built without a crypto provider (ring keeps the build free of cmake and
        // aws-lc); installing it a second time changes nothing.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let roots = match ca_file {
            Some(path) => vec![read_ca(path)?],
            None => Vec::new(),
        };
        // A client of its own for `/v2/`: oci-client takes a 503 there for "no login needed".
        let mut probe = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .user_agent(USER_AGENT);
        for root in &roots {
            probe = probe.tls_certs_merge([reqwest::Certificate::from_pem(&root.data)?]);
        }
        let probe = probe.build().context("setting up the HTTP client")?;
        let may_be_plain = insecure || is_loopback(host);
        let protocol = retry(&format!("contacting {host}"), || {
            scheme(&probe, host, may_be_plain)
        })
        .await
        .map_err(|error| {
            anyhow!(explain(
                &error,
                host,
                repository,
                &format!("contacting {host}")
            ))
        })?;
        let config = ClientConfig {
            protocol,
            extra_root_certificates: roots,
            // Blobs here are a few KiB: one PUT each beats a chunked upload session.
            use_monolithic_push: true,
            platform_resolver: None,
            connect_timeout: Some(CONNECT_TIMEOUT),
            read_timeout: Some(READ_TIMEOUT),
            user_agent: USER_AGENT,
            ..ClientConfig::default()
        };
        let oci = oci_client::Client::try_from(config).context("setting up the registry client")?;
        Ok(RegistryClient {
            oci,
            host: host.to_string(),
        })
    }
}

/// HTTPS if the registry answers it; plain HTTP when allowed and TLS failed for another reason
/// than an untrusted certificate (that error is the user's to fix, with --ca-file).
async fn scheme(
    probe: &reqwest::Client,
    host: &str,
    may_be_plain: bool,
) -> Result<ClientProtocol, OciDistributionError> {
    match answer(probe, &format!("https://{host}/v2/")).await {
        Ok(()) => Ok(ClientProtocol::Https),
        Err(error)
            if !may_be_plain || status(&error).is_some() || is_certificate_problem(&error) =>
        {
            Err(error)
        }
        Err(_) => answer(probe, &format!("http://{host}/v2/"))
            .await
            .map(|()| ClientProtocol::Http),
    }
}

/// Any answer but 429 and 5xx: 401 is fine, the push authenticates later.
async fn answer(probe: &reqwest::Client, url: &str) -> Result<(), OciDistributionError> {
    let response = probe.get(url).send().await?;
    let code = response.status().as_u16();
    if is_transient_status(code) {
        let message = response.text().await.unwrap_or_default();
        return Err(OciDistributionError::ServerError {
            code,
            url: url.to_string(),
            message,
        });
    }
    Ok(())
}

fn read_ca(path: &Path) -> Result<Certificate> {
    let pem =
        std::fs::read(path).with_context(|| format!("cannot read --ca-file {}", path.display()))?;
    if !String::from_utf8_lossy(&pem).contains(PEM_CERTIFICATE) {
        anyhow::bail!(
            "--ca-file {} holds no PEM certificate: pass the CA's certificate in PEM",
            path.display()
        );
    }
    Ok(Certificate {
        encoding: CertificateEncoding::Pem,
        data: pem,
    })
}

/// `localhost[:port]`, `127.x.y.z[:port]` or `[::1][:port]`: registries on this machine, which
/// docker and containerd also let speak plain HTTP.
pub(crate) fn is_loopback(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _port)| name),
    };
    name == "localhost" || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}
