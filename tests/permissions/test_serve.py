"""`make serve` (issue 25, step 4): Debian's nginx over a temporary tree of two audience sites and two customers'
statements, asked with a real HTTP client (and Chromium): 401 without credentials or with a wrong password, 200 with
the path's own user, 403 with any other user, no directory listing, nothing named on the root page."""

from __future__ import annotations

import base64
import http.client
import os
import shutil
import stat
import subprocess
import time
import tomllib
from pathlib import Path

import pytest
from permissions_support import running_nginx

from flexpower_dagster.defs.permissions import serve
from flexpower_dagster.lib.customers import customer_slug
from flexpower_dagster.settings import PROJECT_ROOT, serve_port

#: the tests of the running server start nginx in another process (pyproject.toml: markers); the Chromium test is also
#: `browser` (tests/conftest.py). The configuration's tests run in `make test-fast`.
e2e = pytest.mark.e2e

ALICE = customer_slug("alice@solar.example")
BOB = customer_slug("Bob.Wind@wind.example")
AUDIENCES = ["trading", "finance"]
#: path -> (owner, file under the temporary data dir it serves)
FILES = {
    "/trading/": ("trading", "sites/trading/index.html"),
    "/trading/desk/": ("trading", "sites/trading/desk/index.html"),
    "/trading/data/position.parquet": ("trading", "sites/trading/data/position.parquet"),
    "/finance/": ("finance", "sites/finance/index.html"),
    f"/customers/{ALICE}/2025-05/statement.html": (ALICE, f"statements/2025-05/{ALICE}/statement.html"),
    f"/customers/{ALICE}/2025-06/statement.pdf": (ALICE, f"statements/2025-06/{ALICE}/statement.pdf"),
    f"/customers/{BOB}/2025-06/statement.html": (BOB, f"statements/2025-06/{BOB}/statement.html"),
}
#: folders without an index page: never a listing
FOLDERS = ["/trading/data/", "/finance/reports/", f"/customers/{ALICE}/2025-06/", "/customers/", "/sites/"]


def _tree(root: Path) -> Path:
    data = root / "data"
    for owner, rel in FILES.values():
        path = data / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"<html><body><h1>{owner} secret {rel}</h1></body></html>\n".encode())
    (data / "sites/finance/reports").mkdir(parents=True)
    (data / "sites/finance/reports/invoices.json").write_text('{"invoice": "INV-1"}')
    (data / "statements/2025-06/not a slug").mkdir(parents=True)
    (data / "statements/2025-06/not a slug/statement.html").write_text("never served")
    return data


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """nginx on a free port over the temporary tree; yields (base URL port, layout, user -> password)."""
    with running_nginx(_tree(tmp_path_factory.mktemp("serve")), AUDIENCES) as running:
        yield running


def get(port: int, path: str, user: str | None = None, password: str | None = None, method: str = "GET"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {}
    if user is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    conn.request(method, path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, dict(response.getheaders()), body


# --- the configuration, without a server ---------------------------------------------------------------------------


def test_users_one_per_audience_and_customer_with_its_own_path():
    assert serve.users(["trading"], [ALICE]) == [
        serve.User("trading", "/trading/", "audience"), serve.User(ALICE, f"/customers/{ALICE}/", "customer")]
    for bad in (["customers"], ["../x"], ["Trading"], ["a b"]):
        with pytest.raises(serve.ServeError):
            serve.users(bad, [])
    with pytest.raises(serve.ServeError):
        serve.users([], ["no_slug"])
    with pytest.raises(serve.ServeError, match="name of an audience"):
        serve.users(["acme-0123456789"], ["acme-0123456789"])


def test_customers_are_the_slug_folders_with_a_statement(tmp_path):
    data = _tree(tmp_path)
    (data / "statements/2025-07").mkdir()
    (data / f"statements/2025-07/{BOB}").mkdir()  # empty: no statement, not a month of Bob's
    (data / "statements/notamonth").mkdir()
    assert serve.customer_months(data / "statements") == {ALICE: ["2025-05", "2025-06"], BOB: ["2025-06"]}


def test_credentials_generated_once_private_and_hashed(tmp_path):
    data = _tree(tmp_path)
    layout = serve.prepare(data, 8080, AUDIENCES)
    first = tomllib.loads(layout.credentials.read_text())["users"]
    assert set(first) == {"trading", "finance", ALICE, BOB}
    assert len({entry["password"] for entry in first.values()}) == 4
    for path in (layout.credentials, layout.htpasswd):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    lines = dict(line.split(":", 1) for line in layout.htpasswd.read_text().splitlines())
    assert set(lines) == set(first)
    for name, digest in lines.items():
        assert serve.SHA512_CRYPT.fullmatch(digest), digest
        salt = digest.split("$")[2]
        check = subprocess.run([str(serve.OPENSSL), "passwd", "-6", "-salt", salt, "-stdin"],
                               input=first[name]["password"] + "\n", capture_output=True, text=True, check=True)
        assert check.stdout.strip() == digest
        assert first[name]["password"] not in layout.htpasswd.read_text()
    # a second start keeps every password; a new customer gets one, the others are unchanged
    (data / "statements/2025-06/carol-at-x-de-0123456789").mkdir()
    (data / "statements/2025-06/carol-at-x-de-0123456789/statement.pdf").write_bytes(b"%PDF")
    serve.prepare(data, 8080, AUDIENCES)
    second = tomllib.loads(layout.credentials.read_text())["users"]
    assert (layout.www / "customers/carol-at-x-de-0123456789/index.html").is_file()
    assert {k: second[k] for k in first} == first
    assert second["carol-at-x-de-0123456789"]["path"] == "/customers/carol-at-x-de-0123456789/"
    # a customer without statements any more is no longer served (its password stays in the file)
    shutil.rmtree(data / "statements/2025-06/carol-at-x-de-0123456789")
    serve.prepare(data, 8080, AUDIENCES)
    assert not (layout.www / "customers/carol-at-x-de-0123456789").exists()
    assert "carol" not in layout.htpasswd.read_text() and "carol" not in layout.config.read_text()
    assert "carol-at-x-de-0123456789" in tomllib.loads(layout.credentials.read_text())["users"]
    # the credentials live under the data dir, which git ignores (never in the repository)
    ignored = subprocess.run(["git", "check-ignore", "-q", "data/serve/credentials.toml"], cwd=PROJECT_ROOT, check=False)
    assert ignored.returncode == 0


def test_config_local_no_listing_and_root_page_names_nobody(tmp_path):
    data = _tree(tmp_path)
    layout = serve.prepare(data, 18080, AUDIENCES)
    conf = layout.config.read_text()
    assert "listen 127.0.0.1:18080;" in conf and conf.count("listen ") == 1
    assert "autoindex off;" in conf and "autoindex on" not in conf
    assert f'pid "{layout.pid}";' in conf and str(layout.serve / "logs") in conf
    assert "/etc/" not in conf and "/var/" not in conf
    root_page = (layout.www / "index.html").read_text()
    for name in (*AUDIENCES, ALICE, BOB, "alice", "bob", "customers"):
        assert name not in root_page


def test_site_problems_name_missing_sites_and_builds_without_base_path(tmp_path):
    data = _tree(tmp_path)
    assert serve.site_problems(data / "sites", AUDIENCES) == []
    (data / "sites/finance/index.html").write_text('<link href="/_app/immutable/app.css"><script src="/_app/x.js">')
    (data / "sites/trading/index.html").write_text('<link href="/trading/_app/immutable/app.css">')
    problems = serve.site_problems(data / "sites", [*AUDIENCES, "management"])
    assert len(problems) == 2
    assert problems[0].startswith("finance:") and "basePath = /finance" in problems[0]
    assert problems[1].startswith("management: no site built yet")


def test_serve_port_setting():
    assert serve_port({}) == 8080
    assert serve_port({"FLEXPOWER_SERVE_PORT": "9090"}) == 9090
    for bad in ("0", "70000", "http"):
        with pytest.raises(ValueError, match="FLEXPOWER_SERVE_PORT"):
            serve_port({"FLEXPOWER_SERVE_PORT": bad})


# --- the running server ------------------------------------------------------------------------------------------


@e2e
def test_nothing_without_credentials_or_with_a_wrong_password(server):
    port, _, passwords = server
    for path in ["/", "/index.html", *FILES, *FOLDERS, f"/customers/{ALICE}/"]:
        status, headers, body = get(port, path)
        assert status == 401, (path, status)
        assert headers.get("WWW-Authenticate", "").startswith("Basic"), path
        assert b"secret" not in body
        owner = FILES.get(path, ("trading",))[0]
        status, _, body = get(port, path, owner, passwords[owner] + "x")
        assert status == 401, (path, status)
        assert b"secret" not in body


@e2e
def test_own_user_opens_its_path(server):
    port, layout, passwords = server
    for path, (owner, rel) in FILES.items():
        status, headers, body = get(port, path, owner, passwords[owner])
        assert status == 200, (path, status)
        assert body == (layout.data_dir / rel).read_bytes()
        assert "private" in headers["Cache-Control"]
    assert get(port, f"/customers/{ALICE}/2025-06/statement.pdf", ALICE, passwords[ALICE])[1]["Content-Type"] == "application/pdf"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)  # the pages read parquet by byte ranges
    auth = base64.b64encode(f"trading:{passwords['trading']}".encode()).decode()
    conn.request("GET", "/trading/data/position.parquet", headers={"Authorization": f"Basic {auth}", "Range": "bytes=2-5"})
    response = conn.getresponse()
    assert response.status == 206 and response.read() == (layout.data_dir / "sites/trading/data/position.parquet").read_bytes()[2:6]
    assert response.getheader("Content-Type") == "application/vnd.apache.parquet"
    conn.close()
    status, _, page = get(port, f"/customers/{ALICE}/", ALICE, passwords[ALICE])
    assert status == 200
    assert b"2025-05/statement.html" in page and b"2025-06/statement.pdf" in page and BOB.encode() not in page


@e2e
def test_every_other_user_is_refused(server):
    port, _, passwords = server
    checked = 0
    for path, (owner, _) in FILES.items():
        for user, password in passwords.items():
            if user == owner:
                continue
            status, _, body = get(port, path, user, password)
            assert status in (403, 404), (user, path, status)
            assert b"secret" not in body
            checked += 1
    assert checked == len(FILES) * (len(passwords) - 1)


@e2e
def test_no_listing_no_internals_no_escape(server):
    port, _, passwords = server
    for path in FOLDERS:
        for user, password in passwords.items():
            status, _, body = get(port, path, user, password)
            assert status in (403, 404), (user, path, status)
            assert b"Index of" not in body and b"invoices.json" not in body and b"statement" not in body
    for path in ("/_authz/trading/", "/serve/credentials.toml", "/credentials.toml", "/htpasswd", "/nginx.conf",
                 "/customers/not a slug/2025-06/statement.html", f"/customers/{ALICE}/2025-06/../../{BOB}/2025-06/statement.html",
                 f"/customers/{ALICE}/2025-06/%2e%2e/%2e%2e/{BOB}/2025-06/statement.html",
                 f"/customers/{ALICE}/2025-06/statement.html/../../../../{BOB}/2025-06/statement.html"):
        status, _, body = get(port, path.replace(" ", "%20"), ALICE, passwords[ALICE])
        assert status in (400, 403, 404), (path, status)
        assert b"secret" not in body and b"$6$" not in body
    # the root page answers any user and names nobody
    status, _, body = get(port, "/", "finance", passwords["finance"])
    assert status == 200
    for name in (*AUDIENCES, ALICE, BOB):
        assert name.encode() not in body


@e2e
def test_chromium_opens_own_page_with_credentials(server, browser):
    from playwright.sync_api import Error as PlaywrightError

    port, _, passwords = server
    context = browser.new_context(http_credentials={"username": "trading", "password": passwords["trading"]})
    page = context.new_page()
    response = page.goto(f"http://127.0.0.1:{port}/trading/desk/")
    assert response.status == 200
    assert page.locator("h1").inner_text() == "trading secret sites/trading/desk/index.html"
    response = page.goto(f"http://127.0.0.1:{port}/finance/")
    assert response.status == 403
    assert "secret" not in page.content()
    context.close()
    # without credentials (or with wrong ones) the headless browser gets the 401 challenge and shows nothing
    for credentials in (None, {"username": "trading", "password": "wrong"}):
        anonymous = browser.new_context(http_credentials=credentials)
        page = anonymous.new_page()
        statuses: list[int] = []
        page.on("response", lambda r, seen=statuses: seen.append(r.status))
        try:  # Chromium either gives up on the challenge or shows the 401 answer: never the page
            response = page.goto(f"http://127.0.0.1:{port}/trading/")
            assert response.status == 401 and "secret" not in page.content()
        except PlaywrightError as error:
            assert "ERR_INVALID_AUTH_CREDENTIALS" in str(error)
        assert statuses and set(statuses) == {401}, statuses
        anonymous.close()


@e2e
def test_make_serve_reloads_a_running_server(server, monkeypatch, capsys):
    """A second `make serve` while nginx runs: new customers get credentials and are served without a restart."""
    port, layout, _ = server
    carol = customer_slug("carol@x.example")
    folder = layout.statements / "2025-06" / carol
    folder.mkdir()
    (folder / "statement.html").write_text("<h1>carol secret</h1>")
    monkeypatch.setenv("FLEXPOWER_DATA_DIR", str(layout.data_dir))
    monkeypatch.setattr(serve, "internal_audiences", lambda: AUDIENCES)
    assert serve.main(["--port", str(port)]) == 0
    assert "reloaded" in capsys.readouterr().out
    password = tomllib.loads(layout.credentials.read_text())["users"][carol]["password"]
    deadline = time.monotonic() + 10
    while (status := get(port, f"/customers/{carol}/2025-06/statement.html", carol, password)[0]) != 200:
        assert time.monotonic() < deadline, status
        time.sleep(0.2)
    assert os.path.exists(layout.pid)
