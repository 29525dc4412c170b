"""The protobuf SelfSubjectAccessReview kubectl auth can-i sends; the cluster CA and the
apiserver's certificate `kafkube init` writes; client certificates (`kafkube certs client`)
and the user the apiserver takes their holder for; the kubeconfig `kafkube config
kubeconfig` prints."""

from __future__ import annotations

import base64
import ipaddress
from pathlib import Path

import pytest
from cryptography import x509

from schemas.auth import AUTHENTICATED_GROUP
from services.apiserver.auth import certificate_user
from services.apiserver.protobuf import ProtobufError, access_review
from services.cli.kubeconfig import certificate_credentials, kubeconfig, token_credentials
from services.cli.kubeconfig import certificate_user as kubeconfig_user
from services.cli.tls import apiserver_pki, client_certificate


def varint(value: int) -> bytes:
    out = b""
    while True:
        byte, value = value & 0x7F, value >> 7
        out += bytes([byte | (0x80 if value else 0)])
        if not value:
            return out


def field(number: int, payload: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def test_a_protobuf_access_review_in_its_json_shape() -> None:
    attributes = field(1, b"default") + field(2, b"create") + field(5, b"pods") + varint(8 << 3) + varint(300)
    review = field(1, b"") + field(2, field(1, attributes))
    unknown = field(1, field(1, b"authorization.k8s.io/v1") + field(2, b"SelfSubjectAccessReview")) + field(2, review)
    assert access_review(b"k8s\x00" + unknown) == {
        "spec": {"resourceAttributes": {"namespace": "default", "verb": "create", "resource": "pods"}}}
    paths = field(2, field(2, field(1, b"/healthz") + field(2, b"get")))
    assert access_review(b"k8s\x00" + field(2, paths)) == {
        "spec": {"nonResourceAttributes": {"path": "/healthz", "verb": "get"}}}


@pytest.mark.parametrize("body", [b"{}", b"k8s\x00" + field(2, b"\x12\x7f")])
def test_what_is_not_a_protobuf_review(body: bytes) -> None:
    with pytest.raises(ProtobufError):
        access_review(body)


def test_the_apiserver_certificate_is_signed_by_the_cluster_ca_and_kept(tmp_path: Path) -> None:
    ca_path = apiserver_pki(tmp_path)
    ca = x509.load_pem_x509_certificate(ca_path.read_bytes())
    server = x509.load_pem_x509_certificate((tmp_path / "apiserver.crt").read_bytes())
    server.verify_directly_issued_by(ca)
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"kubernetes.default.svc", "localhost", "apiserver"} <= set(names.get_values_for_type(x509.DNSName))
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)
    assert oct((tmp_path / "apiserver.key").stat().st_mode & 0o777) == "0o600"
    before = (tmp_path / "apiserver.crt").read_bytes()
    apiserver_pki(tmp_path)
    assert (tmp_path / "apiserver.crt").read_bytes() == before  # existing files are kept


def test_kubeconfig_names_the_server_ca_and_token() -> None:
    config = kubeconfig(server="https://127.0.0.1:6443", ca_pem=b"PEM", credentials=token_credentials("t0k"))
    cluster = config["clusters"][0]["cluster"]
    assert cluster == {"server": "https://127.0.0.1:6443", "certificate-authority-data": base64.b64encode(b"PEM").decode()}
    assert config["users"][0]["user"] == {"token": "t0k"}
    assert config["current-context"] == config["contexts"][0]["name"]


def test_a_client_certificate_names_its_user_and_groups(tmp_path: Path) -> None:
    ca = x509.load_pem_x509_certificate(apiserver_pki(tmp_path).read_bytes())
    cert_path, key_path = client_certificate(tmp_path, tmp_path / "jane", user="jane", groups=("dev", "ops"))
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    cert.verify_directly_issued_by(ca)
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]
    assert oct(key_path.stat().st_mode & 0o777) == "0o600"
    assert kubeconfig_user(cert_path.read_bytes()) == "jane"
    user = kubeconfig(server="https://s", ca_pem=b"CA", user="jane",
                      credentials=certificate_credentials(cert_path.read_bytes(), key_path.read_bytes()))["users"][0]
    assert user["name"] == "jane" and base64.b64decode(user["user"]["client-key-data"]) == key_path.read_bytes()


def test_no_client_certificate_without_the_cluster_ca(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        client_certificate(tmp_path, tmp_path / "jane", user="jane")


def test_the_user_of_a_verified_certificate_as_ssl_reports_it() -> None:
    peercert = {"subject": ((("organizationName", "dev"),), (("organizationName", "ops"),),
                            (("commonName", "jane"),))}
    user = certificate_user(peercert)
    assert user is not None and user.name == "jane" and user.groups == ("dev", "ops", AUTHENTICATED_GROUP)
    assert certificate_user(None) is None and certificate_user({}) is None  # no certificate: the token decides
    assert certificate_user({"subject": ((("organizationName", "dev"),),)}) is None  # no CN, no user
