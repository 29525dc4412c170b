"""Reading `-f FILE|DIR|-` into documents, as kubectl does (multi-document YAML,
JSON, `List` kinds expanded, directories in name order)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas.manifest import split_documents

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


class ManifestFileError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Document:
    origin: str  # the file it came from, for messages
    obj: dict[str, Any]


def read_documents(paths: tuple[str, ...], *, recursive: bool = False) -> list[Document]:
    docs: list[Document] = []
    for path in paths:
        for origin, payload in _payloads(path, recursive):
            docs += _parse(origin, payload)
    return docs


def _payloads(path: str, recursive: bool) -> list[tuple[str, bytes]]:
    if path == "-":
        return [("STDIN", sys.stdin.buffer.read())]
    p = Path(path)
    if p.is_dir():
        pattern = "**/*" if recursive else "*"
        files = sorted(f for f in p.glob(pattern) if f.suffix in MANIFEST_SUFFIXES and f.is_file())
        return [(str(f), f.read_bytes()) for f in files]
    if not p.exists():
        raise ManifestFileError(f'the path "{path}" does not exist')
    return [(path, p.read_bytes())]


def _parse(origin: str, payload: bytes) -> list[Document]:
    docs = []
    for result in split_documents(payload):
        if result.doc is None:
            raise ManifestFileError(f'error parsing {origin}: {result.error or "not an object"}')
        docs.append(Document(origin, result.doc))
    return docs
