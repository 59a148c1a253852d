"""Bring the stack up and down, and describe it without its secrets.

Everything lives under one folder: ``stack.json`` (ports, process ids, redacted URLs; safe to
show), ``secrets.json`` (mode 0600: the database password, the object store's keys and the
gate key, all generated here) and each service's data and log.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftlineage.logging import get_logger
from ftlineage.net import free_port, port_open
from ftlineage.stack._services import (
    StackError,
    pg_init,
    pg_port,
    pg_restart,
    pg_set_password,
    pg_start,
    pg_stop,
    pg_user,
    s3_config,
    wait_until,
    weed_start,
)

logger = get_logger(__name__)

BUCKET = "mlflow"
DATABASES = ("mlflow", "mlflow_plain", "optuna")


@dataclass(frozen=True)
class Secrets:
    """What the stack's services authenticate with; never shown in a repr, log or tag."""

    pg_password: str = field(repr=False)
    s3_access_key: str = field(repr=False)
    s3_secret_key: str = field(repr=False)
    gate_key: str = field(repr=False)

    @classmethod
    def generate(cls) -> Secrets:
        return cls(secrets.token_urlsafe(24), "FTL" + secrets.token_hex(8).upper(),
                   secrets.token_urlsafe(32), secrets.token_urlsafe(32))  # fmt: skip

    def values(self) -> tuple[str, ...]:
        return (self.pg_password, self.s3_access_key, self.s3_secret_key, self.gate_key)


@dataclass(frozen=True)
class Stack:
    """A running stack: where each service listens. ``secrets`` are read from the 0600 file."""

    root: Path
    pg_root: Path
    pg_port: int
    s3_port: int
    server_port: int
    workers: int
    pids: dict[str, int]
    secrets: Secrets = field(repr=False)

    @property
    def tracking_uri(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"

    @property
    def s3_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def database_uri(self, db: str = "mlflow") -> str:
        """The SQLAlchemy URL of one of the stack's databases (it holds the password)."""
        return f"postgresql+psycopg2://ftlineage:{self.secrets.pg_password}@127.0.0.1:{self.pg_port}/{db}"

    def s3_env(self) -> dict[str, str]:
        """What a process needs to reach the bucket (the tracking server; tests listing objects)."""
        return {
            "MLFLOW_S3_ENDPOINT_URL": self.s3_endpoint,
            "AWS_ACCESS_KEY_ID": self.secrets.s3_access_key,
            "AWS_SECRET_ACCESS_KEY": self.secrets.s3_secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def client_env(self) -> dict[str, str]:
        """What a job or ``ftlineage promote`` needs: the server's URL and the gate key. No store keys."""
        return {"MLFLOW_TRACKING_URI": self.tracking_uri, "FTLINEAGE_GATE_KEY": self.secrets.gate_key}

    def s3(self) -> Any:
        """A boto3 S3 client on the object store."""
        import boto3

        env = self.s3_env()
        return boto3.client(
            "s3",
            endpoint_url=env["MLFLOW_S3_ENDPOINT_URL"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name=env["AWS_DEFAULT_REGION"],
        )

    def describe(self) -> dict[str, Any]:
        """The stack without its secrets (``stack.json``)."""
        return {
            "root": str(self.root),
            "pg_root": str(self.pg_root),
            "pg_port": self.pg_port,
            "s3_port": self.s3_port,
            "server_port": self.server_port,
            "workers": self.workers,
            "pids": self.pids,
            "tracking_uri": self.tracking_uri,
            "backend_store_uri": f"postgresql://ftlineage:***@127.0.0.1:{self.pg_port}/mlflow",
            "artifacts_destination": f"s3://{BUCKET}/mlflow",
            "s3_endpoint": self.s3_endpoint,
        }


def _pg_root(root: Path) -> Path:
    """Root's PostgreSQL cluster lives where the ``postgres`` user can reach it (/tmp, not ~root)."""
    if pg_user() is None:
        return root / "pg"
    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"ftlineage-pg-{digest}"


def _secrets(root: Path, gate_key: str | None = None) -> Secrets:
    """The stack's secrets, generated on first use (``gate_key``: the key clients already sign with)."""
    path = root / "secrets.json"
    if path.exists():
        found = Secrets(**json.loads(path.read_text("utf-8")))
        if gate_key is None or gate_key == found.gate_key:
            return found
        path.unlink()
        made = dataclasses.replace(found, gate_key=gate_key)
    else:
        made = Secrets.generate()
        made = made if gate_key is None else dataclasses.replace(made, gate_key=gate_key)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump({k: getattr(made, k) for k in made.__dataclass_fields__}, out)
    return made


def server_command(stack: Stack, port: int, *, guard: bool = True, db: str = "mlflow") -> list[str]:
    """``mlflow server`` on one of the stack's databases (the store URL goes in the environment)."""
    cmd = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(stack.workers), "--artifacts-destination", f"s3://{BUCKET}/{db}"]  # fmt: skip
    return cmd + (["--app-name", "ftlineage-guard"] if guard else [])


def start_server(stack: Stack, port: int, log: Path, *, guard: bool = True, db: str = "mlflow") -> Any:
    """Start a tracking server on the stack and wait for its ``/health``."""
    import requests

    env = {**os.environ, **stack.s3_env(), "MLFLOW_BACKEND_STORE_URI": stack.database_uri(db),
           "FTLINEAGE_GATE_KEY": stack.secrets.gate_key}  # fmt: skip
    env.pop("MLFLOW_TRACKING_URI", None)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            server_command(stack, port, guard=guard, db=db),
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=stack.root, start_new_session=True,
        )  # fmt: skip

    def healthy() -> bool:
        if proc.poll() is not None:
            raise StackError(f"mlflow server exited ({proc.returncode}): {log.read_text('utf-8')[-1500:]}")
        try:
            return requests.get(f"http://127.0.0.1:{port}/health", timeout=2).ok
        except requests.RequestException:
            return False

    wait_until(healthy, "the mlflow tracking server", 180, log)
    return proc


def up(root: Path, *, workers: int = 4, server_port: int | None = None, gate_key: str | None = None) -> Stack:
    """Start PostgreSQL, the object store and the guarded tracking server under ``root``.

    The secrets are generated once and kept in ``root/secrets.json``; ``gate_key`` replaces the
    generated evidence key with one the team's jobs already sign with.
    """
    root = root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    if (root / "stack.json").exists() and status(root):
        raise StackError(f"a stack is already up in {root}; `ftlineage stack down --dir {root}` first")
    creds = _secrets(root, gate_key)
    pg_root = _pg_root(root)
    pids: dict[str, int] = {}
    try:
        pg_init(pg_root, creds.pg_password, DATABASES)
        if not port_open(pg_port(pg_root)):
            pg_start(pg_root)
        pg_set_password(pg_root, creds.pg_password)
        s3_port = free_port()
        (root / "s3").mkdir(exist_ok=True)
        cfg = root / "s3" / "s3.json"
        cfg.write_text(s3_config(creds.s3_access_key, creds.s3_secret_key), "utf-8")
        os.chmod(cfg, 0o600)
        weed = weed_start(root / "s3", s3_port, BUCKET, root / "s3.log")
        pids["s3"] = weed.pid
        stack = Stack(
            root, pg_root, pg_port(pg_root), s3_port, server_port or free_port(), workers, pids, creds
        )
        wait_until(lambda: _bucket_ready(stack), "the S3 object store", 90, root / "s3.log")
        server = start_server(stack, stack.server_port, root / "server.log")
        pids["server"] = server.pid
    except BaseException:
        _stop_pids(pids)
        pg_stop(pg_root)
        raise
    (root / "stack.json").write_text(json.dumps(stack.describe(), indent=2), "utf-8")
    logger.info(
        "stack up: tracking %s, artifacts s3://%s on %s", stack.tracking_uri, BUCKET, stack.s3_endpoint
    )
    return stack


def _bucket_ready(stack: Stack) -> bool:
    try:
        stack.s3().head_bucket(Bucket=BUCKET)
        return True
    except Exception:  # noqa: BLE001 - not up yet
        return False


def load(root: Path) -> Stack:
    """The stack described in ``root`` (a :class:`StackError` when none was brought up there)."""
    root = root.resolve()
    path = root / "stack.json"
    if not path.exists():
        raise StackError(f"no stack in {root}: bring one up with `ftlineage stack up --dir {root}`")
    d = json.loads(path.read_text("utf-8"))
    return Stack(root, Path(d["pg_root"]), d["pg_port"], d["s3_port"], d["server_port"], d["workers"],
                 d["pids"], _secrets(root))  # fmt: skip


def status(root: Path) -> dict[str, bool]:
    """Which services of the stack in ``root`` answer."""
    stack = load(root)
    return {
        "postgresql": port_open(stack.pg_port),
        "s3": port_open(stack.s3_port),
        "mlflow": port_open(stack.server_port),
    }


def _stop_pids(pids: dict[str, int]) -> None:
    for name in ("server", "s3"):
        pid = pids.get(name)
        if pid is None:
            continue
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        for _ in range(100):
            try:
                os.kill(pid, 0)
                os.waitpid(pid, os.WNOHANG)
            except (ProcessLookupError, ChildProcessError):
                break
            time.sleep(0.1)
        else:
            os.killpg(pid, signal.SIGKILL)


def down(root: Path, *, purge: bool = False) -> None:
    """Stop the stack's services (``purge``: also delete its data, the database's included)."""
    import shutil

    stack = load(root)
    _stop_pids(stack.pids)
    pg_stop(stack.pg_root)
    (stack.root / "stack.json").unlink(missing_ok=True)
    if purge:
        shutil.rmtree(stack.pg_root, ignore_errors=True)
        shutil.rmtree(stack.root, ignore_errors=True)


def restart_database(stack: Stack, down_s: float = 0.0) -> None:
    """Restart PostgreSQL under a running stack: every pooled connection dies (a fault, for tests).

    ``down_s`` keeps it stopped that long first, so requests arriving meanwhile fail too.
    """
    if down_s <= 0:
        pg_restart(stack.pg_root)
        return
    pg_stop(stack.pg_root)
    time.sleep(down_s)
    pg_start(stack.pg_root)
