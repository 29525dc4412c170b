"""Which bus keys this process holds: the key file `KAFKUBE_BUS_KEYS_FILE` names
(`Settings.bus_keys_file`), or the ring a whole-cluster process installed in memory
(`kafkube serve all` without a file: an ephemeral ring every component shares), or,
with `KAFKUBE_INSECURE_BUS=1` and neither, none at all (nothing signed, nothing
verified). Anything else is refused at start with an error naming the remedy. Called
by every service at construction (`bus_trust(settings)`) and by `kafkube serve`.
"""

from __future__ import annotations

import stat
from pathlib import Path

from pydantic import ValidationError

from services.runtime.config import Settings
from services.runtime.logging import get_logger
from services.runtime.signing import KeyRing
from services.runtime.trust import BusKeysError, BusTrust

log = get_logger(__name__)
ENV_FILE = "KAFKUBE_BUS_KEYS_FILE"
ENV_INSECURE = "KAFKUBE_INSECURE_BUS"
MISSING = (f"no bus keys: set {ENV_FILE} to this process's key file (`kafkube keys init DIR` writes "
           f"control-plane.json, and node-<name>.json with --node NAME), or {ENV_INSECURE}=1 to run "
           "without record signatures (anyone who reaches Kafka can then write cluster state)")

INSECURE = "insecure"
_installed: KeyRing | str | None = None
_rings: dict[str, KeyRing] = {}
_trusts: dict[tuple[str | None, str, bool], BusTrust] = {}


def install(ring: KeyRing | str | None) -> None:
    """The ring of every Settings without a key file in this process (None: forget it;
    INSECURE: no keys, nothing checked: unit tests that feed informers unsigned records)."""
    global _installed
    _installed = ring
    _trusts.clear()


def install_ephemeral() -> KeyRing:
    """A fresh control-plane ring for a process that is the whole cluster (`serve all`)."""
    ring = KeyRing.generate()
    install(ring)
    log.warning("bus.ephemeral_keys", detail="bus keys generated in memory: only components of this "
                "process trust each other's records; give other processes a key file (kafkube keys init)")
    return ring


def load_ring(path: str | Path) -> KeyRing:
    path = Path(path)
    try:
        ring = KeyRing.load(path)
        mode = path.stat().st_mode
    except OSError as exc:
        raise BusKeysError(f"{ENV_FILE}={path}: {exc.strerror or exc}") from exc
    except ValidationError as exc:
        raise BusKeysError(f"{ENV_FILE}={path}: not a bus key file: {exc.errors()[0]['msg']}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("bus.keys_readable_by_others", path=str(path), mode=oct(mode & 0o777))
    return ring


def bus_trust(settings: Settings) -> BusTrust:
    """This process's keys for `settings` (one per key file and prefix); raises
    BusKeysError when it has none and the bus is not declared insecure."""
    cache_key = (settings.bus_keys_file, settings.topic_prefix, settings.insecure_bus)
    trust = _trusts.get(cache_key)
    if trust is not None:
        return trust
    if settings.bus_keys_file:
        path = settings.bus_keys_file
        ring = _rings.get(path) or _rings.setdefault(path, load_ring(path))
    elif isinstance(_installed, KeyRing):
        ring = _installed
    elif _installed == INSECURE:
        ring = None
    elif settings.insecure_bus:
        log.warning("bus.insecure", detail=f"{ENV_INSECURE}=1: records are neither signed nor verified; "
                    "anyone who reaches Kafka can write desired and observed state")
        ring = None
    else:
        raise BusKeysError(MISSING)
    trust = _trusts[cache_key] = BusTrust(settings.topic_prefix, ring)
    return trust
