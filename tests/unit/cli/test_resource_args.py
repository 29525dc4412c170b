"""kubectl's ways of naming objects on the command line, resolved to kinds."""

from __future__ import annotations

import pytest

from schemas.registry import NoKindMatch
from services.cli.resource_args import MIXED, ResourceArgsError, kind_and_name, kinds_and_names


def plurals(args: list[str]) -> tuple[list[str], tuple[str, ...]]:
    kinds, names = kinds_and_names(args)
    return [k.plural for k in kinds], names


def test_type_and_names_and_type_slash_name_name_the_same_objects() -> None:
    assert plurals(["deploy", "web", "api"]) == (["deployments"], ("web", "api"))
    assert plurals(["deploy/web", "deployments.apps/api"]) == (["deployments"], ("web", "api"))
    assert plurals(["po,svc"]) == (["pods", "services"], ())
    assert kind_and_name(["cm/settings"])[1] == "settings" and kind_and_name(["cm", "settings"])[1] == "settings"


@pytest.mark.parametrize("args", [["deploy", "web/x"], ["deploy/"], ["/web"], ["deploy/web", "svc/x"], []])
def test_mixed_or_incomplete_forms_are_usage_errors(args: list[str]) -> None:
    with pytest.raises(ResourceArgsError):
        kinds_and_names(args)


def test_the_mixed_form_gets_kubectls_message_and_unknown_types_the_servers() -> None:
    with pytest.raises(ResourceArgsError, match="no need to specify a resource type") as mixed:
        kinds_and_names(["deploy", "deploy/web"])
    assert str(mixed.value) == MIXED
    with pytest.raises(NoKindMatch, match='the server doesn\'t have a resource type "gizmos"'):
        kinds_and_names(["gizmos/x"])
    with pytest.raises(ResourceArgsError):
        kind_and_name(["cm", "a", "b"])
