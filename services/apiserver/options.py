"""The apiserver's own settings, from the environment: where it listens
(`KAFKUBE_APISERVER_ADDRESS`, default `127.0.0.1:6443`) and its TLS certificate and key
(`KAFKUBE_APISERVER_CERT_FILE`, `KAFKUBE_APISERVER_KEY_FILE`; `kafkube init` writes
`apiserver.crt`/`apiserver.key`, signed by the cluster CA `ca.crt`), and the CA whose
client certificates authenticate their callers (`KAFKUBE_APISERVER_CLIENT_CA_FILE`,
kube-apiserver's `--client-ca-file`; none: bearer tokens only). Used by
`kafkube serve apiserver` and `kafkube config kubeconfig`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict

DEFAULT_ADDRESS = "127.0.0.1:6443"


class NoCertificate(ValueError):
    """The apiserver serves HTTPS only: its certificate and key must be configured."""


class ApiServerOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    address: str = DEFAULT_ADDRESS
    cert_file: str | None = None
    key_file: str | None = None
    client_ca_file: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ApiServerOptions:
        env = os.environ if env is None else env
        return cls(address=env.get("KAFKUBE_APISERVER_ADDRESS") or DEFAULT_ADDRESS,
                   cert_file=env.get("KAFKUBE_APISERVER_CERT_FILE") or None,
                   key_file=env.get("KAFKUBE_APISERVER_KEY_FILE") or None,
                   client_ca_file=env.get("KAFKUBE_APISERVER_CLIENT_CA_FILE") or None)

    def with_credentials_of(self, directory: Path) -> ApiServerOptions:
        """These options, with `kafkube init DIR`'s certificate, key and CA where none is set."""
        return self.model_copy(update={"cert_file": self.cert_file or str(directory / "apiserver.crt"),
                                       "key_file": self.key_file or str(directory / "apiserver.key"),
                                       "client_ca_file": self.client_ca_file or str(directory / "ca.crt")})

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = self.address.rpartition(":")
        return host.strip("[]") or "127.0.0.1", int(port)

    @property
    def url(self) -> str:
        host, port = self.host_port
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else f"[{host}]" if ":" in host else host
        return f"https://{shown}:{port}"
