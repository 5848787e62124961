"""Constants and helpers shared by the permissions fixtures and tests (imported by basename, like tests/reporting's)."""

import socket
import subprocess
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

SAMPLE_MONTH = "2025-06-01"
#: The sample's customer who, in ``shared_customer_warehouse``, also holds CON1_SOL-DE-002.
MARIA = "maria.schmidt@energypartners.de"
SECOND_CONTRACT = "CON1_SOL-DE-002"

#: The Evidence project, its pages, and what the shipped policy gives each internal audience (docs/permissions.md,
#: "Audience sites": a policy change that moves a page shows up in the site tests).
REPORTS = Path(__file__).resolve().parents[2] / "reports"
ALL_PAGES = ["/", "/alerts/", "/asset/", "/data-quality/", "/desk/", "/imbalance/", "/invoices/", "/trading/"]
EXPECTED_PAGES = {
    "data-engineering": ALL_PAGES,
    "trading": ["/desk/", "/imbalance/", "/trading/"],
    "finance": ["/invoices/"],
    "management": [],
}


def policy_data() -> dict:
    """The shipped policy as data (the parsed TOML), for tests that change a few lines of it."""
    import tomllib

    from flexpower_dagster.defs.permissions.policy import POLICY_FILE

    return tomllib.loads(POLICY_FILE.read_text())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require_nginx() -> Path:
    """Debian's nginx (installed by `make setup-nginx` when missing), else the test is skipped saying why."""
    from flexpower_dagster.defs.permissions import serve

    if not serve.NGINX.exists():
        subprocess.run(["make", "--no-print-directory", "setup-nginx"], cwd=REPORTS.parent, capture_output=True,
                       check=False)
    if not serve.NGINX.exists():
        pytest.skip(f"Debian's nginx ({serve.NGINX}) is not installed and `make setup-nginx` could not install it "
                    "(apt-get needs root and the Debian mirror)")
    return serve.NGINX


@contextmanager
def running_nginx(data: Path, audiences: list[str]) -> Iterator[tuple[int, object, dict[str, str]]]:
    """`make serve`'s nginx over the data folder ``data`` on a free port: yields (port, layout, user -> password)."""
    from flexpower_dagster.defs.permissions import serve

    require_nginx()
    port = free_port()
    layout = serve.prepare(data, port, audiences, run_user=serve.worker_user())
    proc = subprocess.Popen(serve.nginx_command(layout, "-g", "daemon off;"), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    out = proc.stdout.read().decode() if proc.poll() is not None else ""
                    pytest.fail(f"nginx did not listen on {port}: {out}")
                time.sleep(0.1)
        passwords = {name: entry["password"] for name, entry in
                     tomllib.loads(layout.credentials.read_text())["users"].items()}
        yield port, layout, passwords
    finally:
        proc.terminate()
        proc.wait(timeout=20)
