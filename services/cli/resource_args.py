"""kubectl's forms of naming objects on the command line: `TYPE[,TYPE...] [NAME...]` or
`TYPE/NAME [TYPE/NAME...]` (one type), resolved to kinds. An unknown type is the
registry's NoKindMatch (kubectl's wording); a mix of the two forms is a usage error with
kubectl's message. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from schemas.registry import KindInfo, resolve_resource


class ResourceArgsError(ValueError):
    """Arguments that name no objects the way kubectl reads them."""


MIXED = ("there is no need to specify a resource type as a separate argument when passing arguments in "
         "resource/name form (e.g. 'kafkube get resource/<resource_name>' instead of "
         "'kafkube get resource resource/<resource_name>')")


def kinds_and_names(args: Sequence[str]) -> tuple[list[KindInfo], tuple[str, ...]]:
    if not args:
        raise ResourceArgsError("you must specify the type of resource to get")
    if "/" not in args[0]:
        if any("/" in a for a in args[1:]):
            raise ResourceArgsError(MIXED)
        return [resolve_resource(r) for r in args[0].split(",") if r], tuple(args[1:])
    pairs = [a.partition("/") for a in args]
    if any(not sep or not kind or not name for kind, sep, name in pairs):
        raise ResourceArgsError(MIXED)
    kinds = {resolve_resource(kind).plural: resolve_resource(kind) for kind, _, _ in pairs}
    if len(kinds) > 1:
        raise ResourceArgsError("name objects of one resource type at a time (TYPE/NAME TYPE/NAME)")
    return list(kinds.values()), tuple(name for _, _, name in pairs)


def kind_and_name(args: Sequence[str]) -> tuple[KindInfo, str]:
    """Exactly one object: `TYPE NAME` or `TYPE/NAME`."""
    kinds, names = kinds_and_names(args)
    if len(kinds) != 1 or len(names) != 1:
        raise ResourceArgsError("name exactly one object: TYPE NAME or TYPE/NAME")
    return kinds[0], names[0]
