"""Which GPU each worker process trains on, and the environment that says so (issue 16).

Pure: no Keras, TensorFlow, JAX or PyTorch import. A backend reads its device
settings from the environment once, when it loads, so the launcher gives each
worker process its environment at start:

- `CUDA_VISIBLE_DEVICES`: the one GPU the worker sees. Workers are spread
  round-robin over the chosen GPUs (`worker0` on the first, `worker1` on the
  second, …, and around again).
- `TF_FORCE_GPU_ALLOW_GROWTH=true`: TensorFlow takes GPU memory as it needs it
  instead of nearly all of it at start (also the default in one process, so that
  other processes can share the GPU: `compat.devices.single_process_environment`).
- With K > 1 workers on one GPU, each is held to its share of the GPU's memory,
  `0.95 / K` (what is left is for each process's CUDA context): JAX through
  `XLA_PYTHON_CLIENT_PREALLOCATE=false` and `XLA_PYTHON_CLIENT_MEM_FRACTION`,
  PyTorch through `KT_TOOLKIT_GPU_MEMORY_FRACTION`, which the worker applies
  (`torch.cuda.set_per_process_memory_fraction`) right after PyTorch loads
  (`kt_toolkit.compat.devices`). TensorFlow grows into what it needs.
- `KT_TOOLKIT_DEVICE` (`GPU 0`, `CPU`): what `meta.json` and the progress line show.

The chief holds the oracle and trains nothing: it gets `CUDA_VISIBLE_DEVICES=""`
and `JAX_PLATFORMS=cpu`, so it never initializes a GPU.

GPUs are found without loading a backend: an existing `CUDA_VISIBLE_DEVICES`
is honoured (`--gpus 0` is then the first GPU it lists), else the NVIDIA driver's
`/proc/driver/nvidia/gpus/`, else `nvidia-smi -L`.
"""

import dataclasses
import math
import os
import shutil
import subprocess

from kt_toolkit.compat.devices import DEVICE_ENV, MEMORY_FRACTION_ENV
from kt_toolkit.errors import ConfigError

__all__ = ["DEVICE_ENV", "MEMORY_FRACTION_ENV", "WorkerDevice", "auto_workers",
           "chief_environment", "find_gpus", "parse_gpus", "parse_workers",
           "parse_workers_per_gpu", "plan_devices", "worker_environment"]

MEMORY_HEADROOM = 0.95  # of a shared GPU's memory, the part its workers divide
_PROC_GPUS = "/proc/driver/nvidia/gpus"


@dataclasses.dataclass(frozen=True)
class WorkerDevice:
    """One worker process's device.

    Attributes:
        worker_id: String, `worker0`, `worker1`, ….
        gpu: String, the GPU as `CUDA_VISIBLE_DEVICES` names it (an index or a
            UUID), or `None` for the CPU.
        memory_share: Float, the fraction of the GPU's memory the worker may use,
            or `None` when it has its GPU alone (or trains on the CPU).
    """

    worker_id: str
    gpu: "str | None"
    memory_share: "float | None" = None

    @property
    def label(self) -> str:
        """`GPU 1`, or `CPU`."""
        return "CPU" if self.gpu is None else f"GPU {self.gpu}"

    def environment(self) -> dict:
        """The variables to set in the worker's environment (see the module)."""
        return worker_environment(self.gpu, self.memory_share)


def worker_environment(gpu, memory_share=None) -> dict:
    """A worker's device environment: `gpu` (`None`: the CPU), its memory share."""
    if gpu is None:  # JAX_PLATFORMS stays: a TPU host's workers train on its TPU
        return {"CUDA_VISIBLE_DEVICES": "", DEVICE_ENV: "CPU"}
    env = {"CUDA_VISIBLE_DEVICES": str(gpu), "TF_FORCE_GPU_ALLOW_GROWTH": "true",
           DEVICE_ENV: f"GPU {gpu}"}
    if memory_share is not None:
        env.update({"XLA_PYTHON_CLIENT_PREALLOCATE": "false",
                    "XLA_PYTHON_CLIENT_MEM_FRACTION": f"{memory_share:g}",
                    MEMORY_FRACTION_ENV: f"{memory_share:g}"})
    return env


def chief_environment() -> dict:
    """The chief's: no GPU visible, JAX on the CPU (it trains nothing)."""
    return {"CUDA_VISIBLE_DEVICES": "", "JAX_PLATFORMS": "cpu", DEVICE_ENV: "CPU"}


def find_gpus(environ=None, *, proc_dir=_PROC_GPUS, nvidia_smi=None) -> list:
    """The GPUs this process may use, as `CUDA_VISIBLE_DEVICES` names them.

    Args:
        environ: Mapping, the environment (`os.environ`). A `CUDA_VISIBLE_DEVICES`
            there is the answer (empty or `-1`: no GPU).
        proc_dir: String, the NVIDIA driver's folder with one entry per GPU.
        nvidia_smi: Callable returning `nvidia-smi -L`'s output, or `None` to run
            it when it is on the `PATH`.

    Returns:
        List of strings (`["0", "1"]`), empty when there is no GPU.
    """
    environ = os.environ if environ is None else environ
    visible = environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        ids = [part.strip() for part in visible.split(",") if part.strip()]
        # CUDA stops at the first invalid entry; "-1" is the usual "none".
        cut = next((i for i, part in enumerate(ids) if part.startswith("-")), len(ids))
        return ids[:cut]
    try:
        count = len([entry for entry in os.listdir(proc_dir) if not entry.startswith(".")])
    except OSError:
        count = 0
    if count:
        return [str(index) for index in range(count)]
    text = (nvidia_smi or _nvidia_smi)()
    return [str(index) for index, line in enumerate(
        line for line in text.splitlines() if line.startswith("GPU "))]


def _nvidia_smi():
    if shutil.which("nvidia-smi") is None:
        return ""
    try:
        return subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True,
                              timeout=20, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def parse_gpus(value):
    """`--gpus`: `None` (not given), `"all"`, `"none"` or a list of indices.

    Raises:
        ConfigError: naming `--gpus` for anything else.
    """
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in ("all", "none"):
        return text
    parts = [part.strip() for part in text.split(",")]
    if not parts or not all(part.isdigit() for part in parts) or len(set(parts)) != len(parts):
        raise ConfigError(f"--gpus must be all, none or distinct GPU indices such as 0,1. "
                          f"Received: --gpus {value!r}. `nvidia-smi -L` lists the GPUs.",
                          key="--gpus")
    return [int(part) for part in parts]


def parse_workers(value):
    """`--workers`: `None`, `"auto"` or an integer >= 1 (text from the command line)."""
    if value is None or value == "auto":
        return value
    return _count("--workers", value, " or auto")


def parse_workers_per_gpu(value):
    """`--workers-per-gpu`: `None` or an integer >= 1 (text from the command line)."""
    return None if value is None else _count("--workers-per-gpu", value)


def _count(flag, value, alternative=""):
    try:
        number = int(str(value).strip())
    except ValueError:
        number = 0
    if isinstance(value, (bool, float)) or number < 1:
        raise ConfigError(f"{flag} must be a whole number >= 1{alternative}. Received: "
                          f"{flag} {value!r}.", key=flag)
    return number


def auto_workers(gpus, workers_per_gpu=None, *, cpus=None) -> int:
    """`--workers auto`: GPUs × `--workers-per-gpu`; on the CPU, half the cores (2 to 8)."""
    if gpus:
        return len(gpus) * (workers_per_gpu or 1)
    cpus = cpus or os.cpu_count() or 2
    return min(8, max(2, cpus // 2))


def plan_devices(workers, *, gpus=None, workers_per_gpu=None, available=None) -> list:
    """Each worker's device: round-robin over the chosen GPUs, or the CPU.

    Args:
        workers: Integer >= 1, or `"auto"`.
        gpus: `--gpus` as given (`None`, `"all"`, `"none"`, `"0,1"`, or a list of
            indices into `available`). `None` uses every GPU found, if any.
        workers_per_gpu: Integer >= 1 or `None`: how many workers share a GPU.
            Given, each worker gets `0.95 / workers_per_gpu` of its GPU's memory;
            otherwise a GPU's workers divide it among themselves.
        available: List of GPU ids (`find_gpus()`); `None` finds them.

    Returns:
        List of `WorkerDevice`, one per worker.

    Raises:
        ConfigError: naming the flag (`--gpus`, `--workers-per-gpu`, `--workers`)
            when the request cannot be met on this machine.
    """
    chosen = _chosen_gpus(parse_gpus(gpus) if not isinstance(gpus, list) else gpus,
                          find_gpus() if available is None else list(available))
    workers, workers_per_gpu = parse_workers(workers), parse_workers_per_gpu(workers_per_gpu)
    if workers_per_gpu is not None:
        if not chosen:
            raise ConfigError("--workers-per-gpu needs a GPU, and no GPU is in use (none found, "
                              "or --gpus none). Drop --workers-per-gpu to train on the CPU.",
                              key="--workers-per-gpu")
    number = auto_workers(chosen, workers_per_gpu) if workers == "auto" else workers
    if not chosen:
        return [WorkerDevice(f"worker{i}", None) for i in range(number)]
    per_gpu = math.ceil(number / len(chosen))
    if workers_per_gpu is not None and per_gpu > workers_per_gpu:
        raise ConfigError(f"--workers {number} puts {per_gpu} workers on a GPU, more than "
                          f"--workers-per-gpu {workers_per_gpu}. Received: --workers {number} "
                          f"on {len(chosen)} GPU(s). Use --workers auto "
                          f"({len(chosen) * workers_per_gpu}), or more --gpus.", key="--workers")
    counts = [len(range(index, number, len(chosen))) for index in range(len(chosen))]
    devices = []
    for index in range(number):
        sharing = workers_per_gpu or counts[index % len(chosen)]
        share = round(MEMORY_HEADROOM / sharing, 3) if sharing > 1 else None
        devices.append(WorkerDevice(f"worker{index}", chosen[index % len(chosen)], share))
    return devices


def _chosen_gpus(gpus, available):
    if gpus == "none":
        return []
    if gpus is None:
        return available
    if not available:
        shown = gpus if gpus == "all" else ",".join(map(str, gpus))
        raise ConfigError(f"--gpus {shown}: this machine has no GPU (CUDA_VISIBLE_DEVICES, "
                          "/proc/driver/nvidia and nvidia-smi list none). Drop --gpus to "
                          "train on the CPU.", key="--gpus")
    if gpus == "all":
        return available
    missing = [index for index in gpus if index >= len(available)]
    if missing:
        raise ConfigError(f"--gpus must name GPUs of this machine: indices 0 to "
                          f"{len(available) - 1}. Received: --gpus "
                          f"{','.join(map(str, gpus))}.", key="--gpus")
    return [available[index] for index in gpus]
