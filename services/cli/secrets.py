"""Secret values in the CLI.

`kafkube apply` never puts a Secret's values in clear on `kafkube.manifests`: before
publishing, it asks the API for its manifest key (a `SealingKeyReview`, once per
command) and seals every value of each Secret's `data` and `stringData` for it
(services/runtime/manifest_sealing.py), bound to the Secret's namespace, name and key.
An API without an encryption configuration has no such key (it answers NotFound and
stores values as sent): then the values go as written, and `kafkube apply` says so.

`kafkube get secret -o yaml|json` shows the values, as kubectl does: a Secret stored
encrypted is asked of the API (a `SecretRequest`, answered sealed for a one-off X25519
key of this command, after RBAC's `get secrets`)."""

from __future__ import annotations

from typing import Any

import click

from services.cli.client import Client
from services.cli.files import Document
from services.runtime.manifest_sealing import seal_data, sealing_key_of, sealing_key_request
from services.runtime.sealing import Recipient
from services.runtime.secret_requests import SecretReadError, answer_data, secret_request
from services.runtime.secret_values import has_encrypted_data



def _is_secret(obj: dict[str, Any]) -> bool:
    return (obj.get("apiVersion"), obj.get("kind")) == ("v1", "Secret") and bool(obj.get("data") or obj.get("stringData"))


async def sealing_key(client: Client, timeout_s: float) -> str | None:
    """The API's manifest public key (base64), or None when the API stores values as sent."""
    answer = await client.request(sealing_key_request(writer="cli"), timeout_s=timeout_s)
    if answer is None:
        raise click.ClickException(f"the API did not answer for its sealing key within {timeout_s:.0f}s: "
                                   "Secret values are never sent in clear to an API that may encrypt them")
    if answer.status_reason == "NotFound":
        return None
    if answer.reason == "Rejected":
        raise click.ClickException(f"the API refused its sealing key ({answer.status_reason}): {answer.message}")
    return sealing_key_of(answer.event)


async def sealed(client: Client, docs: list[Document], timeout_s: float) -> list[Document]:
    """The documents with every Secret's values sealed for the API."""
    if not any(_is_secret(d.obj) for d in docs):
        return docs
    key = await sealing_key(client, timeout_s)
    if key is None:
        click.echo("warning: the API does not encrypt Secrets (no KAFKUBE_ENCRYPTION_CONFIG): their values "
                   "are sent and stored as written", err=True)
        return docs
    out = []
    for doc in docs:
        if _is_secret(doc.obj):
            meta = doc.obj.get("metadata") if isinstance(doc.obj.get("metadata"), dict) else {}
            namespace = str((meta or {}).get("namespace") or "default")
            doc = Document(doc.origin, seal_data(doc.obj, key, namespace))
        out.append(doc)
    return out


async def opened(client: Client, objs: list[dict[str, Any]], timeout_s: float = 30.0) -> list[dict[str, Any]]:
    """The Secrets with their encrypted values opened by the API (each refusal printed, the object kept as stored)."""
    out = []
    for obj in objs:
        if has_encrypted_data(obj):
            meta = obj.get("metadata") or {}
            recipient = Recipient()
            request = secret_request(str(meta.get("namespace") or "default"), str(meta.get("name") or ""),
                                     writer="cli", principal="", recipient=recipient)
            answer = await client.request(request, timeout_s=timeout_s)
            try:
                if answer is None:
                    raise SecretReadError(f'secret "{request.name}": the API did not answer within {timeout_s:.0f}s')
                obj = {**obj, "data": answer_data(answer.event, request, recipient=recipient)}
            except SecretReadError as exc:
                click.echo(f"warning: {exc}: its values are shown as stored (encrypted)", err=True)
        out.append(obj)
    return out
