"""Out of memory in a trial: which errors are, what the trial's reason says (issue 16).

A trial that runs out of GPU memory ends FAILED with the reason
"GPU out of memory at batch size B (model has P parameters)" and the search goes
on; with `training.oom: halve_batch` it is first retried once at half the batch
size (`RecordingMixin`). Each backend raises its own type:

| backend | error | test |
|---|---|---|
| TensorFlow | `tf.errors.ResourceExhaustedError` | the type |
| PyTorch | `torch.cuda.OutOfMemoryError` | the type |
| JAX | `jax.errors.JaxRuntimeError` (jaxlib's `XlaRuntimeError`) | the type, and `RESOURCE_EXHAUSTED` in its message: JAX raises this one type for every runtime error |
| (host) | `MemoryError` | the type: out of host memory, not GPU |

The types are looked up only in backends already imported (an error of a backend
means its module is loaded), so nothing here imports TensorFlow, JAX or PyTorch.
The error's causes (`raise ... from`, an error while handling another) are searched
too: Keras and KerasTuner re-raise some errors wrapped.
"""

import gc
import sys

__all__ = ["gpu_oom_error", "is_host_oom", "oom_reason", "release_memory"]

def _backend_oom_types():
    """`(types, message-checked types)` of the backends imported in this process."""
    types, checked = [], []
    tf = sys.modules.get("tensorflow")
    errors = getattr(tf, "errors", None)
    if getattr(errors, "ResourceExhaustedError", None) is not None:
        types.append(errors.ResourceExhaustedError)
    torch = sys.modules.get("torch")
    cuda = getattr(torch, "cuda", None)
    if getattr(cuda, "OutOfMemoryError", None) is not None:
        types.append(cuda.OutOfMemoryError)
    jax_errors = sys.modules.get("jax.errors")
    if getattr(jax_errors, "JaxRuntimeError", None) is not None:
        checked.append(jax_errors.JaxRuntimeError)
    xla = sys.modules.get("jaxlib.xla_extension")  # jaxlib < 0.5: the same error's type
    if getattr(xla, "XlaRuntimeError", None) is not None:
        checked.append(xla.XlaRuntimeError)
    return tuple(types), tuple(checked)


def _chain(error):
    """`error` and its causes, each once."""
    seen = []
    while error is not None and not any(error is e for e in seen):
        seen.append(error)
        error = error.__cause__ or error.__context__
    return seen


def gpu_oom_error(error):
    """The device out-of-memory error in `error`'s chain, or `None`.

    Args:
        error: An exception raised while building or training a trial's model.

    Returns:
        The backend's out-of-memory exception (`error` itself or one of its
        causes), or `None` when none of them is one.
    """
    types, checked = _backend_oom_types()
    for link in _chain(error):
        if types and isinstance(link, types):
            return link
        if checked and isinstance(link, checked) and "RESOURCE_EXHAUSTED" in str(link):
            return link
    return None


def is_host_oom(error):
    """Whether `error` (or a cause) is Python's `MemoryError`: the host's memory ran out."""
    return any(isinstance(link, MemoryError) for link in _chain(error))


def oom_reason(batch_size, parameters, *, retried_from=None):
    """The FAILED trial's one-line reason for a GPU out-of-memory error.

    Args:
        batch_size: Integer or `None`, the batch size the trial ran out at.
        parameters: Integer or `None`, the model's parameter count (`None`: it
            ran out while the model was being built).
        retried_from: Integer or `None`: the batch size of a first attempt that
            ran out too (`training.oom: halve_batch`).

    Returns:
        String: "GPU out of memory at batch size B (model has P parameters)" and
        what to do.
    """
    size = ("model size unknown: it ran out while the model was built" if parameters is None
            else f"model has {parameters} parameters")
    batch = "?" if batch_size is None else batch_size
    text = f"GPU out of memory at batch size {batch} ({size})"
    if retried_from is not None:
        text += f", retried after running out at batch size {retried_from}"
    hint = ("Lower batch_size, units or layers, or run fewer --workers-per-gpu"
            + ("" if retried_from is not None else
               ", or set training.oom: halve_batch to retry such trials at half the batch"))
    return f"{text}. {hint}; the search goes on with the other settings."


def release_memory():
    """Frees what a trial that ran out left on its device, so the next one starts clean.

    Keras's `clear_session` and a collection drop the failed model; PyTorch's
    caching allocator also gives its cached blocks back to the GPU.
    """
    keras = sys.modules.get("keras")
    if keras is not None:
        keras.backend.clear_session()
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()
