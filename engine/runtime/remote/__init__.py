"""Generation on an OpenAI-compatible inference server (llama-server, vLLM, llama_cpp.server)."""

from engine.runtime.remote.runtime import RemoteModelRuntime

__all__ = ["RemoteModelRuntime"]
