//! Certificates made with the `openssl` command line rather than by the lab: a root, an intermediate that signs
//! leaves, and leaves of every kind the lab's `CertSpec` names plus the ones rcgen and ring cannot make (SHA-1
//! signatures). Real servers load these files; the audit trusts [`Pki::root_file`] through `--ca-file`.
//!
//! The CA's organisation is "Launchready Lab", like the lab CA's, so the audit maps both to the same CAA domain
//! (`launchready.lab`) and a zone's CAA record judges both alike; every other name differs.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use launchready_lab::CertSpec;
use time::{Duration, OffsetDateTime};

use super::ServerError;

/// The `openssl` configuration every command here reads: the `ca` database, the DN policy and the extension
/// sections. The leaf's names come from the environment (`SAN`), so one file serves every leaf.
const OPENSSL_CNF: &str = r#"
[ ca ]
default_ca = ca_default

[ ca_default ]
database = index.txt
new_certs_dir = issued
rand_serial = yes
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
preserve = yes

[ policy_any ]
organizationName = optional
commonName = supplied

[ req ]
distinguished_name = dn
prompt = no

[ dn ]
CN = unused

[ v3_root ]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash

[ v3_intermediate ]
basicConstraints = critical,CA:true,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ v3_leaf ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = $ENV::SAN

[ v3_cn_only ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[ v3_self_signed ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
subjectAltName = $ENV::SAN
"#;

/// The padding extension of huge leaves: an arc under the enterprise number reserved for documentation
/// (RFC 5612), the same one the lab uses, so it can never mean anything to a client.
const PADDING_OID: &str = "1.3.6.1.4.1.32473.1";

/// A leaf certificate as a real server is configured with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFiles {
    /// The leaf followed by whatever chain the server is to send.
    pub chain: PathBuf,
    pub key: PathBuf,
}

/// Which leaf to make: every kind of the lab's [`CertSpec`], plus what only OpenSSL can still make.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Leaf {
    /// As the lab would make it for this `CertSpec`.
    Spec(CertSpecKey),
    /// A valid leaf signed with ECDSA and SHA-1 (`ecdsa-with-SHA1`) by the usual EC intermediate.
    Sha1Ecdsa,
    /// A valid leaf signed with RSA and SHA-1 (`sha1WithRSAEncryption`), the form SHA-1 certificates took in
    /// the wild, by a second, RSA intermediate (made on first use).
    Sha1Rsa,
    /// A valid leaf issued by an intermediate that expired 30 days ago (sent with it): the chain fails, the leaf
    /// itself is fine.
    ExpiredIntermediate,
    /// A valid leaf naming its host only in the subject CN, with no subjectAltName: what certificates looked
    /// like before browsers stopped reading the CN.
    CnOnly,
    /// A valid leaf for `*.{0}`, which covers one label under the domain and not the domain itself.
    Wildcard(String),
}

/// [`CertSpec`] as a hashable key (it is not `Hash` itself).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CertSpecKey(String);

impl From<&CertSpec> for Leaf {
    fn from(spec: &CertSpec) -> Self {
        Leaf::Spec(CertSpecKey(format!("{spec:?}")))
    }
}

/// A throwaway CA in a directory of its own (removed on drop), issuing leaves on demand.
#[derive(Debug)]
pub struct Pki {
    dir: tempfile::TempDir,
    root: PathBuf,
    intermediate: PathBuf,
    intermediate_key: PathBuf,
    /// One EC key serves every ordinary leaf: generating keys is the slow part and tests gain nothing from
    /// distinct ones.
    leaf_key: PathBuf,
    issued: Mutex<HashMap<(String, Leaf, String), CertFiles>>,
}

impl Pki {
    /// Makes the root, the intermediate and the shared leaf key. Fails with [`ServerError::Missing`] when
    /// there is no `openssl`, or returns `Ok(None)` after a loud skip message (see [`super::locate`]).
    pub fn new() -> Result<Option<Pki>, ServerError> {
        if super::locate("openssl", "openssl")?.is_none() {
            return Ok(None);
        }
        let dir = tempfile::Builder::new()
            .prefix("launchready-pki-")
            .tempdir()
            .map_err(|e| ServerError::io("creating the PKI directory", e))?;
        let path = dir.path();
        write(&path.join("openssl.cnf"), OPENSSL_CNF)?;
        write(&path.join("index.txt"), "")?;
        std::fs::create_dir(path.join("issued"))
            .map_err(|e| ServerError::io("creating the PKI directory", e))?;
        let now = OffsetDateTime::now_utc();

        genkey(path, &path.join("root.key"), KeyType::Ec)?;
        let root = path.join("root.pem");
        openssl(
            path,
            &[],
            &[
                "req",
                "-new",
                "-x509",
                "-config",
                "openssl.cnf",
                "-key",
                "root.key",
                "-subj",
                "/O=Launchready Lab/CN=Launchready Interop OpenSSL Root CA",
                "-days",
                "3650",
                "-extensions",
                "v3_root",
                "-out",
                "root.pem",
            ],
        )?;

        let (intermediate, intermediate_key) = make_intermediate(
            path,
            "intermediate",
            KeyType::Ec,
            "Launchready Interop OpenSSL Intermediate CA",
            now - Duration::days(1),
            now + Duration::days(1825),
        )?;

        let leaf_key = path.join("leaf.key");
        genkey(path, &leaf_key, KeyType::Ec)?;
        Ok(Some(Pki {
            dir,
            root,
            intermediate,
            intermediate_key,
            leaf_key,
            issued: Mutex::new(HashMap::new()),
        }))
    }

    /// The root certificate (PEM), the file to pass as `--ca-file`.
    pub fn root_file(&self) -> &Path {
        &self.root
    }

    /// The directory holding every file (removed on drop).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The leaf for `host` as the lab would make it for `spec`.
    pub fn for_spec(&self, host: &str, spec: &CertSpec) -> Result<CertFiles, ServerError> {
        self.leaf(host, &Leaf::from(spec), spec)
    }

    /// A valid leaf for `host` signed with ECDSA and SHA-1.
    pub fn sha1_ecdsa(&self, host: &str) -> Result<CertFiles, ServerError> {
        self.leaf(host, &Leaf::Sha1Ecdsa, &CertSpec::Valid)
    }

    /// A valid leaf for `host` issued by an intermediate that has expired.
    pub fn expired_intermediate(&self, host: &str) -> Result<CertFiles, ServerError> {
        self.leaf(host, &Leaf::ExpiredIntermediate, &CertSpec::Valid)
    }

    /// A valid leaf naming `host` only in its subject CN (no subjectAltName).
    pub fn cn_only(&self, host: &str) -> Result<CertFiles, ServerError> {
        self.leaf(host, &Leaf::CnOnly, &CertSpec::Valid)
    }

    /// A valid leaf for `*.{domain}` (the subject CN is `host`, which does not matter to clients).
    pub fn wildcard(&self, host: &str, domain: &str) -> Result<CertFiles, ServerError> {
        self.leaf(host, &Leaf::Wildcard(domain.to_string()), &CertSpec::Valid)
    }

    /// A valid leaf for `host` signed with RSA and SHA-1, sent with its RSA intermediate.
    pub fn sha1_rsa(&self, host: &str) -> Result<CertFiles, ServerError> {
        self.leaf(host, &Leaf::Sha1Rsa, &CertSpec::Valid)
    }

    /// A second intermediate (signed by the root) with its own key and validity, made on first use; `stem`
    /// names its files.
    fn extra_intermediate(
        &self,
        stem: &str,
        key_type: KeyType,
        name: &str,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<(PathBuf, PathBuf), ServerError> {
        let path = self.dir.path();
        let (cert, key) = (
            path.join(format!("{stem}.pem")),
            path.join(format!("{stem}.key")),
        );
        if cert.is_file() {
            return Ok((cert, key));
        }
        make_intermediate(path, stem, key_type, name, not_before, not_after)
    }

    /// Issues (once per host and kind) and returns the files.
    fn leaf(&self, host: &str, kind: &Leaf, spec: &CertSpec) -> Result<CertFiles, ServerError> {
        let key = (host.to_string(), kind.clone(), format!("{spec:?}"));
        let mut issued = self.issued.lock().map_err(|_| ServerError::Unsupported {
            server: "openssl".into(),
            reason: "a previous certificate request panicked".into(),
        })?;
        if let Some(files) = issued.get(&key) {
            return Ok(files.clone());
        }
        let files = self.issue(host, kind, spec, issued.len())?;
        issued.insert(key, files.clone());
        Ok(files)
    }

    fn issue(
        &self,
        host: &str,
        kind: &Leaf,
        spec: &CertSpec,
        serial: usize,
    ) -> Result<CertFiles, ServerError> {
        let path = self.dir.path();
        let stem = format!("leaf-{serial}");
        let now = OffsetDateTime::now_utc();
        let mut key = self.leaf_key.clone();
        let mut san = format!("DNS:{host}");
        let mut not_before = now - Duration::days(1);
        let mut not_after = now + Duration::days(90);
        let mut digest = "sha256";
        let mut self_signed = false;
        let mut cn_only = false;
        let mut extfile = None;
        // How many copies of the intermediate follow the leaf.
        let mut intermediates = 1;
        let (mut issuer_cert, mut issuer_key) =
            (self.intermediate.clone(), self.intermediate_key.clone());
        match (kind, spec) {
            (Leaf::Sha1Ecdsa, _) => digest = "sha1",
            (Leaf::Sha1Rsa, _) => {
                digest = "sha1";
                (issuer_cert, issuer_key) = self.extra_intermediate(
                    "intermediate-rsa",
                    KeyType::Rsa(2048),
                    "Launchready Interop OpenSSL RSA Intermediate CA",
                    now - Duration::days(1),
                    now + Duration::days(1825),
                )?;
            }
            (Leaf::ExpiredIntermediate, _) => {
                (issuer_cert, issuer_key) = self.extra_intermediate(
                    "intermediate-expired",
                    KeyType::Ec,
                    "Launchready Interop OpenSSL Expired Intermediate CA",
                    now - Duration::days(400),
                    now - Duration::days(30),
                )?;
            }
            (Leaf::CnOnly, _) => cn_only = true,
            (Leaf::Wildcard(domain), _) => san = format!("DNS:*.{domain}"),
            (Leaf::Spec(_), CertSpec::Valid) => {}
            (Leaf::Spec(_), CertSpec::ExpiresInDays(days)) => {
                // The lab's slack: a client checking a moment later still counts `days` whole days.
                not_after = now + Duration::days(*days) + Duration::hours(1);
                not_before = not_before.min(not_after - Duration::days(90));
            }
            (Leaf::Spec(_), CertSpec::Expired) => {
                not_before = now - Duration::days(120);
                not_after = now - Duration::days(30);
            }
            (Leaf::Spec(_), CertSpec::NotYetValid) => {
                not_before = now + Duration::days(30);
                not_after = now + Duration::days(120);
            }
            (Leaf::Spec(_), CertSpec::WrongHost(other)) => san = format!("DNS:{other}"),
            (Leaf::Spec(_), CertSpec::SelfSigned) => {
                self_signed = true;
                intermediates = 0;
            }
            (Leaf::Spec(_), CertSpec::NoIntermediate) => intermediates = 0,
            (Leaf::Spec(_), CertSpec::WeakRsa) => {
                key = path.join(format!("{stem}.key"));
                genkey(path, &key, KeyType::Rsa(1024))?;
            }
            (Leaf::Spec(_), CertSpec::LongChain(n)) => intermediates = *n,
            (Leaf::Spec(_), CertSpec::Huge { bytes }) => {
                // `ASN1:FORMAT:HEX,OCTETSTRING` takes the padding as hex in the extension file.
                let padding = bytes.saturating_sub(600);
                let mut section = format!(
                    "[ huge ]\nbasicConstraints = critical,CA:false\nkeyUsage = critical,digitalSignature\n\
                     extendedKeyUsage = serverAuth\nsubjectAltName = DNS:{host}\n{PADDING_OID} = ASN1:FORMAT:HEX,OCTETSTRING:"
                );
                section.reserve(padding * 2 + 1);
                for _ in 0..padding {
                    section.push_str("00");
                }
                section.push('\n');
                let ext = path.join(format!("{stem}.ext"));
                write(&ext, &section)?;
                extfile = Some(ext);
            }
        }
        let csr = format!("{stem}.csr");
        request(path, &file_name(&key), &format!("/CN={host}"), &csr)?;
        let leaf = format!("{stem}.pem");
        let intermediate = file_name(&issuer_cert);
        let intermediate_key = file_name(&issuer_key);
        let key_name = file_name(&key);
        sign(
            path,
            &SignRequest {
                issuer: if self_signed {
                    Issuer::SelfSigned(&key_name)
                } else {
                    Issuer::Ca(&intermediate, &intermediate_key)
                },
                csr: &csr,
                out: &leaf,
                extensions: match (self_signed, &extfile) {
                    (true, _) => "v3_self_signed",
                    (false, Some(_)) => "huge",
                    (false, None) if cn_only => "v3_cn_only",
                    (false, None) => "v3_leaf",
                },
                not_before,
                not_after,
                digest,
                san: &san,
                extfile: extfile.as_deref(),
            },
        )?;

        let mut chain = read(&path.join(&leaf))?;
        let intermediate_pem = read(&issuer_cert)?;
        for _ in 0..intermediates {
            chain.push_str(&intermediate_pem);
        }
        let chain_file = path.join(format!("{stem}-chain.pem"));
        write(&chain_file, &chain)?;
        Ok(CertFiles {
            chain: chain_file,
            key,
        })
    }
}

/// Who signs: a CA (certificate and key files) or the request's own key.
enum Issuer<'a> {
    Ca(&'a str, &'a str),
    SelfSigned(&'a str),
}

struct SignRequest<'a> {
    issuer: Issuer<'a>,
    csr: &'a str,
    out: &'a str,
    extensions: &'a str,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    digest: &'a str,
    san: &'a str,
    extfile: Option<&'a Path>,
}

/// `openssl ca`, the one subcommand of OpenSSL 3.0 that takes explicit validity dates.
fn sign(dir: &Path, request: &SignRequest<'_>) -> Result<(), ServerError> {
    let start = asn1_time(request.not_before);
    let end = asn1_time(request.not_after);
    let extfile = request.extfile.map(file_name);
    let mut args = vec![
        "ca",
        "-batch",
        "-notext",
        "-config",
        "openssl.cnf",
        "-in",
        request.csr,
        "-out",
        request.out,
        "-extensions",
        request.extensions,
        "-startdate",
        &start,
        "-enddate",
        &end,
        "-md",
        request.digest,
    ];
    if let Some(extfile) = &extfile {
        args.extend(["-extfile", extfile]);
    }
    match request.issuer {
        Issuer::Ca(cert, key) => args.extend(["-cert", cert, "-keyfile", key]),
        Issuer::SelfSigned(key) => args.extend(["-selfsign", "-keyfile", key]),
    }
    openssl(dir, &[("SAN", request.san)], &args)
}

/// `YYYYMMDDHHMMSSZ`, the form `openssl ca -startdate/-enddate` accepts for any year.
fn asn1_time(t: OffsetDateTime) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "{:04}{:02}{:02}{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    s
}

/// The kind of private key `genkey` makes.
#[derive(Debug, Clone, Copy)]
enum KeyType {
    /// ECDSA on P-256.
    Ec,
    /// RSA of this many bits.
    Rsa(u32),
}

fn genkey(dir: &Path, out: &Path, key_type: KeyType) -> Result<(), ServerError> {
    let (algorithm, option) = match key_type {
        KeyType::Ec => ("EC", "ec_paramgen_curve:P-256".to_string()),
        KeyType::Rsa(bits) => ("RSA", format!("rsa_keygen_bits:{bits}")),
    };
    openssl(
        dir,
        &[],
        &[
            "genpkey",
            "-algorithm",
            algorithm,
            "-pkeyopt",
            &option,
            "-out",
            &file_name(out),
        ],
    )
}

/// `openssl req -new`: a certificate request for `key` (a file name in `dir`) with `subject`, written to `out`.
fn request(dir: &Path, key: &str, subject: &str, out: &str) -> Result<(), ServerError> {
    openssl(
        dir,
        &[],
        &[
            "req",
            "-new",
            "-config",
            "openssl.cnf",
            "-key",
            key,
            "-subj",
            subject,
            "-out",
            out,
        ],
    )
}

/// An intermediate CA signed by the root in `dir`, with a new key of `key_type`: `{stem}.pem` and `{stem}.key`.
fn make_intermediate(
    dir: &Path,
    stem: &str,
    key_type: KeyType,
    name: &str,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<(PathBuf, PathBuf), ServerError> {
    let (cert, key) = (
        dir.join(format!("{stem}.pem")),
        dir.join(format!("{stem}.key")),
    );
    genkey(dir, &key, key_type)?;
    let csr = format!("{stem}.csr");
    request(
        dir,
        &file_name(&key),
        &format!("/O=Launchready Lab/CN={name}"),
        &csr,
    )?;
    sign(
        dir,
        &SignRequest {
            issuer: Issuer::Ca("root.pem", "root.key"),
            csr: &csr,
            out: &file_name(&cert),
            extensions: "v3_intermediate",
            not_before,
            not_after,
            digest: "sha256",
            san: "DNS:unused.invalid",
            extfile: None,
        },
    )?;
    Ok((cert, key))
}

/// Runs `openssl` in `dir`; a failure carries its arguments and stderr.
fn openssl(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Result<(), ServerError> {
    let mut command = Command::new("openssl");
    // The configuration names `$ENV::SAN`, which must be defined even where no leaf is made.
    command
        .current_dir(dir)
        .args(args)
        .env("SAN", "DNS:unused.invalid");
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command
        .output()
        .map_err(|e| ServerError::io("running openssl", e))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(ServerError::Openssl {
            args: args
                .iter()
                .map(|a| if a.len() > 80 { "…" } else { a })
                .collect::<Vec<_>>()
                .join(" "),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn write(path: &Path, text: &str) -> Result<(), ServerError> {
    std::fs::write(path, text).map_err(|e| ServerError::Io {
        context: format!("writing {}", path.display()),
        source: e,
    })
}

fn read(path: &Path) -> Result<String, ServerError> {
    std::fs::read_to_string(path).map_err(|e| ServerError::Io {
        context: format!("reading {}", path.display()),
        source: e,
    })
}
