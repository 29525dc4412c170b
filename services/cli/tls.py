"""The cluster CA and the apiserver's serving certificate, written by `kafkube init DIR`
as kubeadm writes its PKI: `ca.crt`/`ca.key` (a self-signed ECDSA P-256 CA, ten years)
and `apiserver.crt`/`apiserver.key` (signed by the CA, one year, for `localhost`,
`127.0.0.1`, `::1`, the in-cluster names `kubernetes.default.svc...`, the compose
service name `apiserver` and any extra host). Existing files are kept. Also client
certificates (`client_certificate`: CN = user, O = groups, as kube-apiserver reads them).
Used by `services.cli.credentials` and `kafkube certs`; the CA is what
`kafkube config kubeconfig` hands kubectl."""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_CERT, CA_KEY = "ca.crt", "ca.key"
SERVER_CERT, SERVER_KEY = "apiserver.crt", "apiserver.key"
SERVER_NAMES = ("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local", "kafkube-apiserver", "apiserver")
SERVER_IPS = ("127.0.0.1", "::1")


def _write(path: Path, data: bytes, *, private: bool) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _name(common_name: str, organizations: tuple[str, ...] = ()) -> x509.Name:
    return x509.Name([*(x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca(directory: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert_path, key_path = directory / CA_CERT, directory / CA_KEY
    if cert_path.exists() and key_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return x509.load_pem_x509_certificate(cert_path.read_bytes()), key
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name("kafkube-ca")).issuer_name(_name("kafkube-ca"))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    _write(key_path, _key_pem(key), private=True)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), private=False)
    return cert, key


def _alt_names(extra_hosts: list[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in (*SERVER_NAMES, *SERVER_IPS, *extra_hosts):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return list(dict.fromkeys(names))


def _leaf(directory: Path, subject: x509.Name, usage: x509.ObjectIdentifier, *, days: int,
          alt_names: list[x509.GeneralName] | None = None) -> tuple[bytes, bytes]:
    """A new key and its certificate (PEM) for `subject`, signed by the cluster CA."""
    ca_cert, ca_key = _ca(directory)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_cert.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
    if alt_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def apiserver_pki(directory: Path, *, extra_hosts: list[str] | None = None) -> Path:
    """Write (where missing) the CA and the apiserver's certificate; return the CA's path."""
    _ca(directory)
    if (directory / SERVER_CERT).exists() and (directory / SERVER_KEY).exists():
        return directory / CA_CERT
    cert, key = _leaf(directory, _name("kube-apiserver"), ExtendedKeyUsageOID.SERVER_AUTH, days=365,
                      alt_names=_alt_names(extra_hosts or []))
    _write(directory / SERVER_KEY, key, private=True)
    _write(directory / SERVER_CERT, cert, private=False)
    return directory / CA_CERT


def client_certificate(directory: Path, out: Path, *, user: str, groups: tuple[str, ...] = (),
                       days: int = 365) -> tuple[Path, Path]:
    """Write `out`.crt and `out`.key: a client certificate of `user` in `groups`, signed by
    the cluster CA in `directory`; return their paths. FileNotFoundError without that CA."""
    if not (directory / CA_CERT).exists() or not (directory / CA_KEY).exists():
        raise FileNotFoundError(f"no cluster CA in {directory} ({CA_CERT}, {CA_KEY}: kafkube init {directory})")
    cert, key = _leaf(directory, _name(user, groups), ExtendedKeyUsageOID.CLIENT_AUTH, days=days)
    cert_path, key_path = out.with_name(out.name + ".crt"), out.with_name(out.name + ".key")
    _write(key_path, key, private=True)
    _write(cert_path, cert, private=False)
    return cert_path, key_path
