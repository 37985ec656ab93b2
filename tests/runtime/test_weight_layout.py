"""Weight layouts: AMX-advertising CPUs load without llama.cpp's extra buffer types, others with."""

import llama_cpp

from engine.runtime.model import ModelRuntime
from engine.runtime.settings import RuntimeSettings
from engine.runtime.weight_layout import cpu_advertises_amx, repack_weights

SAPPHIRE_RAPIDS = ("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f amx_bf16 avx512_fp16 amx_tile amx_int8\n"
                   "bugs\t\t: spectre_v1\n")
ZEN4 = "processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16 avx512_vnni\n"


def test_amx_is_read_from_the_cpu_flags(tmp_path):
    amx, plain = tmp_path / "amx", tmp_path / "plain"
    amx.write_text(SAPPHIRE_RAPIDS)
    plain.write_text(ZEN4)
    assert cpu_advertises_amx(amx) and not cpu_advertises_amx(plain)
    assert not cpu_advertises_amx(tmp_path / "missing")


def test_the_setting_overrides_the_automatic_choice():
    assert repack_weights(True) is True and repack_weights(False) is False
    assert repack_weights(None) is (not cpu_advertises_amx())


def test_the_load_uses_the_choice_and_leaves_llama_cpp_defaults_alone(runtime):
    assert runtime.llama.model_params.use_extra_bufts is repack_weights(runtime.settings.weight_repack)
    assert llama_cpp.llama_model_default_params().use_extra_bufts is True
    forced = ModelRuntime(RuntimeSettings(n_ctx=256, weight_repack=False, n_seq_max=1))
    try:
        assert forced.llama.model_params.use_extra_bufts is False
        assert forced.count_tokens("The weights load in the plain layout.") > 0
    finally:
        forced.close()
