"""Checks on what callers hand the runtime: clear errors instead of a model crash."""

from typing import Any

MAX_TEXTS = 512
MAX_TEXT_CHARACTERS = 20_000
ROLES = {"system", "user", "assistant"}


def validated_texts(texts: Any) -> list[str]:
    if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
        raise ValueError("texts must be a list of strings.")
    if len(texts) > MAX_TEXTS:
        raise ValueError(f"At most {MAX_TEXTS} texts per call, not {len(texts)}.")
    if any(len(text) > MAX_TEXT_CHARACTERS for text in texts):
        raise ValueError(f"Each text must be at most {MAX_TEXT_CHARACTERS} characters.")
    return texts


def validated_messages(messages: Any) -> list[dict[str, str]]:
    if not isinstance(messages, list) or not messages:
        raise ValueError("messages must be a non-empty list of {role, content} objects.")
    for message in messages:
        if not isinstance(message, dict) or set(message) != {"role", "content"}:
            raise ValueError("Each message must have exactly the keys role and content.")
        if message["role"] not in ROLES or not isinstance(message["content"], str):
            raise ValueError(f"Message role must be one of {', '.join(sorted(ROLES))} and content a string.")
    if messages[-1]["role"] != "user":
        raise ValueError("The last message must be the user's.")
    return messages
