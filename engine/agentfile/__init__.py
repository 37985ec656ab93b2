"""Letta agent files (``.af``) in and out: an agent's core blocks, every message and its archival
passages move between llmos and other tools in the one shared format.
"""
