"""Reading uploaded files as text (course material, submissions): see `extraction.py`."""

from .extraction import SUFFIXES, DocumentError, extract_text, text_clean

__all__ = ["SUFFIXES", "DocumentError", "extract_text", "text_clean"]
