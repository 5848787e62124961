"""``make serve``: nginx (Debian's package) serving each audience's site and each customer's statements behind HTTP
basic authentication, one user per audience and per customer (pure Python and files: no Dagster, no DuckDB).

Layout under the data directory (``FLEXPOWER_DATA_DIR``)::

    sites/<audience>/                      an internal audience's static site        -> /<audience>/
    statements/<YYYY-MM>/<slug>/statement.html|pdf   a customer's monthly statement  -> /customers/<slug>/<YYYY-MM>/statement.html|pdf
    serve/                                 everything this module writes (never in the repository)
      credentials.toml                     user -> password and path (mode 600; generated on first run, kept after)
      htpasswd                             user:sha512-crypt hash, every user (mode 600)
      nginx.conf  nginx.pid  logs/  tmp/   the server's configuration, pid, access/error logs and temporary files
      www/index.html                       the root page: says nothing about who is served
      www/customers/<slug>/index.html      a customer's list of its statements (its months)

Who may open what: every location asks for basic authentication against ``htpasswd`` (no credentials or a wrong
password: 401), then ``auth_request`` asks an internal location whether the authenticated user is the one of that
path (another audience's or customer's user: 403). Nothing is listed (``autoindex off``); the root page names no
audience or customer. The passwords are random (``secrets``), hashed with sha512-crypt by Debian's ``openssl passwd
-6`` (salted, 5,000 rounds; nginx checks it with the system's crypt), and read from stdin, never from a command line.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from flexpower_dagster.lib.customers import SLUG, STATEMENT_HTML, STATEMENT_PDF, STATEMENTS_DIR

SITES_DIR = "sites"
SERVE_DIR = "serve"
CUSTOMERS_PATH = "customers"
NGINX = Path("/usr/sbin/nginx")
OPENSSL = Path("/usr/bin/openssl")
#: An audience name (policy.py refuses others) and a statement month folder.
AUDIENCE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
MONTH = re.compile(r"\d{4}-\d{2}")
#: sha512-crypt as ``openssl passwd -6`` writes it (and glibc's crypt reads it).
SHA512_CRYPT = re.compile(r"\$6\$[./0-9A-Za-z]{1,16}\$[./0-9A-Za-z]{86}")
PASSWORD_BYTES = 18  # 24 URL-safe characters, 144 bits

#: Content types of the files a static Evidence build and a statement consist of (nothing is guessed by nginx).
MIME_TYPES = {
    "text/html": "html htm",
    "text/css": "css",
    "text/plain": "txt",
    "application/javascript": "js mjs",
    "application/json": "json map webmanifest",
    "application/pdf": "pdf",
    "application/wasm": "wasm",
    "application/vnd.apache.parquet": "parquet",
    "application/vnd.apache.arrow.file": "arrow",
    "image/svg+xml": "svg",
    "image/png": "png",
    "image/x-icon": "ico",
    "font/woff2": "woff2",
    "font/woff": "woff",
}


class ServeError(RuntimeError):
    """The server cannot be configured or started (named reason)."""


@dataclass(frozen=True)
class User:
    name: str
    #: The URL path the user may open (``/trading/``, ``/customers/<slug>/``).
    path: str
    kind: str  # "audience" | "customer"


@dataclass(frozen=True)
class Credential:
    user: str
    password: str
    hash: str
    path: str


@dataclass(frozen=True)
class Layout:
    data_dir: Path

    @property
    def sites(self) -> Path:
        return self.data_dir / SITES_DIR

    @property
    def statements(self) -> Path:
        return self.data_dir / STATEMENTS_DIR

    @property
    def serve(self) -> Path:
        return self.data_dir / SERVE_DIR

    @property
    def credentials(self) -> Path:
        return self.serve / "credentials.toml"

    @property
    def htpasswd(self) -> Path:
        return self.serve / "htpasswd"

    @property
    def config(self) -> Path:
        return self.serve / "nginx.conf"

    @property
    def pid(self) -> Path:
        return self.serve / "nginx.pid"

    @property
    def www(self) -> Path:
        return self.serve / "www"


def customer_months(statements_dir: Path) -> dict[str, list[str]]:
    """slug -> the months (``YYYY-MM``, ascending) with a statement of that customer; folders that are not a month or
    a slug are ignored (never served)."""
    found: dict[str, list[str]] = {}
    if not statements_dir.is_dir():
        return found
    for month in sorted(p for p in statements_dir.iterdir() if p.is_dir() and MONTH.fullmatch(p.name)):
        for folder in sorted(p for p in month.iterdir() if p.is_dir() and SLUG.fullmatch(p.name)):
            if (folder / STATEMENT_HTML).is_file() or (folder / STATEMENT_PDF).is_file():
                found.setdefault(folder.name, []).append(month.name)
    return found


def users(audiences: list[str], customers: list[str]) -> list[User]:
    """One user per audience (its name) and per customer (its slug); :class:`ServeError` for a name that cannot be a
    user or a path, or an audience and a customer sharing a name."""
    out = []
    for name in audiences:
        if not AUDIENCE.fullmatch(name) or name == CUSTOMERS_PATH:
            raise ServeError(f"audience {name!r} cannot be served under /{name}/ (lower-case words joined by '-', not {CUSTOMERS_PATH!r})")
        out.append(User(name, f"/{name}/", "audience"))
    for slug in customers:
        if not SLUG.fullmatch(slug):
            raise ServeError(f"customer folder {slug!r} is not a slug")
        if slug in audiences:
            raise ServeError(f"customer {slug!r} has the name of an audience: one user name would open two paths")
        out.append(User(slug, f"/{CUSTOMERS_PATH}/{slug}/", "customer"))
    return out


def hash_passwords(passwords: list[str]) -> list[str]:
    """sha512-crypt hashes (``$6$salt$...``, a random salt each) by ``openssl passwd -6``, one process for all,
    the passwords on stdin (never on a command line another user could read)."""
    if not passwords:
        return []
    if any(not p or "\n" in p or "\r" in p for p in passwords):
        raise ServeError("a password is empty or holds a line break")
    if not OPENSSL.exists():
        raise ServeError(f"{OPENSSL} is missing: apt-get install openssl")
    done = subprocess.run([str(OPENSSL), "passwd", "-6", "-stdin"], input="\n".join(passwords) + "\n",
                          capture_output=True, text=True, check=False)
    hashes = done.stdout.split()
    if done.returncode != 0 or len(hashes) != len(passwords) or not all(SHA512_CRYPT.fullmatch(h) for h in hashes):
        raise ServeError(f"openssl passwd -6 failed: {done.stderr.strip() or 'unexpected output'}")
    return hashes


def _toml_string(value: str) -> str:
    if any(c in value for c in '"\\\n\r\t') or any(ord(c) < 32 for c in value):
        raise ServeError(f"value {value!r} cannot be written as a plain TOML string")
    return f'"{value}"'


def read_credentials(path: Path) -> dict[str, Credential]:
    if not path.exists():
        return {}
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    out = {}
    for name, entry in (data.get("users") or {}).items():
        cred = Credential(name, str(entry["password"]), str(entry["hash"]), str(entry["path"]))
        if not SHA512_CRYPT.fullmatch(cred.hash):
            raise ServeError(f"{path}: user {name!r} has no sha512-crypt hash: delete the entry to generate a new password")
        out[name] = cred
    return out


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by the owner only (created 600, replaced atomically)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def ensure_credentials(path: Path, wanted: list[User]) -> dict[str, Credential]:
    """The credentials of ``wanted``: those in ``path`` are kept (a password handed out stays valid), a new user gets
    a random password; the file is rewritten (600) when a user was added. Users no longer wanted stay in the file
    (their password comes back with them) but are not served."""
    known = read_credentials(path)
    new = [u for u in wanted if u.name not in known or known[u.name].path != u.path]
    passwords = [secrets.token_urlsafe(PASSWORD_BYTES) for _ in new]
    for user, password, digest in zip(new, passwords, hash_passwords(passwords), strict=True):
        known[user.name] = Credential(user.name, password, digest, user.path)
    if new or not path.exists():
        lines = ["# make serve: one user per audience and per customer (docs/permissions.md). Secret: never commit,",
                 "# hand each user only its own entry. Delete an entry to give that user a new password.", ""]
        for name in sorted(known):
            cred = known[name]
            lines += [f"[users.{_toml_string(name)}]", f"password = {_toml_string(cred.password)}",
                      f"hash = {_toml_string(cred.hash)}", f"path = {_toml_string(cred.path)}", ""]
        write_private(path, "\n".join(lines))
    return {u.name: known[u.name] for u in wanted}


def htpasswd_text(credentials: dict[str, Credential]) -> str:
    return "".join(f"{name}:{credentials[name].hash}\n" for name in sorted(credentials))


def _page(title: str, body: str) -> str:
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + html.escape(title)
            + "</title></head>\n<body>\n" + body + "\n</body></html>\n")


ROOT_PAGE = _page("FlexPower reports", "<h1>FlexPower reports</h1>\n<p>Open the address you were given with your "
                  "reports or statements.</p>")


def customer_page(slug: str, months: list[str]) -> str:
    items = "\n".join(
        f'<li>{m}: <a href="{m}/{STATEMENT_HTML}">statement</a> (<a href="{m}/{STATEMENT_PDF}">PDF</a>)</li>'
        for m in reversed(months))
    return _page("Your statements", f"<h1>Your monthly statements</h1>\n<ul>\n{items}\n</ul>")


def _q(path: Path) -> str:
    """A path as an nginx string: absolute, resolved, quoted; refused when it holds a character nginx would read."""
    text = str(path.resolve())
    if any(c in text for c in '"\\$;{}\n\r\t'):
        raise ServeError(f"path {text!r} holds a character nginx would interpret")
    return f'"{text}"'


def nginx_config(layout: Layout, port: int, served: list[User], *, user: str | None = None) -> str:
    """The whole nginx configuration (see module docstring). ``user``: the worker processes' user, needed only when
    nginx is started by root (else they would run as ``nobody`` and could not read the files)."""
    serve = layout.serve
    types = "\n".join(f"        {mime} {exts};" for mime, exts in MIME_TYPES.items())
    authz = "\n".join(f'        "{u.name} {u.path}" 1;' for u in served)
    locations = []
    for u in served:
        if u.kind == "audience":
            locations.append(f"""
        location {u.path} {{
            auth_request /_authz{u.path};
            alias {_q(layout.sites / u.name)[:-1]}/";
            index index.html;
        }}""")
        else:
            locations.append(f"""
        location {u.path} {{
            auth_request /_authz{u.path};
            alias {_q(layout.www / CUSTOMERS_PATH / u.name)[:-1]}/";
            index index.html;
            location ~ "^/{CUSTOMERS_PATH}/{u.name}/([0-9]{{4}}-[0-9]{{2}})/({re.escape(STATEMENT_HTML)}|{re.escape(STATEMENT_PDF)})$" {{
                alias {_q(layout.statements)[:-1]}/$1/{u.name}/$2";
            }}
        }}""")
    user_line = f"user {user};\n" if user else ""
    return f"""# Generated by flexpower_dagster.defs.permissions.serve (`make serve`); rewritten on every start: do not edit.
{user_line}worker_processes 1;
pid {_q(layout.pid)};
error_log {_q(serve / "logs" / "error.log")} warn;
events {{
    worker_connections 512;
}}
http {{
    types {{
{types}
    }}
    default_type application/octet-stream;
    access_log {_q(serve / "logs" / "access.log")};
    client_body_temp_path {_q(serve / "tmp" / "client_body")};
    proxy_temp_path {_q(serve / "tmp" / "proxy")};
    fastcgi_temp_path {_q(serve / "tmp" / "fastcgi")};
    uwsgi_temp_path {_q(serve / "tmp" / "uwsgi")};
    scgi_temp_path {_q(serve / "tmp" / "scgi")};
    sendfile on;
    server_tokens off;
    autoindex off;
    absolute_redirect off;
    client_max_body_size 1k;
    map_hash_bucket_size 256;
    map_hash_max_size {max(2048, 4 * len(served))};

    # "<user> <path>" -> 1 when that user may open that path (checked after the password, by auth_request)
    map "$remote_user $flexpower_want" $flexpower_allowed {{
        default 0;
{authz}
    }}

    server {{
        listen 127.0.0.1:{int(port)};
        server_name localhost;
        root {_q(layout.www)};
        index index.html;
        auth_basic "FlexPower reports";
        auth_basic_user_file {_q(layout.htpasswd)};
        add_header Cache-Control "private, no-cache" always;
        add_header X-Content-Type-Options nosniff always;
        add_header Referrer-Policy no-referrer always;
        add_header X-Frame-Options DENY always;

        # auth_request's subrequest: is the (password-checked) user the one of the path?
        location ~ ^/_authz(?<flexpower_want>/.*)$ {{
            internal;
            if ($flexpower_allowed = 0) {{
                return 403;
            }}
            return 204;
        }}
{"".join(locations)}
    }}
}}
"""


def prepare(data_dir: Path, port: int, audiences: list[str], *, run_user: str | None = None) -> Layout:
    """Write everything ``make serve`` needs under ``<data_dir>/serve/`` for the internal ``audiences`` and every
    customer with a statement: credentials (kept), htpasswd, the pages, the nginx configuration. Returns the layout."""
    layout = Layout(Path(data_dir).resolve())
    months = customer_months(layout.statements)
    served = users(audiences, sorted(months))
    credentials = ensure_credentials(layout.credentials, served)
    write_private(layout.htpasswd, htpasswd_text(credentials))
    for sub in ("logs", "tmp"):
        (layout.serve / sub).mkdir(parents=True, exist_ok=True)
    # pages rewritten in place (a running server keeps answering while `make serve` reloads it), stale lists removed
    lists = layout.www / CUSTOMERS_PATH
    lists.mkdir(parents=True, exist_ok=True)
    (layout.www / "index.html").write_text(ROOT_PAGE, encoding="utf-8")
    for stale in [p for p in lists.iterdir() if p.name not in months]:
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale)
        else:
            stale.unlink()
    for slug, its_months in months.items():
        (lists / slug).mkdir(exist_ok=True)
        (lists / slug / "index.html").write_text(customer_page(slug, its_months), encoding="utf-8")
    layout.config.write_text(nginx_config(layout, port, served, user=run_user), encoding="utf-8")
    return layout


def worker_user() -> str | None:
    """``root root`` when started by root (nginx would otherwise drop its workers to ``nobody``), else None: an
    unprivileged nginx runs everything as the user who started it."""
    if os.geteuid() != 0:
        return None
    import grp
    import pwd

    return f"{pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name}"


def nginx_command(layout: Layout, *args: str) -> list[str]:
    if not NGINX.exists():
        raise ServeError(f"{NGINX} is missing: `make setup-nginx` installs Debian's nginx")
    return [str(NGINX), "-p", str(layout.serve), "-c", str(layout.config), "-e", str(layout.serve / "logs" / "error.log"), *args]


def running_pid(layout: Layout) -> int | None:
    try:
        pid = int(layout.pid.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def internal_audiences() -> list[str]:
    """The policy's internal audiences (data-engineering, trading, finance, management): one site and user each."""
    from flexpower_dagster.defs.permissions.policy import load_policy

    return [a.name for a in load_policy().internal_audiences()]


#: A page of a static build made without a base path loads its code from the server's root (``"/_app/..."``).
_ROOT_APP = re.compile(r"""["'(]/_app/""")


def site_problems(sites_dir: Path, audiences: list[str]) -> list[str]:
    """What keeps an audience's site from working under ``/<audience>/``, one sentence each: no ``index.html`` yet,
    or a build that loads ``/_app/`` from the root (Evidence's ``deployment.basePath`` was not ``/<audience>``)."""
    problems = []
    for name in audiences:
        index = sites_dir / name / "index.html"
        if not index.is_file():
            problems.append(f"{name}: no site built yet ({index} is missing; `make run`)")
        elif _ROOT_APP.search(index.read_text(encoding="utf-8", errors="replace")):
            problems.append(f"{name}: {index} loads /_app/ from the root: build it with Evidence's deployment.basePath "
                            f"= /{name} to be served under /{name}/")
    return problems


def main(argv: list[str] | None = None) -> int:
    from flexpower_dagster.settings import Settings, serve_port

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=None, help="port on 127.0.0.1 (default FLEXPOWER_SERVE_PORT or 8080)")
    parser.add_argument("--prepare-only", action="store_true", help="write the configuration and credentials, do not start")
    args = parser.parse_args(argv)
    port = args.port or serve_port()
    audiences = internal_audiences()
    layout = prepare(Settings.from_env().data_dir, port, audiences, run_user=worker_user())
    test = subprocess.run(nginx_command(layout, "-t", "-q"), capture_output=True, text=True, check=False)
    if test.returncode != 0:
        raise ServeError(f"nginx refused {layout.config}: {test.stderr.strip()}")
    print(f"credentials: {layout.credentials} (hand each user only its own entry)")
    if args.prepare_only:
        return 0
    pid = running_pid(layout)
    if pid is not None:
        os.kill(pid, signal.SIGHUP)  # reload: new customers, months and passwords
        print(f"nginx (pid {pid}) reloaded on http://127.0.0.1:{port}/")
        return 0
    for problem in site_problems(layout.sites, audiences):
        print(f"warning: {problem}")
    print(f"serving http://127.0.0.1:{port}/<audience>/ and /customers/<slug>/ (Ctrl-C stops)")
    sys.stdout.flush()
    os.execv(str(NGINX), nginx_command(layout, "-g", "daemon off;"))
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
