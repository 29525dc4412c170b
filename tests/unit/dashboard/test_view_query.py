"""Any query a browser can send to a view is answered: the view, or a 400/403/404 Status
naming the problem; never an exception (hypothesis over the views' query strings)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from hypothesis import given, strategies as st

from schemas.auth import UserInfo
from services.apiserver.auth import Caller
from services.dashboard.app import VIEWS, Dashboard, view_payload
from services.dashboard.feed import PLURALS
from services.dashboard.sessions import Sessions
from services.dashboard.timeline import Entry, Timeline

VIEWER = Caller(UserInfo(username="jane", groups=()), "token")


class Door:
    """jane may list everything but nodes."""

    def allowed(self, _caller: Caller, attrs: Any) -> tuple[bool, str]:
        return attrs.resource != "nodes", ""

    def forbidden(self, caller: Caller, attrs: Any) -> str | None:
        return None if self.allowed(caller, attrs)[0] else f'{attrs.resource} is forbidden: User "{caller.user.name}"'


class Held:
    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline

        class Log:
            @staticmethod
            def events() -> list[dict[str, Any]]:
                return [{"metadata": {"namespace": "default"}, "reason": "Started", "involvedObject": {}}]
        self.log = Log


def dashboard() -> Dashboard:
    timeline = Timeline(PLURALS)
    timeline.add(Entry(1000, "pods", "desired", "default/a", {"metadata": {"name": "a", "namespace": "default"}}))
    held = Held(timeline)
    return Dashboard(None, held, held, Door(), None, Sessions())  # type: ignore[arg-type]


DASHBOARD = dashboard()


@given(st.one_of(st.sampled_from(sorted(VIEWS)), st.text(max_size=10)),
       st.dictionaries(st.sampled_from(["at", "page", "q", "x"]), st.text(max_size=12), max_size=4))
def test_any_view_query_is_a_view_or_a_status(name: str, query: dict[str, str]) -> None:
    answer = view_payload(DASHBOARD, VIEWER, name, query)
    if isinstance(answer, web.Response):
        assert answer.status in (400, 403, 404)
    else:
        assert answer["view"] == name


def test_refusals_and_the_past() -> None:
    refused = view_payload(DASHBOARD, VIEWER, "nodes", {})
    assert isinstance(refused, web.Response) and refused.status == 403
    bad = view_payload(DASHBOARD, VIEWER, "pods", {"at": "yesterday"})
    assert isinstance(bad, web.Response) and bad.status == 400
    before = view_payload(DASHBOARD, VIEWER, "pods", {"at": "999"})
    now = view_payload(DASHBOARD, VIEWER, "pods", {})
    assert isinstance(before, dict) and isinstance(now, dict)
    assert before["items"]["total"] == 0 and now["items"]["total"] == 1 and now["bounds"] == (1000, 1000)
