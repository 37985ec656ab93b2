"""``llmos serve``: the OpenAI API over the engine, so editors, scripts and chat front-ends that
speak it get an agent that keeps its memory. A front door like the CLI: it talks to ``Engine``.
"""
