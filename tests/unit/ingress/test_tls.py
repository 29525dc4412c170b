"""TLS Secrets as certificates (services/ingress/secrets.py, tls.py): a kubernetes.io/tls
Secret stored in clear loads (a real handshake picks it by SNI), other types and broken
pairs are refused with the reason, a failed Secret is tried again, and a new version reloads."""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl
import threading
from typing import Any

import pytest

from services.ingress.secrets import SecretUnusable, TlsSecrets, tls_pair
from services.ingress.tls import Certificates, CertificateError, self_signed, server_context
from services.runtime.config import Settings


def secret(cert: bytes, key: bytes, *, version: str = "1", kind: str = "kubernetes.io/tls") -> dict[str, Any]:
    return {"type": kind, "metadata": {"name": "web-tls", "namespace": "default", "resourceVersion": version},
            "data": {"tls.crt": base64.b64encode(cert).decode(), "tls.key": base64.b64encode(key).decode()}}


async def never(_request: object) -> None:
    raise AssertionError("a Secret stored in clear is never asked of the API")


def test_tls_pair_refuses_other_types_and_missing_keys() -> None:
    cert, key = self_signed("web.example.com")
    assert tls_pair(secret(cert, key), secret(cert, key)["data"]) == (cert, key)
    with pytest.raises(SecretUnusable, match='type is "Opaque", not "kubernetes.io/tls"'):
        tls_pair({"data": {}}, {})
    with pytest.raises(SecretUnusable, match="no tls.key in data"):
        tls_pair(secret(cert, key), {"tls.crt": "eA=="})
    with pytest.raises(CertificateError, match="do not make a usable certificate"):
        server_context(cert, self_signed()[1])  # a key of another certificate


def test_secrets_load_retry_and_reload() -> None:
    cert, key = self_signed("web.example.com")
    secrets = TlsSecrets(Settings(), never, principal="system:kafkube-ingress", retry_s=0)
    asyncio.run(secrets.refresh({"default/web-tls"}, {"default/web-tls": secret(cert, b"garbage")}))
    assert secrets.get("default/web-tls") is None
    asyncio.run(secrets.refresh({"default/web-tls"}, {"default/web-tls": secret(cert, key)}))  # same version, retried
    first = secrets.get("default/web-tls")
    assert first is not None
    asyncio.run(secrets.refresh({"default/web-tls"}, {"default/web-tls": secret(cert, key)}))
    assert secrets.get("default/web-tls") is first  # loaded once per version
    asyncio.run(secrets.refresh({"default/web-tls"}, {"default/web-tls": secret(cert, key, version="2")}))
    assert secrets.get("default/web-tls") is not first
    asyncio.run(secrets.refresh(set(), {}))
    assert secrets.get("default/web-tls") is None


def handshake(certificates: Certificates, server_name: str) -> bytes:
    """The DER certificate a client sees when it asks for `server_name`."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        with certificates.context.wrap_socket(conn, server_side=True) as tls:
            tls.recv(1)
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client = ssl.create_default_context()
    client.check_hostname, client.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port)) as raw, client.wrap_socket(raw, server_hostname=server_name) as tls:
        der = tls.getpeercert(binary_form=True)
        tls.send(b"x")
    thread.join(5)
    listener.close()
    assert der is not None
    return der


def test_sni_picks_the_certificate_of_the_name() -> None:
    cert, key = self_signed("web.example.com")
    contexts = {"web.example.com": server_context(cert, key)}
    certificates = Certificates(contexts.get)
    expected = ssl.PEM_cert_to_DER_cert(cert.decode())
    assert handshake(certificates, "WEB.example.com") == expected
    assert handshake(certificates, "other.example.com") != expected  # the fallback certificate
