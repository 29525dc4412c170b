"""End to end through real containers: two busybox httpd pods behind two Services, an
IngressClass of `kafkube.io/ingress`, Ingresses with two hosts and two paths, TLS for one
host from a `kubernetes.io/tls` Secret (stored encrypted: the controller reads it through
the API's SecretRequest), a default backend, 404 and 503, X-Forwarded-* headers, an
Ingress of another class left alone, and `status.loadBalancer` written. The ingress
controller listens on 127.0.0.1 with ports chosen by the kernel (read from its log)."""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
import re
import secrets
import ssl
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.kubelet.runtime.docker import DockerRuntime
from services.runtime.config import Settings
from tests.integration.kafkit import ServiceProcess, cli
from tests.integration.test_services import apply

pytestmark = [pytest.mark.kafka, pytest.mark.docker]
STATUS_IP = "192.0.2.10"
TLS_HOST = "a.example.com"


def pod(name: str, node: str, files: dict[str, str]) -> str:
    dirs = " ".join(sorted({"/www/cgi-bin", *(f"/www/{p.rpartition('/')[0]}" for p in files if "/" in p)}))
    script = " && ".join([f"mkdir -p {dirs}", *(f"printf '{body}' > /www/{path}" for path, body in files.items()),
                          "printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\nenv\\n' > /www/cgi-bin/env",
                          "chmod +x /www/cgi-bin/env", "exec httpd -f -p 8080 -h /www"])
    return textwrap.dedent(f"""\
        apiVersion: v1
        kind: Pod
        metadata: {{name: {name}, labels: {{app: {name}}}}}
        spec:
          nodeName: {node}
          terminationGracePeriodSeconds: 0
          containers:
          - name: httpd
            image: kafkube/busybox:1.0
            command: [sh, -c, "{script}"]
            ports: [{{name: http, containerPort: 8080}}]
            readinessProbe: {{tcpSocket: {{port: 8080}}, periodSeconds: 1}}
        """)


def service(name: str, app: str) -> str:
    return (f"apiVersion: v1\nkind: Service\nmetadata: {{name: {name}}}\nspec:\n  selector: {{app: {app}}}\n"
            "  ports: [{name: http, port: 80, targetPort: http}]\n")


def certificate(host: str) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


def manifests(node: str, cert: bytes, key: bytes) -> list[str]:
    b64 = lambda data: base64.b64encode(data).decode()  # noqa: E731
    ingress = textwrap.dedent(f"""\
        apiVersion: networking.k8s.io/v1
        kind: IngressClass
        metadata: {{name: kafkube}}
        spec: {{controller: kafkube.io/ingress}}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {{name: a-tls}}
        type: kubernetes.io/tls
        data: {{tls.crt: {b64(cert)}, tls.key: {b64(key)}}}
        ---
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: {{name: web}}
        spec:
          ingressClassName: kafkube
          tls: [{{hosts: [{TLS_HOST}], secretName: a-tls}}]
          rules:
          - host: {TLS_HOST}
            http:
              paths:
              - {{path: /, pathType: Prefix, backend: {{service: {{name: alpha, port: {{number: 80}}}}}}}}
              - {{path: /beta, pathType: Prefix, backend: {{service: {{name: beta, port: {{name: http}}}}}}}}
              - {{path: /none, pathType: Prefix, backend: {{service: {{name: nobody, port: {{number: 80}}}}}}}}
          - host: "*.b.example.com"
            http:
              paths:
              - {{path: /exact, pathType: Exact, backend: {{service: {{name: beta, port: {{number: 80}}}}}}}}
        ---
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: {{name: theirs}}
        spec:
          ingressClassName: another
          rules: [{{host: c.example.com, http: {{paths: [{{path: /, pathType: Prefix,
                   backend: {{service: {{name: alpha, port: {{number: 80}}}}}}}}]}}}}]
        """)
    return [pod("alpha", node, {"index.html": "alpha\\n"}),
            pod("beta", node, {"beta/index.html": "beta\\n", "exact": "beta-exact\\n"}),
            service("alpha", "alpha"), service("beta", "beta"), service("nobody", "nothing"), ingress]


DEFAULT_BACKEND = textwrap.dedent("""\
    apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata: {name: fallback}
    spec:
      ingressClassName: kafkube
      defaultBackend: {service: {name: beta, port: {number: 80}}}
    """)


async def bound_ports(process: ServiceProcess, timeout: float = 90) -> dict[str, int]:
    """The ports the controller's listeners got ({"http": ..., "https": ...}), from its log."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [json.loads(line) for line in process.logs().splitlines() if '"ingress.serving"' in line]
        found = {line["scheme"]: int(line["bound"][0].rpartition(":")[2]) for line in lines}
        if len(found) == 2:
            return found
        assert process.alive() and time.monotonic() < deadline, f"the controller never listened:\n{process.logs()[-3000:]}"
        await asyncio.sleep(0.5)


class Client:
    def __init__(self, session: aiohttp.ClientSession, ports: dict[str, int], ca: bytes) -> None:
        self.session, self.ports = session, ports
        self.tls = ssl.create_default_context(cadata=ca.decode())

    async def get(self, host: str, path: str, *, https: bool = False) -> tuple[int, str]:
        scheme = "https" if https else "http"
        url = f"{scheme}://127.0.0.1:{self.ports[scheme]}{path}"
        extra = {"ssl": self.tls, "server_hostname": host} if https else {}
        async with self.session.get(url, headers={"Host": host}, **extra) as answer:  # type: ignore[arg-type]
            return answer.status, await answer.text()

    async def until(self, host: str, path: str, status: int, body: str | None = None, *, https: bool = False,
                    timeout: float = 120) -> str:
        deadline, last = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            try:
                last = await self.get(host, path, https=https)
                if last[0] == status and (body is None or last[1].strip() == body):
                    return last[1]
            except (aiohttp.ClientError, ssl.SSLError) as exc:
                last = (0, repr(exc))
            await asyncio.sleep(0.5)
        raise AssertionError(f"{host}{path}: wanted {status} {body!r}, last answer {last}")


def get_json(settings: Settings, *args: str) -> dict[str, Any]:
    result = cli(settings, "get", *args, "-o", "json")
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


async def until_status(settings: Settings, name: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status = get_json(settings, "ingress", name).get("status") or {}
        if status:
            return dict(status)
        assert time.monotonic() < deadline, f"no status on ingress {name}"
        await asyncio.sleep(0.5)


async def test_ingress_routes_hosts_and_paths_to_real_pods_with_tls_and_status(
        settings: Settings, services: Callable[..., ServiceProcess], docker_ready: None,
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    node = f"ing-{secrets.token_hex(4)}"
    for variable, value in {"KAFKUBE_KUBELET_ROOT": str(tmp_path / "kubelet"), "KAFKUBE_RELIST_SECONDS": "0.5",
                       "KAFKUBE_RESYNC_SECONDS": "1", "KAFKUBE_INGRESS_HTTP_ADDRESS": "127.0.0.1:0",
                       "KAFKUBE_INGRESS_HTTPS_ADDRESS": "127.0.0.1:0",
                       "KAFKUBE_INGRESS_STATUS_ADDRESS": STATUS_IP}.items():
        monkeypatch.setenv(variable, value)
    for name in ("api", "endpoints"):
        services(name)
    ingress = services("ingress")
    kubelet = services("kubelet", "--node", node, "--runtime", "docker")
    cert, key = certificate(TLS_HOST)
    async with DockerRuntime(node) as runtime, aiohttp.ClientSession() as session:
        try:
            apply(settings, tmp_path, *manifests(node, cert, key))
            client = Client(session, await bound_ports(ingress), cert)
            # host and path routing to the two pods, through the Services' ready endpoints
            assert await client.until(TLS_HOST, "/", 200) == "alpha\n"
            assert await client.until(TLS_HOST, "/beta/", 200) == "beta\n"
            assert await client.until("x.b.example.com", "/exact", 200) == "beta-exact\n"
            # Exact is exact, a wildcard is one label, another class is not ours, no default yet: 404
            for host, path in (("x.b.example.com", "/exact/more"), ("b.example.com", "/exact"),
                               ("c.example.com", "/"), ("unknown.org", "/")):
                assert (await client.get(host, path))[0] == 404, (host, path)
            assert (await client.get(TLS_HOST, "/none"))[0] == 503  # a Service without ready endpoints
            # TLS by SNI with the Secret's certificate (verified against it), X-Forwarded-* to the pod
            env = await client.until(TLS_HOST, "/cgi-bin/env", 200, https=True)
            assert "HTTP_X_FORWARDED_PROTO=https" in env and "HTTP_X_FORWARDED_FOR=127.0.0.1" in env, env
            assert f"HTTP_X_FORWARDED_HOST={TLS_HOST}" in env and f"HTTP_HOST={TLS_HOST}" in env, env
            plain = await client.get(TLS_HOST, "/cgi-bin/env")
            assert "HTTP_X_FORWARDED_PROTO=http\n" in plain[1], plain
            # the default backend takes what no rule matches
            apply(settings, tmp_path, DEFAULT_BACKEND)
            assert await client.until("unknown.org", "/exact", 200) == "beta-exact\n"
            # status.loadBalancer of our Ingresses, none on the other class's
            assert await until_status(settings, "web") == {"loadBalancer": {"ingress": [{"ip": STATUS_IP}]}}
            assert not get_json(settings, "ingress", "theirs").get("status")
            table = cli(settings, "get", "ingress", "web").stdout
            assert re.search(rf"web\s+kafkube\s+{TLS_HOST},\*\.b\.example\.com\s+{STATUS_IP}\s+80, 443", table), table
        finally:
            kubelet.stop()  # first, or it would recreate what is removed below
            for container in await runtime.list_managed():
                await runtime.remove(container.id)
