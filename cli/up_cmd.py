"""`regie up`: a local Prefect server, every deployment served, the timer sweep on its schedule.

The server is `prefect server start` in a subprocess with its home (and SQLite database) under
`<data_dir>/prefect` and its port from REGIE_PORT, so two instances with their own REGIE_DATA_DIR and
REGIE_PORT run side by side. With PREFECT_API_URL set, that server is used and none is started.
Ctrl-C stops the runner first, then the server.

`regie up` recovers from its own crash: it writes the pids of the server and the partner page to the
data dir (`cli/pidfiles.py`) and removes them when it stops them. If `regie up` was killed (SIGKILL, a
closed terminal), they keep running; the next `regie up` for the same data dir finds them by those files
(each must still be alive and be the same program: `prefect server start` with this data dir's Prefect
home, `regie portal` on the recorded port), stops them and starts normally. A port held by anything
else gets a one-line explanation and exit code 2 (refused).

The API is closed by default: the server runs with Prefect's API authentication
(PREFECT_SERVER_API_AUTH_STRING), and every Regie client (this process, the served flow runs, the demo
loader, `regie case ...`) sends the same secret (PREFECT_API_AUTH_STRING). The secret is the one given
in either variable, else the one kept in `<data_dir>/prefect-api-auth` (mode 0600), made on the first
`regie up`. The UI asks for it once per browser (its login page); health checks stay open.

Prefect reads its settings when it is first imported, so the environment is set before that.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from cli import pidfiles, portal_process, running
from cli.arguments import port
from cli.output import refuse

if TYPE_CHECKING:
    from app.settings import Settings

HEALTH_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 20.0
PID_FILE = "prefect-server.pid"
"""In the data dir: the Prefect server this data dir's `regie up` started (JSON: pid, port)."""
AUTH_FILE = "prefect-api-auth"
"""The local server's API secret, in the data dir (mode 0600)."""


def local_api_url(settings: "Settings") -> str:
    """The API of the local server `regie up` runs for these settings."""
    return f"http://127.0.0.1:{settings.port}/api"


def api_auth_file(settings: "Settings") -> Path:
    """Where the local server's API secret is kept."""
    return settings.data_dir / AUTH_FILE


def api_auth(settings: "Settings", environ: Mapping[str, str], *, create: bool = False) -> str | None:
    """The local server's API secret: the one given (PREFECT_SERVER_API_AUTH_STRING or PREFECT_API_AUTH_STRING),
    else the one in the data dir; with `create` (regie up) a new one is made there when there is none."""
    given = environ.get("PREFECT_SERVER_API_AUTH_STRING") or environ.get("PREFECT_API_AUTH_STRING")
    if given:
        return given
    path = api_auth_file(settings)
    if not path.exists():
        if not create:
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two `regie up` at once make one secret; 0600 from the first byte on.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return api_auth(settings, environ)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(f"regie:{secrets.token_urlsafe(32)}\n")
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)  # a copy or an editor may have opened it up: the secret is the whole lock
    secret = path.read_text(encoding="utf-8").strip()
    if not secret:
        raise ValueError(f"{path} is leeg: verwijder het, dan maakt `regie up` een nieuw geheim")
    return secret


def prefect_environment(settings: "Settings", environ: dict[str, str] | None = None, *,
                        create_auth: bool = False) -> dict[str, str]:
    """The Prefect settings Regie runs with; values already in `environ` win (except the server's port).

    For the local server this includes its API secret (`api_auth`), for the server and the clients
    alike; a server named by PREFECT_API_URL gets only what the environment gives (PREFECT_API_AUTH_STRING).
    """
    environ = os.environ if environ is None else environ
    wanted = {
        "PREFECT_HOME": str(settings.prefect_home),
        "PREFECT_API_URL": local_api_url(settings),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # Flow-run logs reach the UI at INFO; the console shows warnings and worse only.
        "PREFECT_LOGGING_LEVEL": "INFO",
        "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING",
        "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
        # A resumed inbox run starts within a couple of seconds.
        "PREFECT_RUNNER_POLL_FREQUENCY": "2",
    }
    env = {k: environ.get(k, v) for k, v in wanted.items()}
    # The port is Regie's to choose (REGIE_PORT); `--port` would leave the UI calling 4200.
    env["PREFECT_SERVER_API_HOST"] = "127.0.0.1"
    env["PREFECT_SERVER_API_PORT"] = str(settings.port)
    if not uses_external_server(environ):
        secret = api_auth(settings, environ, create=create_auth)
        if secret:
            env["PREFECT_SERVER_API_AUTH_STRING"] = env["PREFECT_API_AUTH_STRING"] = secret
    return env


def uses_external_server(environ: dict[str, str] | None = None) -> bool:
    """Whether PREFECT_API_URL names a server that someone else runs."""
    return bool((os.environ if environ is None else environ).get("PREFECT_API_URL"))


def health_ok(api_url: str) -> bool:
    """Whether a Prefect API answers its health check."""
    import httpx

    try:
        return httpx.get(f"{api_url}/health", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def start_server(home: Path, env: dict[str, str]) -> subprocess.Popen:
    """Start `prefect server start` in its own session (so Ctrl-C reaches us first); output to home/server.log."""
    home.mkdir(parents=True, exist_ok=True)
    log = (home / "server.log").open("ab")
    prefect = Path(sys.executable).with_name("prefect")
    command = [str(prefect)] if prefect.exists() else [sys.executable, "-m", "prefect"]
    return subprocess.Popen([*command, "server", "start"], env={**os.environ, **env}, stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)


def wait_healthy(api_url: str, process: subprocess.Popen | None, timeout: float = HEALTH_TIMEOUT_S) -> None:
    """Poll the health endpoint until it answers; raise if the server exits or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if health_ok(api_url):
            return
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"de Prefect-server stopte met code {process.returncode}")
        time.sleep(0.25)
    raise TimeoutError(f"geen werkende Prefect-API op {api_url} na {timeout:.0f} s")


def stop_server(process: subprocess.Popen, timeout: float = STOP_TIMEOUT_S) -> None:
    """Ask the server to stop (SIGINT, as Ctrl-C would), then insist."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout)


# --- the server a killed `regie up` left behind -------------------------------------------------------


def pid_file(settings: "Settings") -> Path:
    """Where `regie up` keeps the pid of the Prefect server it started."""
    return settings.data_dir / PID_FILE


def _is_our_server(prefect_home: Path) -> Callable[[int, int], bool]:
    """Whether a pid is `prefect server start` with this data dir's Prefect home (not a reused pid)."""
    def check(pid: int, _port: int) -> bool:
        words = pidfiles.command_line(pid)
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            environ = []
        return any(w.endswith("prefect") for w in words) and "server" in words and "start" in words and \
            f"PREFECT_HOME={prefect_home}".encode() in environ
    return check


def stop_left_behind(settings: "Settings") -> list[str]:
    """Stop what a killed `regie up` of this data dir left running (its Prefect server, its partner
    page); a line for each one stopped."""
    lines = []
    pid = pidfiles.stop_left_behind(pid_file(settings), _is_our_server(settings.prefect_home))
    if pid is not None:
        lines.append(f"regie up: de Prefect-server van een eerdere regie up (pid {pid}) draaide nog; die is gestopt")
    pid = portal_process.stop_left_behind(settings)
    if pid is not None:
        lines.append(f"regie up: de partnerpagina van een eerdere regie up (pid {pid}) draaide nog; die is gestopt")
    return lines


def port_in_use(port: int) -> bool:
    """Whether something listens on 127.0.0.1:`port` (binding fails)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def cmd_up(args: argparse.Namespace) -> int:
    from app.settings import get_settings

    if args.demo:
        # The demo's partners are fictional: log and record notices instead of sending them (an
        # explicit REGIE_NOTIFIER wins). Served flow runs inherit this environment.
        os.environ.setdefault("REGIE_NOTIFIER", "log")
    settings = get_settings(**({"port": args.port} if args.port else {}))
    external = uses_external_server()
    env = prefect_environment(settings, create_auth=not external)
    api_url = env["PREFECT_API_URL"]  # the one PREFECT_API_URL names, else the local server's
    if not external:
        for line in stop_left_behind(settings):
            print(line, file=sys.stderr, flush=True)
        if port_in_use(settings.port):
            what = "een Prefect-server die" if health_ok(api_url) else "een ander proces dat"
            return refuse("regie up", f"poort {settings.port} is bezet door {what} niet door regie up voor "
                                      f"{settings.data_dir} is gestart; kies een vrije poort met REGIE_PORT of --port")
    os.environ.update(env)  # before Prefect is imported, below
    server = None if external else start_server(settings.prefect_home, env)
    if server is not None:
        pidfiles.write(pid_file(settings), server.pid, settings.port)
    try:
        wait_healthy(api_url, server)
        with portal_process.beside(settings):  # the partner page on REGIE_PORTAL_PORT
            return _serve(settings, api_url, demo=args.demo, sweep=not args.no_sweep, external=external)
    except KeyboardInterrupt:
        return 130
    except (RuntimeError, TimeoutError) as exc:
        print(f"regie up: {exc} (serverlog: {settings.prefect_home / 'server.log'})", file=sys.stderr)
        return 1
    finally:
        if server is not None:
            print("stopping the Prefect server ...", flush=True)
            stop_server(server)
            pid_file(settings).unlink(missing_ok=True)
            print("stopped", flush=True)


def _serve(settings: "Settings", api_url: str, *, demo: bool, sweep: bool, external: bool) -> int:
    import asyncio
    import threading

    from app.bootstrap import bootstrap, use
    from app.inbox_keeper import CHECK_EVERY, keep_inbox
    from flows.serve import deployments, serve_all

    rt = bootstrap(settings)  # migrates the case store before anything runs
    for deployment in deployments(None):
        deployment.apply()  # the inbox deployment must exist before tasks are delivered or given back
    if demo:
        from app.demo import load_demo

        with use(rt):
            print(asyncio.run(load_demo(rt)), flush=True)
    ui = api_url.removesuffix("/api")
    every = f"checked every {CHECK_EVERY:.0f} s, a run only when something is due" if sweep else "off"
    login = "PREFECT_API_AUTH_STRING of that server" if external else f"the line in {api_auth_file(settings)}"
    # The keeper runs beside the runner: Submit completes at once, lost tasks come back, the overview follows.
    stop = threading.Event()
    keeper = threading.Thread(target=lambda: asyncio.run(keep_inbox(rt.service, rt.notifier, stop, sweep=sweep,
                                                                    say=_say)),
                              name="regie-inbox-keeper", daemon=True)
    keeper.start()
    running.write(settings)
    print(f"Regie is up.\n  Prefect UI: {ui}\n  log in with: {login}\n  API:        {api_url}\n"
          f"  data:       {settings.data_dir}\n  timer sweep: {every}\n{overview_links(rt.service, ui)}"
          "Ctrl-C stops everything.", flush=True)
    try:
        serve_all(None, scheduled=sweep)
    finally:
        running.remove(settings)
        stop.set()
        keeper.join(timeout=5)
    return 0


def overview_links(service: object, ui: str) -> str:
    """Lines with the overview's pages in the UI (artifact keys: docs/coordinators.md), per municipality
    with cases; published within seconds of `regie up` starting."""
    from app.overview.render import artifact_key
    from app.overview.runs import municipalities

    lines = [f"  open tasks: {ui}/runs?state=Suspended&tag=inbox"]
    for municipality in municipalities(service):  # type: ignore[arg-type]
        lines.append(f"  {municipality}: caseload {ui}/artifacts/key/{artifact_key('caseload', municipality)}")
        lines.append(f"  {' ' * len(municipality)}  radar    {ui}/artifacts/key/{artifact_key('deadline-radar', municipality)}")
        lines.append(f"  {' ' * len(municipality)}  KPI's    {ui}/artifacts/key/{artifact_key('kpi', municipality)}")
    return "\n".join(lines) + "\n"


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def register(sub: argparse._SubParsersAction) -> None:
    """Add `regie up` to the `regie` parser."""
    p = sub.add_parser("up", help="start a local Prefect server and serve every Regie deployment")
    p.add_argument("--demo", action="store_true", help="also load demo cases (made-up people, backdated)")
    p.add_argument("--port", type=port, help="port of the local server (default: REGIE_PORT, 4200)")
    p.add_argument("--no-sweep", action="store_true", help="do not schedule the timer sweep")
    p.set_defaults(func=cmd_up)
