"""The multi-workspace install (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET): Bolt's OAuth pages against
the fake Slack Web API, installations in the app's database, each workspace answered with its own
bot token, token rotation, and app_uninstalled / tokens_revoked deleting a workspace's
installation and data (and nothing of another workspace's)."""

from __future__ import annotations

import html
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import yaml
from sqlalchemy.exc import OperationalError

from bot.settings import Settings
from bot.slack.app import DEFAULT_BOT_SCOPES, finish_work
from bot.slack.serving.wsgi import INSTALL_FAILED_PAGE, SlackWsgiApp, create_wsgi_app
from bot.store import Store, create_store
from tests.support.fake_slack import FakeSlack
from tests.support.postgres import FlakyPostgres, schema_url
from tests.support.slack_fixtures import SIGNING_SECRET, Post
from tests.support.slack_requests import (
    Response,
    app_mention,
    app_uninstalled,
    call_wsgi,
    http_request,
    prepare,
    tokens_revoked,
)
from tests.support.waiting import eventually
from tests.support.web_process import WebProcess

CLIENT_ID = "1111111111.2222222222"
CLIENT_SECRET = "fake-client-secret"
ONE, TWO = "T0ONE", "T0TWO"
ONE_TOKEN, TWO_TOKEN = "xoxb-test-one", "xoxb-test-two"
MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"
STATE_COOKIE = "slack-app-oauth-state"
AUTHORIZE_URL = re.compile(r'href="(https://slack\.com/oauth/v2/authorize\?[^"]*)"')
SINCE = datetime.now(UTC) - timedelta(days=1)


# -- databases --------------------------------------------------------------------------------


POSTGRESQL = pytest.param("postgresql", marks=pytest.mark.slow)
"""The PostgreSQL case of a test parametrized by `backend`: it reaches PostgreSQL, so it is in
the slow tier (as tests/store/conftest.py's backends are)."""


@pytest.fixture
def backend() -> str:
    """The database under the app; tests parametrize it to run on PostgreSQL too."""
    return "sqlite"


@pytest.fixture
def oauth_store(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, migrated_store_dir: Path
) -> Iterator[Store]:
    url = None
    if backend == "sqlite":
        shutil.copytree(migrated_store_dir, tmp_path / "store")
    if backend == "postgresql":
        server = request.getfixturevalue("postgres_url")
        url = schema_url(server, request.getfixturevalue("postgres_schema"))
    store = create_store(url, tmp_path / "store")
    yield store
    store.close()


# -- the app ----------------------------------------------------------------------------------


@pytest.fixture
def oauth_settings(fake_slack: FakeSlack) -> Settings:
    """OAuth install credentials and no bot token, Web API calls going to `fake_slack`."""
    return Settings(
        slack_bot_token=None,
        slack_app_token=None,
        slack_signing_secret=SIGNING_SECRET,
        slack_client_id=CLIENT_ID,
        slack_client_secret=CLIENT_SECRET,
        slack_api_url=fake_slack.base_url,
    )


@pytest.fixture
def app(oauth_settings: Settings, oauth_store: Store, fake_slack: FakeSlack) -> SlackWsgiApp:
    fake_slack.expect_oauth_client(CLIENT_ID, CLIENT_SECRET)
    wsgi_app = create_wsgi_app(oauth_settings, store=oauth_store)
    assert isinstance(wsgi_app, SlackWsgiApp)
    return wsgi_app


def get(app: SlackWsgiApp, path: str, **query: str) -> Response:
    cookie = query.pop("cookie", None)
    url = f"{path}?{urlencode(query)}" if query else path
    return call_wsgi(app, "GET", url, headers={"Cookie": cookie} if cookie else None)


def state_cookie(response: Response) -> tuple[str, str]:
    """(the Cookie header to send back, the state in it) from the install page's Set-Cookie."""
    cookie = response.headers["set-cookie"].split(";")[0]
    name, _, state = cookie.partition("=")
    assert name == STATE_COOKIE
    return cookie, state


def install(
    app: SlackWsgiApp, fake: FakeSlack, team_id: str, bot_token: str, **rotation: Any
) -> Response:
    """A person installs the app into `team_id` through the two pages, and Slack grants
    `bot_token` (with `refresh_token` and `expires_in`, a rotating one)."""
    cookie, state = state_cookie(get(app, "/slack/install"))
    code = f"code-{team_id}-{bot_token}"
    fake.grant(code, team_id=team_id, bot_token=bot_token, **rotation)
    return get(app, "/slack/oauth_redirect", code=code, state=state, cookie=cookie)


def send(app: SlackWsgiApp, payload: dict[str, Any]) -> Response:
    body, headers = prepare("event", payload, secret=SIGNING_SECRET)
    return call_wsgi(app, "POST", "/slack/events", body, headers)


def mention_from(team_id: str, text: str = "<@U0BOT> what is django?") -> dict[str, Any]:
    """An app_mention from a user of workspace `team_id`."""
    payload = app_mention(text)
    payload["team_id"] = payload["event"]["team"] = team_id
    for authorization in payload["authorizations"]:
        authorization["team_id"] = team_id
    return payload


def mention(app: SlackWsgiApp, team_id: str, text: str = "<@U0BOT> what is django?") -> Response:
    return send(app, mention_from(team_id, text))


def installed_bot_token(app: SlackWsgiApp, team_id: str) -> str | None:
    store = app.app.installation_store
    assert store is not None
    bot = store.find_bot(enterprise_id=None, team_id=team_id)
    return bot.bot_token if bot is not None else None


def questions(store: Store, team_id: str) -> int:
    return store.stats(team_id, SINCE).questions


def finish_listeners(app: SlackWsgiApp) -> None:
    """Wait until every listener the app started has run (this test's app is its own)."""
    finish_work(app.app)


def answered_tokens(fake: FakeSlack) -> list[str | None]:
    return [call.token for call in fake.calls_to("chat.postMessage")]


# -- the install pages ------------------------------------------------------------------------


def test_the_install_page_sets_a_state_cookie_and_links_to_slacks_authorize_page(
    app: SlackWsgiApp,
) -> None:
    response = get(app, "/slack/install")

    assert response.status == 200
    _, state = state_cookie(response)
    assert "HttpOnly" in response.headers["set-cookie"]
    link = urlsplit(html.unescape(AUTHORIZE_URL.search(response.body).group(1)))
    query = parse_qs(link.query)
    assert query["client_id"] == [CLIENT_ID]
    assert query["scope"] == [",".join(DEFAULT_BOT_SCOPES)]
    assert query["state"] == [state]


def test_slack_scopes_replaces_the_requested_scopes(
    oauth_settings: Settings, oauth_store: Store
) -> None:
    settings = oauth_settings.model_copy(update={"slack_scopes": "chat:write, commands"})

    page = get(create_wsgi_app(settings, store=oauth_store), "/slack/install")

    link = html.unescape(AUTHORIZE_URL.search(page.body).group(1))
    assert parse_qs(urlsplit(link).query)["scope"] == ["chat:write,commands"]


def test_the_default_scopes_are_the_manifests_bot_scopes() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))

    assert list(DEFAULT_BOT_SCOPES) == manifest["oauth_config"]["scopes"]["bot"]


def test_the_redirect_url_of_the_manifest_is_the_apps_redirect_page(app: SlackWsgiApp) -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    flow = app.app.oauth_flow
    assert flow is not None

    assert manifest["oauth_config"]["redirect_urls"] == [
        f"https://YOUR-HOST.example.com{flow.redirect_uri_path}"
    ]
    assert (flow.install_path, flow.redirect_uri_path) == (
        "/slack/install",
        "/slack/oauth_redirect",
    )


@pytest.mark.parametrize("path", ["/slack/install", "/slack/oauth_redirect"])
def test_the_install_pages_answer_only_get(app: SlackWsgiApp, path: str) -> None:
    response = call_wsgi(app, "POST", path, b"code=x")

    assert response.status == 405
    assert response.headers["allow"] == "GET"


@pytest.mark.parametrize("path", ["/slack/install", "/slack/oauth_redirect"])
def test_without_the_oauth_credentials_the_install_pages_do_not_exist(
    wsgi_app: SlackWsgiApp, path: str
) -> None:
    assert call_wsgi(wsgi_app, "GET", f"{path}?code=c&state=s").status == 404


# -- installing and answering ------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", POSTGRESQL])
def test_an_installed_workspace_is_answered_with_the_bot_token_of_its_installation(
    app: SlackWsgiApp, fake_slack: FakeSlack, oauth_store: Store
) -> None:
    page = install(app, fake_slack, ONE, ONE_TOKEN)

    assert page.status == 200
    assert "Thank you!" in page.body
    [exchange] = fake_slack.calls_to("oauth.v2.access")
    assert exchange.ok
    assert exchange.params["code"] == f"code-{ONE}-{ONE_TOKEN}"
    assert exchange.client_credentials == (CLIENT_ID, CLIENT_SECRET)
    assert installed_bot_token(app, ONE) == ONE_TOKEN

    assert mention(app, ONE).status == 200

    [reply] = fake_slack.wait_for("chat.postMessage")
    assert reply.token == ONE_TOKEN
    eventually(lambda: questions(oauth_store, ONE) == 1, "recording the question")


def test_a_workspace_that_never_installed_the_app_gets_no_answer_and_no_error(
    app: SlackWsgiApp, fake_slack: FakeSlack, oauth_store: Store
) -> None:
    install(app, fake_slack, ONE, ONE_TOKEN)

    response = mention(app, "T0STRANGER")

    assert response.status == 200
    finish_listeners(app)
    assert fake_slack.calls_to("chat.postMessage") == []
    assert questions(oauth_store, "T0STRANGER") == 0


def test_two_workspaces_are_each_answered_with_their_own_token_and_count_only_their_questions(
    app: SlackWsgiApp, fake_slack: FakeSlack, oauth_store: Store
) -> None:
    install(app, fake_slack, ONE, ONE_TOKEN)
    install(app, fake_slack, TWO, TWO_TOKEN)

    mention(app, ONE)
    fake_slack.wait_for("chat.postMessage", 1)
    mention(app, TWO)
    fake_slack.wait_for("chat.postMessage", 2)
    mention(app, ONE, "<@U0BOT> is flask good for a small api?")
    fake_slack.wait_for("chat.postMessage", 3)

    assert answered_tokens(fake_slack) == [ONE_TOKEN, TWO_TOKEN, ONE_TOKEN]
    eventually(lambda: questions(oauth_store, ONE) == 2, "recording ONE's questions")
    eventually(lambda: questions(oauth_store, TWO) == 1, "recording TWO's question")


# -- leaving ----------------------------------------------------------------------------------

LEAVING = {
    "app_uninstalled": lambda team: app_uninstalled(team),
    "tokens_revoked": lambda team: tokens_revoked(team),
}


@pytest.mark.parametrize(
    ("event", "backend"),
    [
        ("app_uninstalled", "sqlite"),
        ("tokens_revoked", "sqlite"),
        pytest.param("app_uninstalled", "postgresql", marks=pytest.mark.slow),
    ],
)
def test_leaving_deletes_that_workspaces_installation_and_questions_and_keeps_the_others(
    app: SlackWsgiApp, fake_slack: FakeSlack, oauth_store: Store, event: str
) -> None:
    install(app, fake_slack, ONE, ONE_TOKEN)
    install(app, fake_slack, TWO, TWO_TOKEN)
    mention(app, ONE)
    mention(app, TWO)
    fake_slack.wait_for("chat.postMessage", 2)
    eventually(lambda: questions(oauth_store, ONE) == 1, "recording ONE's question")
    eventually(lambda: questions(oauth_store, TWO) == 1, "recording TWO's question")

    assert send(app, LEAVING[event](ONE)).status == 200

    eventually(lambda: installed_bot_token(app, ONE) is None, "deleting ONE's installation")
    assert questions(oauth_store, ONE) == 0
    assert installed_bot_token(app, TWO) == TWO_TOKEN
    assert questions(oauth_store, TWO) == 1
    fake_slack.reset()
    assert mention(app, ONE).status == 200
    assert mention(app, TWO).status == 200
    fake_slack.wait_for("chat.postMessage")
    finish_listeners(app)
    assert answered_tokens(fake_slack) == [TWO_TOKEN]


def test_revoking_only_user_tokens_keeps_the_installation(
    app: SlackWsgiApp, fake_slack: FakeSlack, oauth_store: Store
) -> None:
    install(app, fake_slack, ONE, ONE_TOKEN)
    mention(app, ONE)
    fake_slack.wait_for("chat.postMessage")
    eventually(lambda: questions(oauth_store, ONE) == 1, "recording the question")

    assert send(app, tokens_revoked(ONE, bot_users=())).status == 200

    finish_listeners(app)
    assert installed_bot_token(app, ONE) == ONE_TOKEN
    assert questions(oauth_store, ONE) == 1


# -- failures ---------------------------------------------------------------------------------


def _no_cookie(app: SlackWsgiApp) -> dict[str, str]:
    _, state = state_cookie(get(app, "/slack/install"))
    return {"state": state}


def _other_browser(app: SlackWsgiApp) -> dict[str, str]:
    _, state = state_cookie(get(app, "/slack/install"))
    cookie, _ = state_cookie(get(app, "/slack/install"))
    return {"state": state, "cookie": cookie}


def _never_issued(app: SlackWsgiApp) -> dict[str, str]:
    state = str(uuid.uuid4())
    return {"state": state, "cookie": f"{STATE_COOKIE}={state}"}


def _used_twice(app: SlackWsgiApp) -> dict[str, str]:
    cookie, state = state_cookie(get(app, "/slack/install"))
    get(app, "/slack/oauth_redirect", code="first", state=state, cookie=cookie)
    return {"state": state, "cookie": cookie}


BAD_STATES: dict[str, Callable[[SlackWsgiApp], dict[str, str]]] = {
    "no state at all": lambda app: {},
    "no cookie": _no_cookie,
    "another browser's cookie": _other_browser,
    "a state never issued": _never_issued,
    "a state already used": _used_twice,
}


@pytest.mark.parametrize("bad_state", BAD_STATES.values(), ids=BAD_STATES.keys())
def test_a_redirect_without_a_valid_state_gets_the_failure_page_and_installs_nothing(
    app: SlackWsgiApp,
    fake_slack: FakeSlack,
    bad_state: Callable[[SlackWsgiApp], dict[str, str]],
) -> None:
    query = bad_state(app)
    fake_slack.grant("stolen", team_id=TWO, bot_token=TWO_TOKEN)

    page = get(app, "/slack/oauth_redirect", code="stolen", **query)

    assert page.status in {400, 401}
    assert "Oops, Something Went Wrong!" in page.body
    assert [call.params.get("code") for call in fake_slack.calls_to("oauth.v2.access")] in (
        [],
        ["first"],
    )
    assert installed_bot_token(app, TWO) is None


def test_a_code_slack_refuses_gets_the_failure_page_and_installs_nothing(
    app: SlackWsgiApp, fake_slack: FakeSlack
) -> None:
    fake_slack.fail_next("oauth.v2.access", error="invalid_code")

    page = install(app, fake_slack, ONE, ONE_TOKEN)

    assert page.status == 401
    assert "Oops, Something Went Wrong!" in page.body
    assert installed_bot_token(app, ONE) is None


def test_a_database_failure_while_installing_is_a_400_page_not_a_500(
    app: SlackWsgiApp, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    def database_down(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("INSERT", {}, Exception("connection refused"))

    store = app.app.installation_store
    assert store is not None
    monkeypatch.setattr(store, "save", database_down)

    page = install(app, fake_slack, ONE, ONE_TOKEN)

    assert page.status == 400
    assert page.body == INSTALL_FAILED_PAGE.decode()


# -- token rotation ---------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", POSTGRESQL])
def test_a_rotating_token_about_to_expire_is_refreshed_and_the_new_one_answers(
    app: SlackWsgiApp, fake_slack: FakeSlack
) -> None:
    install(app, fake_slack, ONE, ONE_TOKEN, refresh_token="xoxe-1-test-refresh", expires_in=600)

    mention(app, ONE)

    [reply] = fake_slack.wait_for("chat.postMessage")
    refresh = fake_slack.calls_to("oauth.v2.access")[-1]
    assert refresh.params["grant_type"] == "refresh_token"
    assert refresh.params["refresh_token"] == "xoxe-1-test-refresh"
    assert refresh.client_credentials == (CLIENT_ID, CLIENT_SECRET)
    rotated = refresh.response["access_token"]
    assert rotated != ONE_TOKEN
    assert reply.token == rotated
    assert installed_bot_token(app, ONE) == rotated

    mention(app, ONE)

    fake_slack.wait_for("chat.postMessage", 2)
    assert answered_tokens(fake_slack) == [rotated, rotated]
    assert len(fake_slack.calls_to("oauth.v2.access")) == 2


def test_a_token_far_from_expiry_is_used_as_it_is(app: SlackWsgiApp, fake_slack: FakeSlack) -> None:
    install(app, fake_slack, ONE, ONE_TOKEN, refresh_token="xoxe-1-test-refresh", expires_in=43200)

    mention(app, ONE)

    [reply] = fake_slack.wait_for("chat.postMessage")
    assert reply.token == ONE_TOKEN
    assert len(fake_slack.calls_to("oauth.v2.access")) == 1


# -- a database outage ------------------------------------------------------------------------


def test_installed_workspaces_are_still_answered_while_the_database_is_down(
    oauth_settings: Settings, fake_slack: FakeSlack, flaky_postgres: FlakyPostgres, tmp_path: Path
) -> None:
    """Tokens live in the database, the knowledge in memory: a workspace seen before the outage
    keeps its answers; one never seen cannot be answered (its token is out of reach)."""
    store = create_store(flaky_postgres.url, tmp_path / "store", retry_interval=60.0)
    fake_slack.expect_oauth_client(CLIENT_ID, CLIENT_SECRET)
    app = create_wsgi_app(oauth_settings, store=store)
    assert isinstance(app, SlackWsgiApp)
    install(app, fake_slack, ONE, ONE_TOKEN)
    install(app, fake_slack, TWO, TWO_TOKEN)
    assert mention(app, ONE).status == 200
    fake_slack.wait_for("chat.postMessage")

    flaky_postgres.cut()
    answers = [mention(app, ONE, f"<@U0BOT> what is django? ({number})") for number in range(3)]
    assert mention(app, TWO).status == 200

    assert [response.status for response in answers] == [200, 200, 200]
    finish_listeners(app)
    assert answered_tokens(fake_slack) == [ONE_TOKEN] * 4
    flaky_postgres.restore()
    assert store.flush() is True
    assert questions(store, ONE) == 4
    store.close()


# -- the Procfile's web process ---------------------------------------------------------------


@pytest.mark.slow
def test_the_web_process_installs_through_any_worker_and_answers_with_the_installed_token(
    fake_slack: FakeSlack, post: Post, tmp_path: Path
) -> None:
    fake_slack.expect_oauth_client(CLIENT_ID, CLIENT_SECRET)
    fake_slack.grant("web-code", team_id=ONE, bot_token=ONE_TOKEN)
    env = {
        "DATA_DIR": str(tmp_path),
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.base_url,
        "WEB_CONCURRENCY": "2",
    }
    with WebProcess(env) as web:
        page = http_request(f"{web.url}/slack/install")
        cookie = page.headers["set-cookie"].split(";")[0]
        state = cookie.partition("=")[2]
        query = urlencode({"code": "web-code", "state": state})
        done = http_request(f"{web.url}/slack/oauth_redirect?{query}", headers={"Cookie": cookie})

        assert (page.status, done.status) == (200, 200)
        assert post(web.url, "event", mention_from(ONE)).status == 200
        [reply] = fake_slack.wait_for("chat.postMessage")
        assert reply.token == ONE_TOKEN
        assert "Traceback" not in web.output()
