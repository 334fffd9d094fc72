"""The device a process trains on, and PyTorch's share of a GPU (issue 16).

Imports no backend: the CLI calls `single_process_environment()` before any loads
(TensorFlow's memory growth by default in one process).

The launcher sets each worker's device environment before its backend loads
(`kt_toolkit.tuners.devices`). Two things cannot be said through the environment
alone, and need the backend once it is loaded:

- PyTorch has no variable for a per-process memory cap: `apply_memory_share()`
  calls `torch.cuda.set_per_process_memory_fraction` with the share the launcher
  put in `KT_TOOLKIT_GPU_MEMORY_FRACTION` (the worker calls it right after Keras,
  and so PyTorch, has loaded; torch 2.x API).
- In one process nobody set `KT_TOOLKIT_DEVICE`: `training_device()` asks the
  loaded backend whether it trains on a GPU (TensorFlow's logical GPUs, JAX's
  default backend, `torch.cuda.is_available()`), once per process.

Nothing here imports a backend that is not loaded already.
"""

import functools
import logging
import os
import sys

__all__ = ["DEVICE_ENV", "MEMORY_FRACTION_ENV", "apply_memory_share",
           "single_process_environment", "training_device"]

DEVICE_ENV = "KT_TOOLKIT_DEVICE"
MEMORY_FRACTION_ENV = "KT_TOOLKIT_GPU_MEMORY_FRACTION"

logger = logging.getLogger(__name__)


def apply_memory_share(environ=None):
    """Caps PyTorch's share of its GPU at `KT_TOOLKIT_GPU_MEMORY_FRACTION`, if set.

    Returns:
        The fraction applied, or `None` (not set, not PyTorch, or no GPU).
    """
    environ = os.environ if environ is None else environ
    share = environ.get(MEMORY_FRACTION_ENV)
    torch = sys.modules.get("torch")
    if not share or torch is None or not torch.cuda.is_available():
        return None
    torch.cuda.set_per_process_memory_fraction(float(share))
    logger.info("PyTorch holds to %s of the GPU's memory (%s)", share, MEMORY_FRACTION_ENV)
    return float(share)


def single_process_environment(environ=None) -> dict:
    """Sets TensorFlow's memory growth in `environ` (`os.environ`) unless the user set it.

    Call before TensorFlow loads (the CLI and `run_experiment` do): in one process TensorFlow then
    takes GPU memory as it needs it, so other processes can share the GPU.
    Returns what was set.
    """
    environ = os.environ if environ is None else environ
    if "TF_FORCE_GPU_ALLOW_GROWTH" in environ:
        return {}
    environ["TF_FORCE_GPU_ALLOW_GROWTH"] = "true"
    return {"TF_FORCE_GPU_ALLOW_GROWTH": "true"}


def training_device(environ=None):
    """`"GPU 0"` or `"CPU"`: the launcher's word for this worker, else the backend's."""
    environ = os.environ if environ is None else environ
    if environ.get(DEVICE_ENV):
        return environ[DEVICE_ENV]
    if not _backend_uses_gpu():
        return "CPU"
    visible = [part for part in environ.get("CUDA_VISIBLE_DEVICES", "0").split(",") if part]
    return f"GPU {visible[0] if visible else 0}"


@functools.lru_cache(maxsize=1)
def _backend_uses_gpu():
    keras = sys.modules.get("keras")
    backend = keras.backend.backend() if keras is not None else None
    try:
        if backend == "tensorflow":
            return bool(sys.modules["tensorflow"].config.list_logical_devices("GPU"))
        if backend == "jax":
            return sys.modules["jax"].default_backend() in ("gpu", "cuda", "rocm")
        if backend == "torch":
            return bool(sys.modules["torch"].cuda.is_available())
    except Exception:  # noqa: BLE001 - a label must never end a search
        return False
    return False
