"""TLS termination: one server `SSLContext` whose SNI callback hands each handshake the
context of the certificate the routing table names for that server name (exact host,
else its `*.domain` entry). A name without a certificate (or no SNI) gets the
controller's own self-signed certificate, as ingress-nginx's "fake certificate".

Certificates come from `kubernetes.io/tls` Secrets (`tls.crt`, `tls.key`, PEM); Python's
ssl module loads a chain only from files, so each is written to a private temporary
directory (0700, files 0600) for the load and removed at once. Called by
`services.ingress.service`.
"""

from __future__ import annotations

import datetime
import os
import ssl
import tempfile
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


class CertificateError(ValueError):
    """A TLS Secret's certificate or key cannot be used (the message says why)."""


def server_context(cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    """A TLS server context holding one certificate chain and its key."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    with tempfile.TemporaryDirectory(prefix="kafkube-ingress-") as directory:
        cert, key = Path(directory) / "tls.crt", Path(directory) / "tls.key"
        for path, data in ((cert, cert_pem), (key, key_pem)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
        try:
            context.load_cert_chain(cert, key)
        except ssl.SSLError as exc:
            raise CertificateError(f"tls.crt and tls.key do not make a usable certificate: {exc.reason or exc}") from None
    return context


def self_signed(common_name: str = "Kafkube Ingress Controller Fake Certificate") -> tuple[bytes, bytes]:
    """A throwaway certificate (PEM) and key for names without a certificate of their own."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=365)).sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


class Certificates:
    """The listening context; `pick(server_name)` says which loaded context serves a name."""

    def __init__(self, pick: Callable[[str], ssl.SSLContext | None]) -> None:
        self._pick = pick
        self.context = server_context(*self_signed())
        self.context.sni_callback = self._on_sni

    def _on_sni(self, sock: ssl.SSLObject, server_name: str | None, _context: ssl.SSLContext) -> None:
        chosen = self._pick(server_name.lower()) if server_name else None
        if chosen is not None:
            sock.context = chosen
