"""The flow's one job runner: independent jobs on local worker processes, or on a Ray cluster.

Every grid of the flow (``ipnet results``, ``ipnet wm``, ``ipnet regress``) and the simulation's
independent shards of test sequences go through :class:`JobRunner`. A job is a call
``fn(*args)`` of a module-level function with picklable arguments and result; jobs share
nothing but files, so where a job runs never changes what it returns.

Engines
-------
``local`` (the default)
    A :class:`concurrent.futures.ProcessPoolExecutor` with ``workers`` processes (default: the
    machine's cores). Each job runs in a worker process, never in the caller's.
``ray``
    The same jobs as Ray tasks of one CPU each (``ray.remote(num_cpus=1)``). The address comes
    from ``--cluster ADDRESS`` (any address ``ray.init`` takes: ``HOST:6379`` of a head node,
    ``ray://HOST:10001`` of a Ray client server, ``auto``), or else from Ray's standard
    environment variable ``RAY_ADDRESS``. ``--cluster local`` starts a private Ray instance on
    this machine with ``workers`` CPUs (default: the machine's cores) and stops it at the end,
    which tries the cluster path without a cluster. Every node must have this package installed
    at the same commit, and the folders the jobs read and write (the runs folder, the build
    folder) must be on a file system that every node sees at the same absolute path: job
    arguments are resolved to absolute paths by the callers for that reason.

Results are the same on both engines: the jobs are the same function calls, seeded by their
arguments, each in a fresh single-threaded worker (tested on a small grid and a sharded
simulation). A failing job's exception is raised in the caller, as the job raised it (Ray's
wrapper keeps the original class, so ``ConfigError`` stays a ``ConfigError``).
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor
from concurrent.futures import wait as futures_wait

from ipnet_mtj.sw.errors import UsageError

__all__ = ["JobRunner", "runner_from_args", "add_runner_args", "ENGINES"]

ENGINES = ("local", "ray")


def _check_reachable(address, timeout=5.0):
    """Refuse, with one line, a ``HOST:PORT`` (or ``ray://HOST:PORT``) address where nothing
    accepts a connection within ``timeout`` seconds: Ray itself retries such an address for
    minutes. Other forms (``auto``) are left to Ray."""
    import socket
    rest = address.split("://", 1)[1] if "://" in address else address
    host, sep, port = rest.rpartition(":")
    if not sep or not port.isdigit():
        return
    try:
        with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)),
                                      timeout=timeout):
            pass
    except OSError as exc:
        raise UsageError(f"--cluster {address}: cannot connect to Ray (nothing answers at "
                         f"{host}:{port}: {exc.strerror or exc})") from None


def _call(fn, *args):
    """The Ray task: ``fn(*args)`` (any picklable callable, builtins included)."""
    return fn(*args)


class Job:
    """A submitted job: its key (whatever the caller gave) and its pending result."""

    __slots__ = ("key", "_handle", "_runner")

    def __init__(self, key, handle, runner):
        self.key, self._handle, self._runner = key, handle, runner

    def result(self):
        """The job's return value (waits for it); its exception if it raised."""
        return self._runner._result(self._handle)


class JobRunner:
    """Run independent jobs locally (worker processes) or on a Ray cluster.

    Use it as a context manager: the pool or the Ray connection lives inside the ``with``.

    Parameters
    ----------
    workers : int, optional
        Local engine: worker processes; ``cluster="local"``: the private Ray instance's CPUs.
        Default: the machine's cores. Ignored for a remote cluster (its size is its own).
    cluster : str, optional
        None: Ray at ``RAY_ADDRESS`` when that is set, else the local engine. ``"local"``: a
        private Ray instance on this machine. Anything else: the address of a Ray cluster.

    Examples
    --------
    >>> with JobRunner(workers=2) as runner:           # doctest: +SKIP
    ...     results = runner.map(pow, [(2, 3), (3, 2)])
    >>> results                                         # doctest: +SKIP
    [8, 9]
    """

    def __init__(self, workers=None, cluster=None):
        if workers is not None and workers < 1:
            raise UsageError(f"--workers: must be >= 1, got {workers}")
        if cluster is not None and not cluster.strip():
            raise UsageError("--cluster: give a Ray address (HOST:PORT, ray://HOST:PORT, auto) "
                             "or 'local'")
        if cluster is None:
            cluster = os.environ.get("RAY_ADDRESS") or None
        self.cluster = cluster
        self.engine = "local" if cluster is None else "ray"
        self.workers = workers or os.cpu_count() or 1
        self._pool = None
        self._ray = None
        self._started_ray = False
        self._remote = None
        self._submitted = []

    # -- life cycle ------------------------------------------------------------------------
    def __enter__(self):
        if self.engine == "local":
            self._pool = ProcessPoolExecutor(max_workers=self.workers)
        else:
            self._connect_ray()
        return self

    def __exit__(self, kind, exc, tb):
        if self._pool is not None:
            if kind is not None:
                # an error or Ctrl-C: jobs not started are dropped and the workers stopped,
                # so no queued job starts after them (their files are written atomically)
                for process in list(getattr(self._pool, "_processes", {}).values()):
                    process.terminate()
            self._pool.shutdown(wait=True, cancel_futures=kind is not None)
            self._pool = None
        if self._ray is not None and kind is not None:
            for job in self._submitted:
                try:
                    self._ray.cancel(job, force=True)
                except Exception:       # finished, or the cluster went away: nothing to stop
                    pass
        if self._ray is not None and self._started_ray:
            self._ray.shutdown()
        self._ray = None
        return False

    def _connect_ray(self):
        try:
            import ray
        except ImportError:
            raise UsageError(f"--cluster {self.cluster}: Ray is not installed "
                             f"(pip install 'ray==2.60.0')") from None
        options = {"include_dashboard": False, "logging_level": "WARNING",
                   "log_to_driver": True}
        if self.cluster != "local":
            _check_reachable(self.cluster)
        if ray.is_initialized():        # the caller's own Ray connection: used, not stopped
            self._ray = ray
            self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
            return
        try:
            if self.cluster == "local":
                # the private instance imports what the caller imports (a script's own modules)
                path = os.pathsep.join(p for p in sys.path if p)
                # address="local": a new instance, never one that RAY_ADDRESS or an earlier
                # `ray start` on this machine points at
                ray.init(address="local", num_cpus=self.workers,
                         runtime_env={"env_vars": {"PYTHONPATH": path}}, **options)
            else:
                ray.init(address=self.cluster, **options)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UsageError(f"--cluster {self.cluster}: cannot connect to Ray ({first})") \
                from None
        self._ray, self._started_ray = ray, True
        if self.cluster != "local":
            self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))

    def describe(self):
        """One line: the engine and its size, for a grid's summary line."""
        if self.engine == "local":
            return f"{self.workers} local workers"
        where = "a private local Ray instance" if self.cluster == "local" else \
            f"the Ray cluster at {self.cluster}"
        return f"{self.workers} CPUs of {where}"

    # -- jobs ------------------------------------------------------------------------------
    def submit(self, fn, *args, key=None):
        """Start ``fn(*args)``; return its :class:`Job` (``key`` defaults to ``args``)."""
        key = args if key is None else key
        if self._pool is not None:
            return Job(key, self._pool.submit(fn, *args), self)
        if self._ray is None:
            raise RuntimeError("JobRunner.submit outside its `with` block")
        if self._remote is None:        # one Ray task definition; the job's function is its argument
            self._remote = self._ray.remote(num_cpus=1, max_retries=0)(_call)
        ref = self._remote.remote(fn, *args)
        self._submitted.append(ref)
        return Job(key, ref, self)

    def wait(self, jobs):
        """Block until at least one of ``jobs`` has finished: (finished, still running)."""
        jobs = list(jobs)
        if not jobs:
            return [], []
        if self._pool is not None:
            done, _ = futures_wait([j._handle for j in jobs], return_when=FIRST_COMPLETED)
        else:
            done, _ = self._ray.wait([j._handle for j in jobs], num_returns=1)
        done = {id(h) for h in done}
        return ([j for j in jobs if id(j._handle) in done],
                [j for j in jobs if id(j._handle) not in done])

    def as_completed(self, jobs):
        """Yield each of ``jobs`` as it finishes."""
        pending = list(jobs)
        while pending:
            finished, pending = self.wait(pending)
            yield from finished

    def map(self, fn, items, progress=None, on_result=None):
        """[fn(*item) for item in items], run in parallel; the results in ``items``' order.

        Parameters
        ----------
        items : iterable of tuple
            Each job's arguments.
        progress : str, optional
            A tqdm bar (stderr) with this description.
        on_result : callable, optional
            ``on_result(item, result)`` in the caller as each job finishes (in finishing order).
        """
        items = list(items)
        out = [None] * len(items)
        if not items:
            return out
        bar = None
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=len(items), desc=progress, unit="job")
        try:
            jobs = [self.submit(fn, *item, key=i) for i, item in enumerate(items)]
            for job in self.as_completed(jobs):
                out[job.key] = job.result()
                if on_result is not None:
                    on_result(items[job.key], out[job.key])
                if bar is not None:
                    bar.update()
        finally:
            if bar is not None:
                bar.close()
        return out

    def _result(self, handle):
        if self._pool is not None or self._ray is None:
            return handle.result()
        try:
            return self._ray.get(handle)
        except self._ray.exceptions.RayTaskError as exc:
            # the job's own exception, so its message (one line for a ConfigError) is the same
            # as on the local engine, without Ray's remote traceback
            cause = getattr(exc, "cause", None)
            if isinstance(cause, BaseException):
                raise cause from None
            raise


def add_runner_args(parser, workers_help="worker processes (default: the machine's cores)"):
    """The runner's two options on an argparse parser: ``--workers`` and ``--cluster``."""
    parser.add_argument("--workers", type=int, help=workers_help)
    parser.add_argument("--cluster", metavar="ADDRESS",
                        help="run the jobs on the Ray cluster at ADDRESS (default: $RAY_ADDRESS "
                             "if set, else local processes); 'local' starts a private Ray "
                             "instance on this machine")


def runner_from_args(args):
    """A :class:`JobRunner` from parsed ``--workers`` and ``--cluster`` options."""
    return JobRunner(workers=getattr(args, "workers", None), cluster=getattr(args, "cluster", None))
