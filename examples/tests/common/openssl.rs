//! Certificates as `openssl` makes them (PEM, ECDSA P-256, PKCS#8 keys): a CA, and leaf
//! certificates it signs with a common name and a matching DNS name (plus 127.0.0.1),
//! usable as server and client certificates. The openssl CLI is a test prerequisite
//! (`cargo xtask setup` installs it); a failed run fails the test.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A CA made by openssl in a directory.
pub struct OpensslCa {
    pub dir: PathBuf,
    pub name: String,
}

/// A leaf certificate and its key.
pub struct Leaf {
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl must be installed (cargo xtask setup installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn p256_key(dir: &Path, file: &str) {
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            file,
        ],
    );
}

impl OpensslCa {
    /// A new CA named `name` in `dir` (`<name>.pem`, `<name>.key`).
    pub fn new(dir: &Path, name: &str) -> OpensslCa {
        std::fs::create_dir_all(dir).unwrap();
        let key = format!("{name}.key");
        p256_key(dir, &key);
        let (subject, pem) = (format!("/CN={name}"), format!("{name}.pem"));
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-new",
                "-key",
                &key,
                "-sha256",
                "-days",
                "30",
                "-subj",
                &subject,
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
                "-out",
                &pem,
            ],
        );
        OpensslCa {
            dir: dir.to_path_buf(),
            name: name.to_string(),
        }
    }

    /// The CA certificate (PEM).
    pub fn cert(&self) -> PathBuf {
        self.dir.join(format!("{}.pem", self.name))
    }

    /// A leaf with common name and DNS name `cn`, signed by this CA.
    pub fn issue(&self, cn: &str) -> Leaf {
        let dir = &self.dir;
        let stem = format!("{}-{cn}", self.name);
        let (key, csr, pem, ext) = (
            format!("{stem}.key"),
            format!("{stem}.csr"),
            format!("{stem}.pem"),
            format!("{stem}.ext"),
        );
        p256_key(dir, &key);
        openssl(
            dir,
            &[
                "req",
                "-new",
                "-key",
                &key,
                "-subj",
                &format!("/CN={cn}"),
                "-out",
                &csr,
            ],
        );
        std::fs::write(
            dir.join(&ext),
            format!(
                "subjectAltName=DNS:{cn},IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
                 keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n"
            ),
        )
        .unwrap();
        let (ca_pem, ca_key) = (format!("{}.pem", self.name), format!("{}.key", self.name));
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                &ca_pem,
                "-CAkey",
                &ca_key,
                "-CAcreateserial",
                "-sha256",
                "-days",
                "30",
                "-extfile",
                &ext,
                "-out",
                &pem,
            ],
        );
        Leaf {
            cert: dir.join(pem),
            key: dir.join(key),
        }
    }
}

impl Leaf {
    /// The certificate as DER (what a device's configuration carries).
    pub fn cert_der(&self) -> Vec<u8> {
        der(&["x509", "-in"], &self.cert)
    }

    /// The key as SEC1 DER (`openssl ec`), what degu-embassy's TLS client takes.
    pub fn key_sec1_der(&self) -> Vec<u8> {
        der(&["ec", "-in"], &self.key)
    }
}

impl OpensslCa {
    /// The CA certificate as DER.
    pub fn cert_der(&self) -> Vec<u8> {
        der(&["x509", "-in"], &self.cert())
    }
}

/// `openssl <command> <file> -outform DER`: its output.
fn der(command: &[&str], file: &Path) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(command)
        .arg(file)
        .args(["-outform", "DER"])
        .output()
        .expect("openssl must be installed (cargo xtask setup installs it)");
    assert!(
        out.status.success() && !out.stdout.is_empty(),
        "openssl {command:?} {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}
