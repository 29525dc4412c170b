"""`kafkube init` writes a cluster's credentials; the CLI's config resolves contexts under the environment."""

from __future__ import annotations

import stat
from pathlib import Path

from services.api.authn import Authenticator, load_token_file
from services.cli.config import ConfigError, cli_settings, load_config
from services.cli.credentials import init_credentials


def test_init_writes_tokens_the_api_accepts_and_an_admin_config(tmp_path: Path) -> None:
    admin = init_credentials(tmp_path / "c", nodes=["n1"], bootstrap_servers="b:1", topic_prefix="p.")
    auth = Authenticator(load_token_file(tmp_path / "c" / "tokens.csv"))
    token = (tmp_path / "c" / "tokens" / "admin.token").read_text().strip()
    user = auth.authenticate(token)
    assert user is not None and user.name == "kubernetes-admin" and "system:masters" in user.groups
    node = auth.authenticate((tmp_path / "c" / "tokens" / "node-n1.token").read_text().strip())
    assert node is not None and node.node_name() == "n1"
    for path in [admin, tmp_path / "c" / "tokens.csv", *(tmp_path / "c" / "tokens").iterdir()]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    settings = cli_settings({"KAFKUBE_CONFIG": str(admin)})
    assert (settings.bootstrap_servers, settings.topic_prefix, settings.token) == ("b:1", "p.", token)


def test_init_again_keeps_every_token_and_adds_nodes(tmp_path: Path) -> None:
    init_credentials(tmp_path, nodes=["n1"], bootstrap_servers="b:1")
    before = (tmp_path / "tokens.csv").read_text()
    init_credentials(tmp_path, nodes=["n2"], bootstrap_servers="b:1")
    after = (tmp_path / "tokens.csv").read_text()
    assert set(before.splitlines()) < set(after.splitlines())
    assert "system:node:n2" in after and "system:node:n1" in after


def test_the_environment_wins_over_the_config_file(tmp_path: Path) -> None:
    admin = init_credentials(tmp_path, nodes=[], bootstrap_servers="b:1")
    env = {"KAFKUBE_CONFIG": str(admin), "KAFKA_BOOTSTRAP_SERVERS": "other:2", "KAFKUBE_TOKEN": "mine"}
    settings = cli_settings(env)
    assert (settings.bootstrap_servers, settings.token) == ("other:2", "mine")


def test_a_broken_config_is_reported_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("contexts: 5\n")
    try:
        load_config(path)
    except ConfigError as exc:
        assert str(exc).startswith(f"{path}: not a valid Kafkube config")
    else:
        raise AssertionError("a broken config must be refused")
    assert load_config(tmp_path / "none") is None
