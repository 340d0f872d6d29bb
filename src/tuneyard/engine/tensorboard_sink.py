"""TensorBoard: each trial's per-epoch scalars and the HParams dashboard's records.

DIR/<study>/ holds the study's HParams config (its parameters with their domains and the
objective) once; DIR/<study>/trial-N/ is trial N's run: its session (parameters, start,
and at the end its status) and a scalar per logged value per epoch, then `best_<metric>`
(the objective: the best epoch's value, repeats averaged) and the other `best_val_*`.
The HParams dashboard lists each trial as a session with its parameters and objective.

Event files are written with TensorBoard's own protos and record format, without
TensorFlow: the sweep's process never imports it. `summary_v2` is the module behind
`tensorboard.plugins.hparams.api` (`hp`): the same `HParam`, domains, `Metric` and
`hparams_pb`/`hparams_config_pb`, imported directly because `hp` also loads its Keras
callback, which imports TensorFlow.
"""

from __future__ import annotations

import itertools
import os
import socket
import time
from pathlib import Path
from typing import Any

from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2
from tensorboard.plugins.hparams import summary_v2 as hp
from tensorboard.summary.writer.record_writer import RecordWriter

from tuneyard.engine.tracking import ENDED, FAILED
from tuneyard.errors import TuneyardError

CONFIG_SUFFIX = ".hparams-config"  # the study folder's config file ends so: written once
_SEQUENCE = itertools.count()
# The HParams plugin knows success, failure, running and unknown: a pruned trial, or one cut
# off (it runs again), is neither a success nor a failure.
_STATUS = {ENDED: api_pb2.STATUS_SUCCESS, FAILED: api_pb2.STATUS_FAILURE}


class EventFile:
    """One event file, written by this process only (its name holds host, pid and a count),
    flushed after each event so TensorBoard shows a trial while it trains."""

    def __init__(self, folder: Path, suffix: str = ""):
        folder.mkdir(parents=True, exist_ok=True)
        name = (f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}."
                f"{os.getpid()}.{next(_SEQUENCE)}{suffix}")
        self.path = folder / name
        self._file = open(self.path, "wb")  # noqa: SIM115 - kept open while the trial trains
        self._records = RecordWriter(self._file)
        self._write(event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2"))

    def summary(self, summary: Any, step: int = 0) -> None:
        """Write a Summary proto at `step`."""
        self._write(event_pb2.Event(wall_time=time.time(), step=step, summary=summary))

    def scalars(self, values: dict, step: int) -> None:
        """Write each of `values` (name -> number) as a scalar at `step`."""
        summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=k, simple_value=float(v))
                                             for k, v in values.items()])
        self.summary(summary, step)

    def _write(self, event: Any) -> None:
        self._records.write(event.SerializeToString())
        self._file.flush()

    def close(self) -> None:
        """Close the file."""
        self._file.close()


class TensorBoardSink:
    """Writes a sweep's trials under DIR/<study>/ (see the module docstring)."""

    name = "TensorBoard"

    def __init__(self, folder: Path, study: str):
        self.root, self.folder = Path(folder), Path(folder) / study
        self.files: dict[int, EventFile] = {}
        self.metric = ""
        self.as_text: set[str] = set()  # choices of mixed types: their values written as text

    def connect(self, new_study: bool, shared: bool = False) -> None:
        """Make DIR/<study>; a new study refuses a folder an earlier one of its name filled."""
        if new_study and any(self.folder.glob("trial-*")):
            raise TuneyardError(
                f"{self.folder} holds the event files of an earlier study named "
                f"{self.folder.name}; TensorBoard would mix its trials with this one's: move or "
                "remove that folder, or give another TensorBoard folder")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TuneyardError(f"the TensorBoard folder {self.folder} cannot be made "
                                f"({exc.strerror or exc}); give another folder") from None

    def study_opened(self, study: Any, space: Any, config: dict, budget: int) -> None:
        """Write the HParams config, unless an earlier run of the study did."""
        self.metric = space.metric
        self.as_text = {p.name for p in space.params if p.kind == "choice" and _mixed(p.values)}
        if any(self.folder.glob(f"events.out.tfevents.*{CONFIG_SUFFIX}")):
            return
        metric = hp.Metric(f"best_{space.metric}", display_name=f"{space.metric} (objective)",
                           description=f"the best epoch's {space.metric} ({space.direction}), "
                                       "repeats averaged")
        config_file = EventFile(self.folder, CONFIG_SUFFIX)
        try:
            config_file.summary(hp.hparams_config_pb([_hparam(p) for p in space.params], [metric]))
        finally:
            config_file.close()

    def trial_started(self, number: int, params: dict, epochs: int) -> None:
        """Open the trial's run and write its session: parameters and start time."""
        self._close_file(number)
        events = self.files[number] = EventFile(self.folder / f"trial-{number}")
        values = {name: str(value) if name in self.as_text else _value(value)
                  for name, value in params.items()}
        events.summary(hp.hparams_pb(values, trial_id=f"trial-{number}"))

    def epoch(self, number: int, step: int, logs: dict) -> None:
        """One epoch's logs as scalars at `step`."""
        if number in self.files and logs:
            self.files[number].scalars(logs, step)

    def trial_ended(self, number: int, result: Any, state: str, how: str, last: int,
                    diagnosis: str) -> None:
        """The trial's best values and its session's end (status)."""
        events = self.files.pop(number, None)
        if events is None:
            return
        try:
            best = {f"best_{k}": v for k, v in (result.metrics or {}).items() if k.startswith("val_")}
            if result.ok:
                best[f"best_{self.metric}"] = result.value
            if best:
                events.scalars(best, max(last, 1))
            end = plugin_data_pb2.SessionEndInfo(status=_STATUS.get(how, api_pb2.STATUS_UNKNOWN),
                                                 end_time_secs=time.time())
            events.summary(_plugin_summary(metadata.SESSION_END_INFO_TAG,
                                           plugin_data_pb2.HParamsPluginData(session_end_info=end)))
        finally:
            events.close()

    def close(self, how: str, best: dict | None, best_value: float | None) -> None:
        """Close the runs of trials that never ended here (the sweep records them first)."""
        for number in list(self.files):
            self._close_file(number)

    def _close_file(self, number: int) -> None:
        events = self.files.pop(number, None)
        if events is not None:
            events.close()


def _plugin_summary(tag: str, data: Any) -> Any:
    """A Summary holding the HParams plugin's `data` under `tag` (as summary_v2 writes)."""
    summary = summary_pb2.Summary()
    summary.value.add(tag=tag, metadata=metadata.create_summary_metadata(data),
                      tensor=metadata.NULL_TENSOR)
    return summary


def _hparam(param: Any) -> Any:
    """A space parameter as an HParam with its domain."""
    if param.kind == "float":
        return hp.HParam(param.name, hp.RealInterval(float(param.low), float(param.high)))
    if param.kind == "int":
        return hp.HParam(param.name, hp.IntInterval(int(param.low), int(param.high)))
    # A Discrete domain holds values of one type: a choice of several is written as text.
    values = [str(v) for v in param.values] if _mixed(param.values) else [_value(v) for v in param.values]
    return hp.HParam(param.name, hp.Discrete(values))


def _mixed(values: Any) -> bool:
    return len({type(_value(v)) for v in values}) > 1


def _value(value: Any) -> Any:
    """A parameter's value as the HParams plugin takes it: bool, number or text."""
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        return float(value)
    return str(value)
