"""Errors a user can cause, each with a message a person understands.

The CLI prints ``str(error)`` on one line and exits with code 2; the desktop shows it in a
dialog. Anything that is not an :class:`LlmosError` is a bug and may show a traceback.
"""


class LlmosError(Exception):
    """Base of every error caused by input, files or settings rather than by a bug."""


class ModelFileError(LlmosError):
    """A model file is missing, not GGUF, truncated or of an architecture llama.cpp lacks."""


class ContextTooSmallError(LlmosError):
    """The context window cannot hold the fixed part of the prompt."""


class DataDirError(LlmosError):
    """The data directory cannot be used (unreadable, not writable, corrupt database)."""


class DataDirLockedError(DataDirError):
    """Another running llmos holds this data directory."""


class CoreMemoryLimitError(LlmosError):
    """A core memory edit would exceed the block's character limit."""


class NotFoundError(LlmosError):
    """A named thing (agent, block, version, message) does not exist."""


class InputError(LlmosError):
    """User input that cannot be accepted as it is (e.g. an empty message)."""


class AgentFileError(InputError):
    """An agent file that cannot be imported as it is (not JSON, wrong types, broken ids, too big)."""


class InferenceServerError(LlmosError):
    """The inference server that generates replies could not be used; the conversation is kept."""


class ServerUrlError(InferenceServerError):
    """The server address is not an http(s) URL, or names no server that answers as one."""


class ServerUnreachableError(InferenceServerError):
    """Nothing answers at the server address, or the connection broke mid-reply."""


class ServerAuthError(InferenceServerError):
    """The server refused the API key (or was given none)."""


class ServerTimeoutError(InferenceServerError):
    """The server took longer than the timeout to connect or to send the next piece of a reply."""


class ServerReplyError(InferenceServerError):
    """The server answered with an error status or a reply llmos cannot read."""
