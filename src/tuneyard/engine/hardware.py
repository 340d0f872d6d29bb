"""What this machine offers a sweep, read without training (`tune devices`): GPUs with their
memory and compute capability, the cores, the CPU's bfloat16 support, the GPUs the Keras
backend sees and the versions of the libraries that train.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

from tuneyard.engine.devices import nvidia_smi

# The libraries `tune devices` reports, by distribution name (TensorFlow under either wheel).
LIBRARIES = (("TensorFlow", ("tensorflow", "tensorflow-cpu")), ("Keras", ("keras",)),
             ("Keras Tuner", ("keras-tuner",)), ("Optuna", ("optuna",)))


def library_version(names: tuple[str, ...]) -> str:
    """The installed version of the first of `names` found, with its name when it is not
    the first (tensorflow-cpu); "not installed" when none is."""
    for name in names:
        try:
            found = version(name)
        except PackageNotFoundError:
            continue
        return found if name == names[0] else f"{found} ({name})"
    return "not installed"


@dataclass
class Gpu:
    """One GPU as nvidia-smi (or the Keras backend) reports it."""

    index: str
    name: str
    memory_mib: int | None = None
    capability: float | None = None


def nvidia_gpus() -> list[Gpu] | None:
    """Every GPU nvidia-smi lists with its memory and compute capability (None: no nvidia-smi).
    Drivers before 510 do not know `compute_cap`: then it is left unknown."""
    fields = "index,name,memory.total,compute_cap"
    out = nvidia_smi(f"--query-gpu={fields}", "--format=csv,noheader,nounits")
    if out is None:
        out = nvidia_smi("--query-gpu=index,name,memory.total", "--format=csv,noheader,nounits")
    if out is None:
        return None
    gpus = []
    for line in out.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 3:
            gpus.append(Gpu(parts[0], parts[1], _number(parts[2], int),
                            _number(parts[3], float) if len(parts) > 3 else None))
    return gpus


def _number(text: str, kind: type) -> float | int | None:
    try:
        return kind(float(text))
    except ValueError:
        return None  # "[N/A]"


def gpu_precision(capability: float | None) -> str:
    """The precisions a GPU of this compute capability trains fast in."""
    if capability is None:
        return "unknown (compute capability not reported)"
    fast = ["float32"]
    if capability >= 7.0:  # tensor cores for float16 from Volta
        fast.append("mixed float16")
    if capability >= 8.0:  # and bfloat16 from Ampere
        fast.append("bfloat16")
    return ", ".join(fast)


def cpu_flags() -> set[str]:
    """The CPU's feature flags (/proc/cpuinfo; empty where there is none)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            for line in info:
                if line.startswith("flags"):
                    return set(line.partition(":")[2].split())
    except OSError:
        pass
    return set()


# The CPU flags that mean bfloat16 in hardware (AVX-512 BF16, AMX).
BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def cpu_has_bfloat16(flags: set[str]) -> bool:
    """Whether the CPU computes bfloat16 in hardware (`--precision mixed` uses it then)."""
    return bool(flags & BF16_FLAGS)


def cpu_precision(flags: set[str]) -> str:
    """What the CPU trains fast in: bfloat16 with AVX-512 BF16 or AMX, else float32 alone."""
    native = sorted(flags & BF16_FLAGS)
    if native:
        return f"float32, bfloat16 ({', '.join(native)})"
    return "float32 only (bfloat16 emulated, slow)"


def backend_gpus(backend: str) -> tuple[list[Gpu], str]:
    """The GPUs the Keras backend sees, and a note (imports the backend: seconds)."""
    # heavy: keras
    import keras

    try:
        names = keras.distribution.list_devices("gpu")
    except Exception as exc:  # a backend without the API, or no GPU runtime
        return [], f"{backend} could not list its GPUs ({type(exc).__name__})"
    gpus = [Gpu(str(n).rpartition(":")[2], str(n)) for n in names]
    if backend == "tensorflow":
        _tensorflow_details(gpus)
    return gpus, f"{backend} sees {len(gpus)} GPU{'s' if len(gpus) != 1 else ''}"


def _tensorflow_details(gpus: list[Gpu]) -> None:
    # heavy: tensorflow
    import tensorflow as tf

    for gpu, physical in zip(gpus, tf.config.list_physical_devices("GPU"), strict=False):
        details = tf.config.experimental.get_device_details(physical)
        gpu.name = details.get("device_name", gpu.name)
        capability = details.get("compute_capability")
        if capability:
            gpu.capability = float(f"{capability[0]}.{capability[1]}")
