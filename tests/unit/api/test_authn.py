"""Static token authentication: kube-apiserver's token file format, anonymous, bad tokens."""

from __future__ import annotations

import pytest

from schemas.auth import ANONYMOUS_USER, TOKEN_HEADER, UserInfo
from services.api.authn import Authenticator, TokenFile, TokenFileError, load_token_file, parse_token_file

FILE = 'tok-a,alice,u1,"dev,ops"\n# a comment\n\ntok-b,bob,u2\ntok-n,system:node:n1,n1,system:nodes\n'


def test_the_token_file_maps_tokens_to_users_with_their_groups() -> None:
    auth = Authenticator(parse_token_file(FILE))
    alice = auth.authenticate("tok-a")
    assert alice is not None and (alice.name, alice.uid) == ("alice", "u1")
    assert alice.groups == ("dev", "ops", "system:authenticated")
    bob = auth.authenticate("tok-b")
    assert bob is not None and bob.groups == ("system:authenticated",)
    node = auth.authenticate("tok-n")
    assert node is not None and node.node_name() == "n1"


def test_no_token_is_anonymous_and_a_wrong_token_is_refused() -> None:
    auth = Authenticator(parse_token_file(FILE))
    assert auth.authenticate(None) == ANONYMOUS_USER and auth.authenticate("") == ANONYMOUS_USER
    assert auth.authenticate("tok-c") is None and auth.authenticate("tok-a ") is None


def test_the_token_travels_in_the_record_header() -> None:
    auth = Authenticator(parse_token_file(FILE))
    user = auth.of_record([(TOKEN_HEADER, b"tok-b")])
    assert user is not None and user.name == "bob"
    assert auth.of_record(None) == ANONYMOUS_USER


def test_verifiers_are_asked_after_the_static_tokens() -> None:
    sa = UserInfo(username="system:serviceaccount:ns:sa", groups=("system:serviceaccounts",))
    auth = Authenticator({}, verifiers=(lambda token: sa if token == "jwt" else None,))
    assert auth.authenticate("jwt") == sa and auth.authenticate("other") is None


@pytest.mark.parametrize("text, problem", [
    ("tok,alice\n", "tokens.csv:1: expected token,user,uid[,groups]: found 2 fields"),
    ("a,alice,1\na,bob,2\n", "tokens.csv:2: duplicate token for user 'bob'"),
    (",alice,1\n", "tokens.csv:1: the token and the user name may not be empty"),
])
def test_a_bad_token_file_names_the_line(text: str, problem: str) -> None:
    with pytest.raises(TokenFileError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        parse_token_file(text, source="tokens.csv")


def test_a_missing_token_file_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TokenFileError, match="cannot read the token file"):
        load_token_file(tmp_path / "absent.csv")


def test_the_token_file_is_read_again_when_it_changes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "tokens.csv"
    path.write_text("tok-a,alice,u1\n")
    now = [0.0]
    auth = Authenticator(TokenFile(path, clock=lambda: now[0]))
    assert auth.authenticate("tok-b") is None
    path.write_text("tok-a,alice,u1\ntok-b,bob,u2\n")
    user = auth.authenticate("tok-b")  # an unknown token: the file is looked at again
    assert user is not None and user.name == "bob"
    path.write_text("tok-b,bob,u2\n")
    assert auth.authenticate("tok-a") is not None  # known tokens: checked once a second
    now[0] = 1.5
    assert auth.authenticate("tok-a") is None  # revoked
    path.unlink()
    now[0] = 3.0
    assert auth.authenticate("tok-b") is not None  # a file being replaced keeps the old tokens
