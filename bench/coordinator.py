"""The coordinator at scale: 1, 8 and 32 workers sharing one study on a PostgreSQL server.

tuneyard runs no coordinator of its own: in a shared study the database is the
coordinator (engine/shared.py, engine/claims.py). This bench measures how far that
goes. An instant trainer (tuneyard.testing.InstantTrainer, with bench/scale.py's SPACE
and objective) makes training free, so what is timed is the coordination alone: asks,
claims, heartbeats, records and ledger reads, from N worker processes at once against
one study. For each backend (grid, tpe) and each number of workers it prints the trials
done, the wall seconds, trials per second and the ratio against one worker, what the
server spent (its CPU, how many of its backends were busy, commits per trial), and a
check read back afterwards with plain `optuna.load_study`: no trial ran twice, none went
missing, none was left RUNNING or WAITING, and a grid covered exactly the budget's points.

    .venv/bin/python bench/coordinator.py                      # grid 2,000, tpe 500; 1, 8, 32 workers
    .venv/bin/python bench/coordinator.py --quick              # grid 300, tpe 150; 1, 4, 8 workers
    .venv/bin/python bench/coordinator.py --only grid --workers 1,2,4 --trials 100
    .venv/bin/python bench/coordinator.py --trial-seconds 0.5   # trials that train elsewhere

With `--trial-seconds S` each trial sleeps S seconds before it is scored: training that
runs on the worker's own machine (its GPU), taking time but none of the cores the bench
shares. A worker then waits for most of a trial, as a real one does, so the cores go to
the coordination alone and the table shows how many workers one study serves before the
database, or this machine, is the limit. With the instant trainer (the default) each
worker is CPU-bound from the start, so on a machine of few cores adding workers cannot
add throughput whatever the database does.

Needs a server on 127.0.0.1:5432 that user postgres reaches without a password (as
tests/test_postgres.py). Every (backend, workers) measurement gets a fresh database,
dropped afterwards WITH (FORCE).

The path the workers take. `tune worker` (cli/worker.py) cannot be given a trainer: it
calls engine/join.py's `join()`, which returns a Sweep without one, so the sweep would
build the Keras trainer. Each worker here is therefore a separate process (this file with
--child worker) that runs the CLI's own code path, `join(storage, study)` then
`Sweep.run()`, with one change between the two: `sweep.trainer =
InstantTrainer(objective)` (or the SleepingTrainer of --trial-seconds; the hook Sweep
keeps for a stand-in trainer; with it the trials run in the worker process itself, as
`tune worker` runs them). Before the workers, one more process (--child create) creates
the study as `tune run --storage URL` does, through `Sweep.open()`: shared.py's create
(the config and budget recorded) and whatever the grid backend sets up in the study (its
points queued, where it queues them), then it exits without running a trial, so that
set-up is not in the timed part. The workers then start and join (read the study's config,
check the space), and run nothing yet; once all have joined they are released together (a
byte on stdin) and the clock runs from that release until the last worker exits. So the
timing includes each worker's `Sweep.open()` on a live study (its first ledger read) and
its end (the last CSV rewrite) but not Python's start-up and imports. Each worker has its
own results folder, as workers on separate machines would.

What the server spent is read cheaply: the CPU time of every `postgres` process from
/proc (exited backends are in the postmaster's children's time) before and after the
run; pg_stat_activity sampled every 0.2 s (on average how many of the study's backends
are running a query, and how many wait on a lock); pg_stat_database's commits. The
server is the machine's, so other databases' work on it would count too.

Read the numbers with the machine in mind: the workers and the server share its cores,
so past as many workers as cores the ratio measures the machine as much as the database
(the verdict says so). Each worker holds about 2 server connections (CONNECTIONS_PER_WORKER):
32 workers need more than PostgreSQL's default max_connections of 100, and the bench warns
before it starts. The last seconds of a run include a worker's 1 s polls while it waits
for the others' last trials (engine/claims.py), which `steady/s` (the middle 80% of the
trials) leaves out.

The target, per backend: no trial run twice, none lost or left open, and trials/s rising by
at least RISING (1.10x) at each step of workers up to 8 (so 8 must be among --workers), with
every run finishing. The last line is the verdict over every backend; the exit status is 1
when a part of it is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from itertools import pairwise
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SRC = BENCH.parent / "src"
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(SRC))

from scale import SPACE, objective  # noqa: E402  (the same space and objective as bench/scale.py)
from verdict import Check, finish  # noqa: E402

SERVER = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "postgres"}
STUDY = "coordinator"
SAMPLE_SECONDS = 0.2
# Throughput "keeps rising" while each step of workers adds at least this much.
RISING = 1.10
RISING_TO = 8  # the target: throughput keeps rising up to this many workers
# Server connections one worker holds (measured, 1 and 2 workers): the two that join()'s
# Store opened stay idle for the whole run, and the sweep's own store uses two more.
CONNECTIONS_PER_WORKER = 2
# How long a trial's training takes, in seconds without CPU (--trial-seconds; children read it).
TRIAL_SECONDS_ENV = "TUNEYARD_BENCH_TRIAL_SECONDS"


class SleepingTrainer:
    """The instant trainer after a sleep: training that happens elsewhere (a GPU), costing
    wall time but no CPU here."""

    def __init__(self, seconds: float):
        from tuneyard.testing import InstantTrainer

        self.seconds, self.instant = seconds, InstantTrainer(objective)
        self.calls = self.instant.calls

    def run(self, proposal, callbacks=None):
        """Sleep, then score at once."""
        time.sleep(self.seconds)
        return self.instant.run(proposal, callbacks)


def bench_trainer():
    """The trainer of this run: instant, or sleeping --trial-seconds first."""
    from tuneyard.testing import InstantTrainer

    seconds = float(os.environ.get(TRIAL_SECONDS_ENV) or 0)
    return SleepingTrainer(seconds) if seconds > 0 else InstantTrainer(objective)


# ----------------------------------------------------------------------------- child processes


def child_create(args: argparse.Namespace) -> None:
    """Create the shared study as `tune run --storage URL` does, and stop before any trial."""
    from tuneyard.engine.sweep import Events, Sweep, SweepOptions
    from tuneyard.testing import InstantTrainer

    options = SweepOptions(space=args.space, backend=args.backend, trials=args.trials,
                           storage=args.url, study=STUDY, trials_per_process=0)
    # A trainer is given only so that open() builds no Keras trainer; no trial runs here.
    sweep = Sweep(options, trainer=InstantTrainer(objective))
    sweep.open(Events())  # create_study, config and budget recorded, the grid's set-up
    sweep.executor.close()
    sweep.lock.release()


def child_worker(args: argparse.Namespace) -> None:
    """One `tune worker`: join, wait for the release, run the sweep; write what it ran."""
    from tuneyard.engine.join import join
    from tuneyard.engine.sweep import Events

    stamps: list[float] = []

    class Stamps(Events):
        def trial_done(self, row, done, budget, best):
            stamps.append(time.time())

    sweep = join(args.url, STUDY, wait=120.0)  # the CLI's join, as `tune worker` calls it
    trainer = sweep.trainer = bench_trainer()
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":  # the bench gave up on this run: leave the study alone
        return
    os.dup2(2, 1)  # nothing more on the pipe the parent no longer reads
    cpu = _own_cpu()
    sweep.run(Stamps())
    report = {"pid": os.getpid(), "ran": [p.trial.number for p in trainer.calls],
              "stamps": stamps, "cpu": _own_cpu() - cpu}
    Path(args.out).write_text(json.dumps(report))


def _own_cpu() -> float:
    """CPU seconds of this process (all its threads, the heartbeats' included)."""
    times = os.times()
    return times.user + times.system


# ----------------------------------------------------------------------------- the server


def connect(dbname: str = "postgres"):
    """An autocommit connection to the server (psycopg2, as tests/test_postgres.py)."""
    import psycopg2

    connection = psycopg2.connect(connect_timeout=5, **{**SERVER, "dbname": dbname})
    connection.autocommit = True
    return connection


def query(admin, sql: str, *params):
    """All rows of one query on the admin connection."""
    with admin.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def postgres_cpu() -> float:
    """CPU seconds of every postgres process, plus those of its exited children.

    The postmaster reaps each backend that ends, so a backend gone since the last read
    is in its children's time (cutime, cstime): summing all four fields of every
    postgres process counts each backend once, live or gone.
    """
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # ended meanwhile
            continue
        name, rest = stat[stat.index("(") + 1: stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        if name == "postgres":
            ticks += sum(int(v) for v in rest[11:15])  # utime stime cutime cstime (fields 14-17)
    return ticks / os.sysconf("SC_CLK_TCK")


def commits(admin, database: str) -> int:
    """Transactions the database has ended (committed or rolled back)."""
    rows = query(admin, "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
                 database)
    return int(rows[0][0] or 0) if rows else 0


class ActivitySampler(threading.Thread):
    """Samples pg_stat_activity of one database: busy backends and lock waits, on average.

    A backend "active" is running a query for its worker; many active at once means the
    workers wait on the database, few means they spend their time in Python.
    """

    def __init__(self, database: str):
        super().__init__(daemon=True, name="pg-activity")
        self.database, self.stop = database, threading.Event()
        self.samples, self.active, self.locked, self.most = 0, 0, 0, 0

    def run(self) -> None:
        admin = connect()
        try:
            while not self.stop.wait(SAMPLE_SECONDS):
                rows = query(admin, "SELECT state, wait_event_type FROM pg_stat_activity "
                                    "WHERE datname = %s", self.database)
                self.samples += 1
                self.most = max(self.most, len(rows))
                self.active += sum(state == "active" for state, _ in rows)
                self.locked += sum(wait in ("Lock", "LWLock") for _, wait in rows)
        finally:
            admin.close()

    def means(self) -> tuple[float, float]:
        """Mean busy backends, mean backends waiting on a lock."""
        n = max(1, self.samples)
        return self.active / n, self.locked / n


# ----------------------------------------------------------------------------- one measurement


def child_env(folder: Path, index: int) -> dict:
    """A child's environment: tuneyard importable, its own results folder.

    Heartbeats keep their defaults (60 s, grace 180 s), a real worker's: an instant trial
    never needs a second beat, and a shorter grace would risk failing a trial whose worker
    is merely descheduled (32 processes on a few cores), which would then run twice.
    """
    return {**os.environ, "PYTHONPATH": str(SRC),
            "TUNEYARD_RESULTS_DIR": str(folder / f"results-{index}")}


def child_command(role: str, url: str, backend: str, trials: int, space: Path, out: Path) -> list:
    return [sys.executable, __file__, "--child", role, "--url", url, "--backend", backend,
            "--trials", str(trials), "--space", str(space), "--out", str(out)]


def create_study(url: str, backend: str, trials: int, folder: Path) -> None:
    """Run the creating process to its end; its stderr in the error if it fails."""
    space = folder / "scale.yaml"
    done = subprocess.run(child_command("create", url, backend, trials, space, folder / "create"),
                          env=child_env(folder, 0), capture_output=True, text=True, timeout=600)
    if done.returncode:
        lines = done.stderr.strip().splitlines()[-4:]
        raise RuntimeError("creating the study failed: " + "\n      ".join(lines))


def start_workers(url: str, backend: str, trials: int, folder: Path, workers: int, procs: list) -> None:
    """Start the workers (into `procs`, so that a failure here still stops those started);
    each joins the study, says ready, then waits for the release."""
    for i in range(1, workers + 1):
        command = child_command("worker", url, backend, trials, folder / "scale.yaml",
                                folder / f"worker-{i}.json")
        stderr = open(folder / f"worker-{i}.err", "w")  # a file: a full pipe would block it
        procs.append(subprocess.Popen(command, env=child_env(folder, i), stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=stderr, text=True))
        stderr.close()
    for i, proc in enumerate(procs, start=1):
        if proc.stdout.readline().strip() != "ready":  # EOF: it died while joining
            raise RuntimeError(f"worker {i} did not join: {worker_error(folder, i)}")


def worker_error(folder: Path, index: int) -> str:
    """The last lines of a worker's stderr (the error, e.g. "too many clients already")."""
    path = folder / f"worker-{index}.err"
    lines = path.read_text().strip().splitlines() if path.exists() else []
    return "\n      ".join(lines[-4:]) or "(no output)"


def release(procs: list) -> None:
    """Let every worker start its sweep at once."""
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.close()


def wait_all(procs: list, deadline: float, folder: Path) -> float:
    """Wait for every worker to exit; the time the last one did."""
    last = time.time()
    for i, proc in enumerate(procs, start=1):
        proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        last = time.time()
        if proc.returncode:
            raise RuntimeError(f"worker {i} exited with {proc.returncode}: {worker_error(folder, i)}")
    return last


def stop(procs: list) -> None:
    """Kill the workers this bench started that still run (after a failure or a timeout)."""
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def measure(backend: str, workers: int, trials: int, timeout: float) -> dict:
    """One (backend, workers) run in a fresh database: timings, server use and the check."""
    database = f"tuneyard_bench_{uuid.uuid4().hex[:12]}"
    url = f"postgresql://postgres@{SERVER['host']}:{SERVER['port']}/{database}"
    folder = Path(tempfile.mkdtemp(prefix="tuneyard-coordinator-"))
    (folder / "scale.yaml").write_text(SPACE)
    admin, procs = connect(), []
    query_none(admin, f"CREATE DATABASE {database}")
    try:
        create_study(url, backend, trials, folder)
        start_workers(url, backend, trials, folder, workers, procs)
        result = timed_run(admin, database, procs, folder, timeout)
        reports = [json.loads((folder / f"worker-{i}.json").read_text()) for i in range(1, workers + 1)]
        result.update(rates(reports, result["wall"]))
        result["workers_cpu"] = sum(r["cpu"] for r in reports)
        result.update(check(url, backend, trials, reports, folder / "scale.yaml"))
        return result
    finally:
        stop(procs)
        query_none(admin, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        admin.close()
        shutil.rmtree(folder, ignore_errors=True)


def query_none(admin, sql: str) -> None:
    with admin.cursor() as cursor:
        cursor.execute(sql)


def timed_run(admin, database: str, procs: list, folder: Path, timeout: float) -> dict:
    """Release the joined workers and time them to the last exit, with the server's share."""
    sampler = ActivitySampler(database)
    xacts, cpu = commits(admin, database), postgres_cpu()
    started = time.time()
    sampler.start()
    release(procs)
    try:
        ended = wait_all(procs, time.monotonic() + timeout, folder)
    finally:
        sampler.stop.set()
        sampler.join()
    time.sleep(0.5)  # the workers' backends end and are reaped, their stats flushed
    active, locked = sampler.means()
    return {"wall": ended - started, "pg_cpu": postgres_cpu() - cpu,
            "xacts": commits(admin, database) - xacts, "connections": sampler.most,
            "active": active, "locked": locked}


def rates(reports: list, wall: float) -> dict:
    """Steady trials per second: the middle 80% of all finished trials, every worker's."""
    stamps = sorted(s for r in reports for s in r["stamps"])
    n = len(stamps)
    first, last = n // 10, n - 1 - n // 10
    steady = float("nan")
    if n >= 10 and stamps[last] > stamps[first]:
        steady = (last - first) / (stamps[last] - stamps[first])
    return {"finished": n, "steady": steady, "per_worker": [len(r["ran"]) for r in reports]}


# ----------------------------------------------------------------------------- the check


def check(url: str, backend: str, budget: int, reports: list, space_file: Path) -> dict:
    """Read the study back with plain Optuna: trials run twice, lost, or left open."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(url.replace("postgresql://", "postgresql+psycopg2://"))
    try:
        trials = optuna.load_study(study_name=STUDY, storage=storage).get_trials(deepcopy=False)
    finally:
        storage.engine.dispose()  # no connection left for DROP ... WITH (FORCE) to cut
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    surplus = [t for t in trials if t.user_attrs.get("surplus")]
    ran = Counter(n for r in reports for n in r["ran"])
    out = {
        "complete": len(complete),
        "left_open": sum(t.state.name in ("RUNNING", "WAITING") for t in trials),
        "failed": sum(t.state.name == "FAIL" for t in trials) - len(surplus),
        "surplus": len(surplus),
        # the same trial number trained by two workers (or twice by one)
        "ran_twice": sum(c - 1 for c in ran.values() if c > 1),
        # a COMPLETE trial no worker says it trained, or one trained but not COMPLETE
        "unmatched": len(set(ran) ^ {t.number for t in complete}),
        "duplicates": max(0, len(complete) - budget),
        "lost": max(0, budget - len(complete)),
    }
    if backend == "grid":
        out.update(grid_check(complete, budget, space_file, out))
    out["duplicates"] += out["ran_twice"]
    return out


def grid_check(complete: list, budget: int, space_file: Path, counts: dict) -> dict:
    """A grid's COMPLETE points are distinct and are exactly the budget's points."""
    from tuneyard.backends.grid import SharedGridBackend, point_key
    from tuneyard.space.file import load_space

    space = load_space(str(space_file))
    # The points the shared grid queues: the first `budget` of its seeded order (seed 0).
    grid = SharedGridBackend(space, seed=0, budget=budget, workdir=space_file.parent)
    expected = {point_key(grid.grid.point(int(i))) for i in grid.order[:budget]}
    keys = [point_key(t.params) for t in complete]
    covered = set(keys)
    return {"point_twice": len(keys) - len(covered), "missing": len(expected - covered),
            "foreign": len(covered - expected),
            "duplicates": counts["duplicates"] + len(keys) - len(covered) + len(covered - expected),
            "lost": max(counts["lost"], len(expected - covered))}


# ----------------------------------------------------------------------------- report


HEADER = (f"{'backend':7} {'workers':>7} {'trials':>6} {'wall s':>7} {'trials/s':>8} {'vs 1':>6} "
          f"{'steady/s':>8} {'pg cpu s':>8} {'pg cores':>8} {'pg share':>8} {'busy':>5} {'lock':>5} "
          f"{'xact/tr':>7} {'conns':>5} {'dup':>4} {'lost':>4} {'open':>4}")


def line(backend: str, workers: int, r: dict, base: float) -> str:
    """One row of the table."""
    rate = r["complete"] / r["wall"] if r["wall"] else float("nan")
    ratio = f"{rate / base:5.2f}x"
    share = r["pg_cpu"] / max(1e-9, r["pg_cpu"] + r["workers_cpu"])
    return (f"{backend:7} {workers:>7} {r['complete']:>6} {r['wall']:7.1f} {rate:8.1f} {ratio:>6} "
            f"{r['steady']:8.1f} {r['pg_cpu']:8.1f} {r['pg_cpu'] / r['wall']:8.2f} {share:8.0%} "
            f"{r['active']:5.1f} {r['locked']:5.1f} {r['xacts'] / max(1, r['complete']):7.1f} "
            f"{r['connections']:>5} {r['duplicates']:>4} {r['lost']:>4} {r['left_open']:>4}")


def notes(r: dict) -> list[str]:
    """What the table's columns do not say: surplus and failed trials, unmatched records."""
    out = []
    if r["surplus"] or r["failed"]:
        out.append(f"{r['surplus']} surplus trials (asked past the budget, never trained), "
                   f"{r['failed']} failed")
    if r["unmatched"]:
        out.append(f"{r['unmatched']} trials trained but not COMPLETE, or COMPLETE but trained by no worker")
    if "missing" in r and (r["missing"] or r["foreign"] or r["point_twice"]):
        out.append(f"grid: {r['point_twice']} points run twice, {r['missing']} of the budget's points "
                   f"missing, {r['foreign']} points outside them")
    spread = r["per_worker"]
    out.append(f"trials per worker: min {min(spread)}, max {max(spread)}")
    return out


def verdict(backend: str, results: dict[int, dict]) -> str:
    """Duplicates and losses, whether throughput rose to 8 workers, and where it stopped."""
    counts = sorted(results)
    dup = sum(r["duplicates"] for r in results.values())
    lost = sum(r["lost"] + r["left_open"] for r in results.values())
    rate = {w: results[w]["complete"] / results[w]["wall"] for w in counts}
    text = f"{backend}: duplicates {dup} / lost {lost}; " + rising_to(rate, RISING_TO)
    plateau = next((w for prev, w in pairwise(counts) if rate[w] < RISING * rate[prev]), None)
    if plateau is None:
        return text + f"; trials/s still rising at {counts[-1]} workers: no limit reached"
    r, before = results[plateau], counts[counts.index(plateau) - 1]
    share = r["pg_cpu"] / max(1e-9, r["pg_cpu"] + r["workers_cpu"])
    # The database is the limit when it burns most of the CPU, or when the workers spend
    # most of their time waiting on it (half their backends busy at any moment).
    who = ("the database" if share >= 0.5 or r["active"] >= 0.5 * plateau
           else "the workers' own CPU (Python: ask, record, ledger), not the database")
    cores = os.cpu_count() or 1
    text += (f"; trials/s stops rising at {plateau} workers ({rate[plateau] / rate[before]:.2f}x "
             f"{before}): postgres used {r['pg_cpu'] / r['wall']:.2f} cores, {share:.0%} of the CPU "
             f"spent, {r['active']:.1f} of its {plateau} backends busy on average: the limit is {who}")
    if plateau > cores:
        text += f" (this machine has {cores} cores: past {cores} workers they share them)"
    return text


def checks(backend: str, results: dict[int, dict], failed: list[int]) -> list[Check]:
    """The backend's part of the verdict: nothing duplicated or lost, throughput rising to
    RISING_TO workers, and no run that failed."""
    dup = sum(r["duplicates"] for r in results.values())
    lost = sum(r["lost"] + r["left_open"] for r in results.values())
    clean = bool(results) and dup == lost == 0
    out = [Check(f"{backend} duplicates {dup} / lost {lost} (target 0 / 0)", clean,
                 "" if results else "no run finished")]
    rate = {w: r["complete"] / r["wall"] for w, r in results.items()}
    steps = [w for w in sorted(rate) if w <= RISING_TO]
    rising = all(rate[b] >= RISING * rate[a] for a, b in pairwise(steps))
    shown = len(steps) >= 2 and steps[-1] == RISING_TO
    measured = ", ".join(map(str, steps)) or "no"
    out.append(Check(f"{backend} trials/s up >= {RISING:.2f}x at each step to {RISING_TO} workers",
                     rising and shown, "" if shown else f"measured at {measured} workers only"))
    if failed:
        out.append(Check(f"{backend} runs at {', '.join(map(str, failed))} workers", False, "failed"))
    return out


def rising_to(rate: dict[int, float], target: int) -> str:
    """Whether each step of workers up to `target` raised trials/s by RISING or more."""
    steps = [w for w in sorted(rate) if w <= target]
    if len(steps) < 2:
        return f"throughput up to {target} workers: not measured"
    ok = all(rate[b] >= RISING * rate[a] for a, b in pairwise(steps))
    return (f"throughput kept rising to {steps[-1]} workers: {'yes' if ok else 'no'} "
            f"({steps[-1]} workers {rate[steps[-1]] / rate[steps[0]]:.2f}x of {steps[0]})")


# ----------------------------------------------------------------------------- main


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", help="worker counts, comma-separated (default 1,8,32; quick 1,4,8)")
    parser.add_argument("--only", choices=["grid", "tpe"], help="one backend")
    parser.add_argument("--trials", type=int, help="budget per run (default grid 2,000, tpe 500)")
    parser.add_argument("--quick", action="store_true", help="grid 300, tpe 150; 1, 4, 8 workers")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per run (default 1800)")
    parser.add_argument("--trial-seconds", type=float, default=0.0,
                        help="each trial trains this long without CPU (training elsewhere; default 0)")
    for hidden in ("--child", "--url", "--backend", "--space", "--out"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    return parser.parse_args()


def budget_of(backend: str, args: argparse.Namespace) -> int:
    if args.trials:
        return args.trials
    return {"grid": 300, "tpe": 150}[backend] if args.quick else {"grid": 2000, "tpe": 500}[backend]


def main() -> None:
    args = parse()
    if args.child:
        {"create": child_create, "worker": child_worker}[args.child](args)
        return
    os.environ[TRIAL_SECONDS_ENV] = str(args.trial_seconds)  # the workers read it
    trainer = (f"a trainer taking {args.trial_seconds:g} s a trial without CPU" if args.trial_seconds > 0
               else "instant trainer")
    counts = [int(w) for w in (args.workers or ("1,4,8" if args.quick else "1,8,32")).split(",")]
    admin = connect()
    version = query(admin, "SHOW server_version")[0][0]
    most = int(query(admin, "SHOW max_connections")[0][0])
    admin.close()
    print(f"coordinator at scale: PostgreSQL {version} on {SERVER['host']}:{SERVER['port']}, {trainer}, "
          f"{os.cpu_count()} CPU cores; vs 1 = trials/s against {counts[0]} worker(s)")
    print("busy/lock: the study's backends running a query / waiting on a lock, on average; "
          "pg share: postgres' CPU / (postgres' + the workers')")
    for workers in counts:
        if CONNECTIONS_PER_WORKER * workers + 2 > most:  # + the bench's own two
            print(f"warning: {workers} workers need about {CONNECTIONS_PER_WORKER * workers} connections, "
                  f"the server allows {most} (max_connections): expect 'too many clients'")
    print(HEADER, flush=True)
    judged: list[Check] = []
    for backend in [args.only] if args.only else ["grid", "tpe"]:
        results: dict[int, dict] = {}
        failed: list[int] = []
        for workers in counts:
            try:
                r = results[workers] = measure(backend, workers, budget_of(backend, args), args.timeout)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:  # the next count may still run
                print(f"{backend:7} {workers:>7}  failed: {exc}", flush=True)
                failed.append(workers)
                continue
            first = results[min(results)]
            print(line(backend, workers, r, first["complete"] / first["wall"]), flush=True)
            for note in notes(r):
                print(f"    {note}", flush=True)
        if results:
            print(verdict(backend, results), flush=True)
        judged += checks(backend, results, failed)
    finish("coordinator", judged)


if __name__ == "__main__":
    main()
