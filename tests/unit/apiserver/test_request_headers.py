"""What a request carries to the API for its HTTP caller: their bearer token, or, for a
client-certificate caller, the apiserver's own token impersonating them."""

from __future__ import annotations

from schemas.auth import IMPERSONATE_GROUP_HEADER, IMPERSONATE_USER_HEADER, TOKEN_HEADER, UserInfo
from services.apiserver.auth import Caller, request_headers

JANE = UserInfo(username="jane", groups=("readers", "system:authenticated"))


def test_a_token_caller_carries_their_token_and_nothing_else() -> None:
    assert request_headers(Caller(JANE, "t-jane"), "t-apiserver") == [(TOKEN_HEADER, b"t-jane")]


def test_a_certificate_caller_is_impersonated_with_the_groups_the_certificate_names() -> None:
    assert request_headers(Caller(JANE, None), "t-apiserver") == [
        (TOKEN_HEADER, b"t-apiserver"), (IMPERSONATE_USER_HEADER, b"jane"), (IMPERSONATE_GROUP_HEADER, b"readers")]
    assert request_headers(Caller(JANE, None), None) == []  # no token of its own: the API answers Unauthorized
