"""The typed actions the volume controller's pure reconciles plan and its executor
(`service.py`) carries out, one request, status record or event each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.controllers.machinery.writes import Target


@dataclass(frozen=True, slots=True)
class Patch:
    """A JSON merge patch of one object, valid against the resourceVersion decided on."""

    target: Target
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CreateVolume:
    """Create the PersistentVolume `body` (a provisioned volume, named `pvc-<claim uid>`)."""

    name: str
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Delete:
    target: Target


@dataclass(frozen=True, slots=True)
class SetStatus:
    """Write `status` on `kafkube.observed.<plural>` for the object `target`."""

    plural: str
    target: Target
    status: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Emit:
    """An Event about `involved`."""

    involved: Target
    reason: str
    message: str
    type: str = "Normal"


Action = Patch | CreateVolume | Delete | SetStatus | Emit

