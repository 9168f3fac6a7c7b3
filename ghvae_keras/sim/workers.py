"""Making episodes in worker processes, in order, with a progress bar.

The simulators never run in the process that builds the dataset: Mesa's
software OpenGL (which MuJoCo renders with) and TensorFlow cannot be loaded
into one process (each brings its own LLVM; the second one loaded crashes).
Each worker is a fresh Python running this file as a script: it imports the
scene module (neither `ghvae_keras` nor `ghvae_keras.sim` loads TensorFlow),
reads seeds from its stdin and writes episodes to its stdout as `.npz`
bytes (numpy arrays only, read back without pickle).

Protocol, per seed: the parent writes `{"seed": s}` as one JSON line; the
worker answers one JSON line `{"seed": s, "seconds": t, "bytes": n}` (or
`{"error": traceback}`) and then n bytes of `.npz`.

`SimulatorProcess` keeps one simulator object alive in a worker for a
caller that drives it step by step (planning): the parent writes
`{"method": m, "kwargs": {...}}`; the worker answers as above with the
arrays the method returned.
"""

import collections
import io
import json
import os
import pathlib
import selectors
import subprocess
import sys
import time

if __name__ == "__main__":  # a worker: this file runs as a script, its package two folders up
    sys.path[0] = str(pathlib.Path(__file__).resolve().parents[2])

from ghvae_keras.errors import WorkerError  # noqa: E402

__all__ = ["GenerationStats", "SimulatorProcess", "WorkerError", "generate"]

# Seeds in flight per worker: one being made, one waiting, so a worker never idles.
_DEPTH = 2


class GenerationStats:
    """Frames made and seconds spent, per worker process.

    `frames_per_s()` is the throughput of the whole generation (wall clock);
    `worker_frames_per_s()` each worker's own rate over the time it spent
    simulating and rendering.
    """

    def __init__(self):
        self.frames = collections.Counter()
        self.seconds = collections.Counter()
        self.episodes = 0
        self.started = time.perf_counter()

    def add(self, worker, frames, seconds):
        self.frames[worker] += frames
        self.seconds[worker] += seconds
        self.episodes += 1

    def elapsed(self):
        return time.perf_counter() - self.started

    def frames_per_s(self):
        elapsed = self.elapsed()
        return sum(self.frames.values()) / elapsed if elapsed else 0.0

    def worker_frames_per_s(self):
        return [round(self.frames[w] / self.seconds[w], 1) for w in sorted(self.frames)
                if self.seconds[w]]


def generate(scene, seeds, *, options=None, workers=1, stats=None, description="episodes"):
    """Yields the episodes of `seeds`, in their order, each a dict of numpy
    arrays made by `ghvae_keras.sim.<scene>.make_episode(seed, **options)`.

    Args:
        scene: the scene module's name in `ghvae_keras.sim`, e.g.
            `"push_scene"`.
        seeds: the episodes' seeds.
        options: JSON-serialisable keyword arguments of `make_episode`.
        workers: worker processes; the output does not depend on it.
        stats: a `GenerationStats` to add each episode's frames and time to.
        description: the progress bar's label.

    Raises:
        WorkerError: with the worker's traceback, if an episode fails.
    """
    import tqdm  # a dependency of tensorflow-datasets

    seeds = list(seeds)
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    workers = max(1, min(workers, len(seeds)))
    if not seeds:
        return
    processes = [_start(scene, json.dumps(options or {})) for _ in range(workers)]
    selector = selectors.DefaultSelector()
    for process in processes:
        selector.register(process.stdout, selectors.EVENT_READ, process)
    in_flight = {process: collections.deque() for process in processes}
    done = {}
    next_to_send = next_to_yield = 0
    window = workers * _DEPTH * 2  # episodes held while an earlier one is late
    progress = tqdm.tqdm(total=len(seeds), desc=description, unit="episode", smoothing=0.05)
    try:
        with progress:
            while next_to_yield < len(seeds):
                for process in processes:
                    while (len(in_flight[process]) < _DEPTH and next_to_send < len(seeds)
                           and next_to_send < next_to_yield + window):
                        _send(process, seeds[next_to_send])
                        in_flight[process].append(next_to_send)
                        next_to_send += 1
                for key, _ in selector.select():
                    process = key.data
                    header, episode = _receive(process)
                    index = in_flight[process].popleft()
                    if header["seed"] != seeds[index]:
                        raise WorkerError(f"worker answered seed {header['seed']}, "
                                          f"expected {seeds[index]}")
                    if stats is not None:
                        stats.add(process.pid, len(episode["video"]), header["seconds"])
                    done[index] = episode
                while next_to_yield in done:
                    progress.update()
                    yield done.pop(next_to_yield)
                    next_to_yield += 1
    finally:
        for process in processes:
            process.stdin.close()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        selector.close()


class SimulatorProcess:
    """A simulator object that lives in a worker process, called by method.

    `ghvae_keras.sim.<scene>.<factory>(**options)` is made in a fresh
    worker; `call(method, **kwargs)` runs `object.method(**kwargs)` there and
    returns the dict of numpy arrays it returned. Arguments travel as JSON
    (numpy arrays become lists), results as `.npz` without pickle.

    Example:
        >>> with SimulatorProcess("push_scene", "PushTask") as task:
        ...     start = task.call("reset", seed=0)      # {"frame", "goal_image", ...}
        ...     after = task.call("step", action=[0.5, 0, 0, -1])

    Raises:
        WorkerError: with the worker's traceback when a call fails, or when
            the worker has died.
    """

    def __init__(self, scene, factory, options=None):
        self.process = _start("--object", scene, factory, json.dumps(options or {}))

    def call(self, method, **kwargs):
        """Calls `method` of the simulator object; returns its arrays."""
        self.submit(method, **kwargs)
        return self.result()

    def submit(self, method, **kwargs):
        """Starts a call and returns at once: several processes can work at
        the same time; `result()` waits for the answer."""
        kwargs = {key: _to_json(value) for key, value in kwargs.items()}
        request = json.dumps({"method": method, "kwargs": kwargs}).encode() + b"\n"
        try:
            self.process.stdin.write(request)
            self.process.stdin.flush()
        except (BrokenPipeError, ValueError):  # ValueError: closed by close()
            raise WorkerError(f"the simulator process ended (exit status {self.process.wait()}); "
                              "see its error output above") from None

    def result(self):
        """The arrays of the call `submit` started."""
        _, arrays = _receive(self.process)
        return arrays

    def close(self):
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def _to_json(value):
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_to_json(item) for item in value]
    return value


def _start(*arguments):
    """A worker process running this file with `arguments`."""
    return subprocess.Popen(
        [sys.executable, __file__, *arguments],
        # Unbuffered: the selector watches the pipe itself, so no reply may
        # wait in a Python buffer where it cannot see it.
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0,
    )


def _send(process, seed):
    process.stdin.write(json.dumps({"seed": int(seed)}).encode() + b"\n")
    process.stdin.flush()


def _receive(process):
    import numpy as np

    line = _read_line(process)
    if not line:
        code = process.wait()
        raise WorkerError(f"a worker process ended (exit status {code}); see its error output above")
    header = json.loads(line)
    if "error" in header:
        where = f" on seed {header['seed']}" if "seed" in header else ""
        raise WorkerError(f"a worker failed{where}:\n{header['error']}")
    data = _read_exactly(process, header["bytes"])
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        episode = {key: arrays[key] for key in arrays.files}
    # Scalars travel as 0-d arrays; text as numpy strings.
    return header, {key: value[()] if value.ndim == 0 else value for key, value in episode.items()}


def _read_line(process):
    line = bytearray()
    while not line.endswith(b"\n"):
        byte = process.stdout.read(1)
        if not byte:
            break
        line += byte
    return bytes(line)


def _read_exactly(process, size):
    data = bytearray()
    while len(data) < size:
        chunk = process.stdout.read(size - len(data))
        if not chunk:
            raise WorkerError(f"a worker process ended mid-episode (exit status {process.wait()})")
        data += chunk
    return bytes(data)


def _serve(scene, options):
    """The worker's loop: seeds in, episodes out, until stdin closes."""
    import traceback

    channel = _claim_stdout()
    make_episode = None
    for line in sys.stdin:
        seed = json.loads(line)["seed"]
        try:
            if make_episode is None:
                make_episode = _import_scene(scene).make_episode
            start = time.perf_counter()
            data = _npz_bytes(make_episode(seed, **options))
            seconds = time.perf_counter() - start
        except Exception:
            _write_error(channel, {"seed": seed}, traceback.format_exc())
            return
        _write_reply(channel, {"seed": seed, "seconds": seconds}, data)


def _serve_object(scene, factory, options):
    """The loop of a `SimulatorProcess`: method calls in, arrays out. A
    failed call is reported and the object kept, as a local call would."""
    import traceback

    channel = _claim_stdout()
    simulator = None
    for line in sys.stdin:
        request = json.loads(line)
        try:
            if simulator is None:
                simulator = getattr(_import_scene(scene), factory)(**options)
            start = time.perf_counter()
            data = _npz_bytes(getattr(simulator, request["method"])(**request["kwargs"]))
            seconds = time.perf_counter() - start
        except Exception:
            _write_error(channel, {}, traceback.format_exc())
            continue
        _write_reply(channel, {"seconds": seconds}, data)


def _claim_stdout():
    """The protocol owns the real stdout; anything a library prints goes to stderr."""
    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    return channel


def _import_scene(scene):
    import importlib

    return importlib.import_module(f"ghvae_keras.sim.{scene}")


def _write_error(channel, header, error):
    channel.write(json.dumps({**header, "error": error}).encode() + b"\n")
    channel.flush()


def _npz_bytes(arrays):
    import numpy as np

    buffer = io.BytesIO()
    np.savez(buffer, **{key: np.asarray(value) for key, value in arrays.items()})
    return buffer.getvalue()


def _write_reply(channel, header, data):
    channel.write(json.dumps({**header, "bytes": len(data)}).encode() + b"\n")
    channel.write(data)
    channel.flush()


if __name__ == "__main__":
    if sys.argv[1] == "--object":
        _serve_object(sys.argv[2], sys.argv[3], json.loads(sys.argv[4]))
    else:
        _serve(sys.argv[1], json.loads(sys.argv[2]))
