"""The worker process model (common/server.c, the prefork master): SIGHUP
replaces the children without failing a request, a config that no longer
parses is not loaded, SIGTERM lets the request in hand finish and exits
cleanly, the three ways of listening (unix socket, TCP, a socket inherited
on fd 0), and the options that must be refused.  Respawning a killed child
is test_faults.py's.

The reload tests act on the stack's own auth master and put its config file
back before they end.  The other tests start their own cpa-auth from
$CPA_BUILD_DIR with the stack's config (its PostgreSQL and Redis) and talk
FastCGI to it directly; its stderr goes to $CPA_VAR/log/e2e-workers.log,
which `./dev test` searches for sanitizer reports with the other logs."""

import os
import re
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from cpa_e2e import (BAD_CREDENTIALS, COOKIE, HTTP_TIMEOUT, Db,
                     children_of, describe, fcgi_connect, fcgi_finish,
                     fcgi_request, fcgi_send_head, unique_username,
                     wait_healthy, wait_until)

SAN_ENV = {"ASAN_OPTIONS": "detect_leaks=1:halt_on_error=1",
           "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"}
START_TIMEOUT = 20
EXIT_TIMEOUT = 10


# ---------------------------------------------------------------- helpers

def alive(pid):
    """pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return False
    return s[s.rfind(")") + 2:].split()[0] != "Z"


def worker_env():
    """The environment of a worker we start: no CPA_* variable of the test
    run (they would override config keys), the sanitizer options of the
    stack's workers."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("CPA_")}
    e.update(SAN_ENV)
    return e


def free_tcp_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WorkerLog:
    """Appends everything our own workers print to one log of the stack."""

    def __init__(self, env):
        self.path = os.path.join(env.var, "log", "e2e-workers.log")

    def open(self, title):
        f = open(self.path, "ab")
        f.write(f"--- {title}\n".encode())
        f.flush()
        return f

    def add(self, title, text):
        with self.open(title) as f:
            f.write(text.encode(errors="replace"))


class Worker:
    """A cpa-auth master started by a test, in a session of its own."""

    def __init__(self, argv, log, stdin=subprocess.DEVNULL):
        self.argv = argv
        with log.open(" ".join(argv)) as f:
            self.proc = subprocess.Popen(argv, stdin=stdin, stdout=f,
                                         stderr=f, env=worker_env(),
                                         start_new_session=True)
        self.pid = self.proc.pid

    def children(self, n):
        """Waits until the master has exactly n children; returns them."""
        def got():
            assert self.proc.poll() is None, \
                f"{self.argv} exited {self.proc.returncode}"
            k = children_of(self.pid)
            return k if len(k) == n else None
        return wait_until(got, START_TIMEOUT, f"{n} children of {self.pid}",
                          interval=0.05)

    def terminate(self):
        """SIGTERM; returns the exit status (fails if it does not exit)."""
        os.kill(self.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout=EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"cpa-auth (pid {self.pid}) still runs "
                        f"{EXIT_TIMEOUT}s after SIGTERM")

    def kill(self):
        if self.proc.poll() is None:
            os.killpg(self.pid, signal.SIGKILL)
            self.proc.wait()


@pytest.fixture
def build_dir():
    d = os.environ.get("CPA_BUILD_DIR")
    if not d:
        pytest.fail("CPA_BUILD_DIR is not set (the build directory whose "
                    "binaries the test stack runs; ./dev test exports it)",
                    pytrace=False)
    return d


@pytest.fixture
def auth_bin(build_dir):
    path = os.path.join(build_dir, "cpa-auth")
    assert os.access(path, os.X_OK), f"{path} is not an executable"
    return path


@pytest.fixture
def stack_conf(env):
    path = os.path.join(env.var, "cpa.conf")
    assert os.path.isfile(path), f"the stack's worker config {path} is missing"
    return path


@pytest.fixture
def private_dir():
    d = tempfile.mkdtemp(prefix="cpa-e2e-")
    yield d
    for name in os.listdir(d):
        os.unlink(os.path.join(d, name))
    os.rmdir(d)


@pytest.fixture
def worker(env, auth_bin, stack_conf):
    """worker(*args, stdin=...) -> a Worker running `cpa-auth --config
    <stack conf> args...`; whatever still runs at the end is killed."""
    log = WorkerLog(env)
    started = []

    def start(*args, stdin=subprocess.DEVNULL):
        w = Worker([auth_bin, "--config", stack_conf, *args], log, stdin)
        started.append(w)
        return w
    yield start
    for w in started:
        w.kill()


def fcgi_healthy(address, worker):
    """Waits until GET /healthz straight over FastCGI answers 200 ok."""
    def ok():
        assert worker.proc.poll() is None, \
            f"{worker.argv} exited {worker.proc.returncode}"
        r = fcgi_request(address, "GET", "/healthz", timeout=5)
        return r if r.status == 200 else None
    r = wait_until(ok, START_TIMEOUT, f"GET /healthz over FastCGI at {address}",
                   interval=0.1)
    assert r.json() == {"status": "ok", "worker": "auth", "postgres": "ok",
                        "redis": "ok"}, r
    return r


# ------------------------------------------------------------ SIGHUP reload

class AuthLog:
    """The stack's auth worker log: JSON lines, one "request" line per
    request naming its request id (the X-Request-Id of the response)."""

    def __init__(self, env):
        self.path = os.path.join(env.var, "log", "auth.log")

    def size(self):
        return os.path.getsize(self.path)

    def since(self, offset):
        with open(self.path, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    def logged(self, resp, offset):
        rid = resp.headers.get("X-Request-Id")
        assert rid, f"no X-Request-Id: {describe(resp)}"
        return f"id={rid}" in self.since(offset)


def set_key(text, key, value):
    """The config text with key set to value (a key may appear only once)."""
    line = f"{key} = {value}"
    pattern = re.compile(rf"(?m)^\s*{re.escape(key)}\s*=.*$")
    if pattern.search(text):
        return pattern.sub(line, text)
    return text.rstrip("\n") + "\n" + line + "\n"


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def generation(env, master, old):
    """Waits until master has env.auth_workers children, none of them in
    old; returns them."""
    def replaced():
        kids = children_of(master)
        return kids if len(kids) == env.auth_workers and \
            not set(kids) & set(old) else None
    return wait_until(replaced, 15, f"a new generation of {env.auth_workers} "
                      f"children of the auth master {master}", interval=0.02)


def test_sighup_replaces_every_child_and_no_request_fails(env, ctl, as_demo,
                                                          stack_conf):
    """`./dev` starts the stack's worker with --workers, which overrides the
    file's `workers`, so the change made here is log_level = warn: the
    request lines stop, which shows the file was read again."""
    master = int(ctl("pid", "auth").strip())
    cmdline = open(f"/proc/{master}/cmdline", "rb").read().split(b"\0")
    assert b"--workers" in cmdline, \
        f"the stack's auth worker no longer gets --workers: {cmdline!r}"
    first = wait_until(
        lambda: (lambda k: k if len(k) == env.auth_workers else None)(
            children_of(master)),
        10, f"{env.auth_workers} children of the auth master {master}")
    log = AuthLog(env)
    original = open(stack_conf, encoding="utf-8").read()
    c = as_demo("coord.north")
    cookie = c.cookie
    mark = log.size()
    r = c.get("/api/v1/session")
    assert r.status_code == 200, describe(r)
    wait_until(lambda: log.logged(r, mark), 5, "the request line at log_level info")

    stop = threading.Event()
    results = []        # (started, status or error text)
    lock = threading.Lock()

    def hammer():
        s = requests.Session()
        while not stop.is_set():
            t = time.monotonic()
            try:
                status = s.get(env.base + "/api/v1/session",
                               headers={"Cookie": f"{COOKIE}={cookie}"},
                               timeout=HTTP_TIMEOUT).status_code
            except requests.RequestException as e:
                status = repr(e)
            with lock:
                results.append((t, status))

    second = None
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            for _ in range(4):
                pool.submit(hammer)
            try:
                time.sleep(0.3)
                write(stack_conf, set_key(original, "log_level", "warn"))
                t_hup = time.monotonic()
                os.kill(master, signal.SIGHUP)
                second = generation(env, master, first)
                t_new = time.monotonic()
                time.sleep(0.3)
            finally:
                stop.set()
        failed = [s for _, s in results if s != 200]
        assert not failed, f"{len(failed)} of {len(results)} requests " \
            f"failed during the reload: {failed[:10]}"
        during = [t for t, _ in results if t_hup <= t <= t_new]
        assert during, "no request was sent while the children were replaced"
        assert int(ctl("pid", "auth").strip()) == master, "the master was replaced"

        mark = log.size()
        r = c.get("/api/v1/session")
        assert r.status_code == 200, describe(r)
        time.sleep(0.5)
        assert not log.logged(r, mark), \
            "log_level = warn from the reloaded config is not in effect"
    finally:
        write(stack_conf, original)
        os.kill(master, signal.SIGHUP)
        generation(env, master, second or first)
    mark = log.size()
    r = c.get("/api/v1/session")
    assert r.status_code == 200, describe(r)
    wait_until(lambda: log.logged(r, mark), 5,
               "the request line again after restoring log_level info")
    c.delete("/api/v1/session")


def test_sighup_with_a_broken_config_keeps_the_running_children(env, ctl,
                                                                stack_conf):
    master = int(ctl("pid", "auth").strip())
    before = wait_until(
        lambda: (lambda k: k if len(k) == env.auth_workers else None)(
            children_of(master)),
        10, f"{env.auth_workers} children of the auth master {master}")
    log = AuthLog(env)
    original = open(stack_conf, encoding="utf-8").read()
    broken = original.rstrip("\n") + "\nno_such_setting = 1\n"
    bad_line = broken.count("\n")
    mark = log.size()
    try:
        write(stack_conf, broken)
        os.kill(master, signal.SIGHUP)
        wait_until(lambda: "not reloaded" in log.since(mark), 10,
                   "the master to refuse the broken config")
        text = log.since(mark)
        assert f"{stack_conf}:{bad_line}" in text and "no_such_setting" in text, \
            f"the refusal names neither file:line nor the key: {text[-600:]!r}"
        assert children_of(master) == before, "children were replaced anyway"
        wait_healthy(env.base, timeout=10)
    finally:
        write(stack_conf, original)
    assert int(ctl("pid", "auth").strip()) == master


# ----------------------------------------------------- SIGTERM, listening

def test_sigterm_finishes_the_request_in_hand_then_exits(env, worker,
                                                         private_dir,
                                                         fresh_addr):
    """A sign-in held up by a lock on staff is in a child's hands when
    SIGTERM arrives: the idle child leaves at once, the busy one answers
    first; then the master exits 0 and removes its socket."""
    path = os.path.join(private_dir, "auth.sock")
    w = worker("--listen", f"unix:{path}", "--workers", "2")
    fcgi_healthy(path, w)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o660, oct(os.stat(path).st_mode)
    kids = w.children(2)

    holder = Db(env.pg_super_dsn)
    probe = Db(env.pg_super_dsn)
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        holder.conn.autocommit = False
        with holder.conn.cursor() as cur:
            cur.execute("LOCK TABLE staff IN ACCESS EXCLUSIVE MODE")
        body = ('{"username": "%s", "password": "not-the-password-1"}'
                % unique_username("drain")).encode()
        sock = fcgi_connect(path)
        fcgi_send_head(sock, "POST", "/api/v1/session",
                       {"CONTENT_TYPE": "application/json",
                        "HTTP_ACCEPT": "application/json",
                        "REMOTE_ADDR": fresh_addr()}, body)
        answer = pool.submit(fcgi_finish, sock, body)
        wait_until(lambda: probe.scalar(
            "SELECT count(*) FROM pg_locks WHERE relation = 'staff'::regclass "
            "AND NOT granted"), 10, "the sign-in to wait for the lock on staff")

        os.kill(w.pid, signal.SIGTERM)
        wait_until(lambda: len(children_of(w.pid)) == 1, 5,
                   "the idle child to leave on SIGTERM")
        time.sleep(0.3)
        assert w.proc.poll() is None, \
            "the master exited while a child still held a request"
        holder.conn.rollback()
        r = answer.result(timeout=HTTP_TIMEOUT)
        assert r.status == 401 and r.json() == BAD_CREDENTIALS, r
    finally:
        holder.conn.rollback()
        holder.close()
        probe.close()
        pool.shutdown()
    try:
        rc = w.proc.wait(timeout=EXIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"cpa-auth still runs {EXIT_TIMEOUT}s after SIGTERM")
    assert rc == 0, f"cpa-auth exited {rc} after SIGTERM (see {WorkerLog(env).path})"
    left = [k for k in kids if alive(k)]
    assert not left, f"children left behind: {left}"
    assert not os.path.exists(path), "the unix socket was not removed"


def test_listens_on_loopback_tcp(env, worker):
    port = free_tcp_port()
    w = worker("--listen", f"127.0.0.1:{port}", "--workers", "2")
    fcgi_healthy(("127.0.0.1", port), w)
    kids = w.children(2)
    assert w.terminate() == 0
    assert not [k for k in kids if alive(k)], "children left behind"
    with pytest.raises(ConnectionRefusedError):
        fcgi_connect(("127.0.0.1", port), timeout=2).close()


def test_serves_a_socket_inherited_on_fd_0(env, worker, private_dir):
    path = os.path.join(private_dir, "inherited.sock")
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        lsock.bind(path)
        lsock.listen(16)
        w = worker("--workers", "2", stdin=lsock.fileno())
    finally:
        lsock.close()       # the worker holds its own copy
    fcgi_healthy(path, w)
    w.children(2)
    assert w.terminate() == 0


# ------------------------------------------------------------- bad options

def run_refused(env, argv, what):
    """Runs argv, which must exit non-zero promptly; returns its stderr."""
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, env=worker_env(), timeout=EXIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{what}: {argv} was not refused; it still runs after "
                    f"{EXIT_TIMEOUT}s")
    WorkerLog(env).add(" ".join(argv), p.stdout + p.stderr)
    assert p.returncode != 0, f"{what}: {argv} exited 0: {p.stderr!r}"
    assert not re.search(r"Sanitizer|runtime error:", p.stderr), p.stderr
    return p.stderr


@pytest.mark.parametrize("args,names", [
    (["--workers", "0"], ["--workers"]),
    (["--workers", "many"], ["--workers"]),
    (["--listen", "nonsense"], ["listen", "nonsense"]),
    (["--listen", "unix:relative.sock"], ["listen", "relative.sock"]),
])
def test_bad_options_are_refused(env, auth_bin, stack_conf, args, names):
    err = run_refused(env, [auth_bin, "--config", stack_conf, *args],
                      " ".join(args))
    for name in names:
        assert name in err, f"stderr does not name {name!r}: {err!r}"


def test_unknown_config_key_is_refused_with_file_and_line(env, auth_bin,
                                                          stack_conf,
                                                          private_dir):
    text = open(stack_conf, encoding="utf-8").read().rstrip("\n")
    path = os.path.join(private_dir, "bad.conf")
    write(path, text + "\nworkers_per_core = 3\n")
    line = text.count("\n") + 2
    err = run_refused(env, [auth_bin, "--config", path], "unknown key")
    assert f"{path}:{line}" in err and "workers_per_core" in err, err
