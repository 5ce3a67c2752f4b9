//! A throwaway certificate authority for one test, made with the openssl CLI: the CA, and the
//! certificates it signs for TLS servers (by IP and DNS names) and for token signing. Everything
//! lives in a temp dir that goes with the value.

use std::fs;
use std::path::PathBuf;

use tempfile::TempDir;

use crate::process::run;

/// Validity of the throwaway certificates: they only live as long as one test.
const CERT_DAYS: &str = "2";
/// Names every server certificate carries: clients here reach servers by these.
const LOOPBACK_NAMES: &[&str] = &["IP:127.0.0.1", "DNS:localhost"];

/// What a certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// A TLS server.
    Server,
    /// Signing JSON Web Tokens (the registry checks the chain to the CA, any key usage).
    Signing,
}

/// A certificate the CA signed and its private key (PKCS#8 PEM).
#[derive(Debug, Clone)]
pub struct Issued {
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub struct Pki {
    dir: TempDir,
}

impl Pki {
    /// A new CA (ECDSA P-256), its key and certificate in a temp dir of its own.
    pub fn create() -> Pki {
        let dir = tempfile::Builder::new()
            .prefix("pause-pki-")
            .tempdir()
            .expect("creating a temp dir");
        let pki = Pki { dir };
        fs::create_dir_all(pki.cert_dir()).expect("creating the cert dir");
        let (key, cert) = (pki.path("ca.key"), pki.path("ca.crt"));
        let mut argv = vec!["openssl", "req", "-x509"];
        argv.extend(EC_KEY);
        argv.extend([
            "-keyout",
            &key,
            "-out",
            &cert,
            "-days",
            CERT_DAYS,
            "-subj",
            "/CN=pause-tests throwaway CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        run(&argv);
        fs::copy(&cert, pki.ca_file()).expect("copying the CA certificate");
        pki
    }

    /// The CA certificate (PEM): what clients pass as `--ca-file`.
    pub fn ca_file(&self) -> PathBuf {
        self.cert_dir().join("ca.crt")
    }

    /// A directory holding the CA certificate alone, for `skopeo --cert-dir` and `certs.d`: they
    /// read every `*.key` in such a dir as a client key, so no key may sit beside it.
    pub fn cert_dir(&self) -> PathBuf {
        self.dir.path().join("certs")
    }

    /// A certificate named `name` signed by the CA: for a server, valid for 127.0.0.1, localhost
    /// and `dns_names`.
    pub fn issue(&self, name: &str, usage: Usage, dns_names: &[&str]) -> Issued {
        let (key, csr, cert, extensions) = (
            self.path(&format!("{name}.key")),
            self.path(&format!("{name}.csr")),
            self.path(&format!("{name}.crt")),
            self.path(&format!("{name}.ext")),
        );
        let mut argv = vec!["openssl", "req"];
        argv.extend(EC_KEY);
        let subject = format!("/CN={name}");
        argv.extend(["-keyout", &key, "-out", &csr, "-subj", &subject]);
        run(&argv);
        let text = match usage {
            Usage::Server => {
                let names: Vec<String> = LOOPBACK_NAMES
                    .iter()
                    .map(|name| name.to_string())
                    .chain(dns_names.iter().map(|name| format!("DNS:{name}")))
                    .collect();
                format!(
                    "basicConstraints=CA:FALSE\nsubjectAltName={}\n\
                     keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
                    names.join(",")
                )
            }
            Usage::Signing => {
                "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n".into()
            }
        };
        fs::write(&extensions, text).expect("writing the certificate extensions");
        let (ca_key, ca_cert) = (self.path("ca.key"), self.path("ca.crt"));
        run(&[
            "openssl",
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca_cert,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-out",
            &cert,
            "-days",
            CERT_DAYS,
            "-extfile",
            &extensions,
        ]);
        Issued {
            cert: cert.into(),
            key: key.into(),
        }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

/// A new ECDSA P-256 key, unencrypted; openssl 3 writes it as PKCS#8, which rustls and ring read.
const EC_KEY: [&str; 5] = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
];

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pki({})", self.dir.path().display())
    }
}
