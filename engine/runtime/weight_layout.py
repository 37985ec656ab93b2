"""Whether llama.cpp may repack the model's weights into its CPU-specific layouts.

llama.cpp offers "extra buffer types" for weights on the CPU: a repacked layout for wide SIMD
and, when built on a CPU that advertises AMX, an AMX tile layout. On virtual machines that
advertise AMX the AMX matrix multiply has been seen to crash the process (SIGSEGV in
``ggml_backend_amx_mul_mat``) on the first prompt, and llama.cpp cannot tell beforehand. So
by default the extra layouts stay off where the CPU advertises AMX and on elsewhere; the
``weight_repack`` setting overrides the choice either way.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Iterator

CPUINFO = Path("/proc/cpuinfo")
AMX_FLAGS = frozenset({"amx_tile", "amx_int8", "amx_bf16"})

_patch_lock = threading.Lock()


def cpu_advertises_amx(cpuinfo: Path = CPUINFO) -> bool:
    """True when the CPU flags list any AMX feature (Linux; False where unknown)."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            return bool(AMX_FLAGS & set(line.partition(":")[2].split()))
    return False


def repack_weights(setting: bool | None) -> bool:
    """The effective choice: the setting when given, else off exactly where AMX is advertised."""
    return setting if setting is not None else not cpu_advertises_amx()


@contextlib.contextmanager
def model_params_with_repack(setting: bool | None) -> Iterator[None]:
    """While open, ``llama_cpp.Llama`` builds its model parameters with ``use_extra_bufts`` set
    to :func:`repack_weights` of ``setting``.

    ``Llama`` takes no argument for this field of ``llama_model_params``; it fills its
    parameters from ``llama_model_default_params()`` inside its constructor, so that one
    function is wrapped for the duration of the load (under a lock: loads do not overlap).
    """
    import llama_cpp.llama as llama_module

    repack = repack_weights(setting)
    with _patch_lock:
        original = llama_module.llama_cpp.llama_model_default_params

        def defaults():
            params = original()
            params.use_extra_bufts = repack
            return params

        llama_module.llama_cpp.llama_model_default_params = defaults
        try:
            yield
        finally:
            llama_module.llama_cpp.llama_model_default_params = original
