"""The tutor's fixed replies (given without the model), in the language the student writes in.

A moderated question, a refused or leaking answer, nothing relevant in the material, an FAQ
citation, a failed stream: each has one text here, translated in ``locale/``. ``reply_to``
renders one in the language of the student's question (``eduai.web.languages.written_language``),
which the worker knows without a request.
"""

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from eduai.web.languages import written_language

SELF_HARM_SUPPORT = _(
    "It sounds like you are going through something really hard, and I'm glad you said it. "
    "You don't have to face this alone: please talk to someone you trust today, such as a friend, "
    "family member, teacher or your school's counselling service. If you are in danger right now, "
    "call your local emergency number. Crisis lines are free and confidential: 988 (call or text, "
    "US), 116 123 (Samaritans, UK and Ireland), 12356 (mental health hotline, mainland China); "
    "findahelpline.com lists lines in other countries."
)
MODERATION_REFUSAL = _(
    "I can't help with that. Let's keep our conversation respectful and about the course; "
    "your instructor can see conversations that were flagged."
)
OUTPUT_REFUSAL = _("I can't give that answer here. Please rephrase your question or ask your instructor.")
NOT_FOUND = _(
    "I couldn't find this in the course material, so I won't guess. Try asking it another way, "
    "or ask your instructor."
)
LEAK_HINT = _(
    "That would give away the answer to an open assignment, so here is a hint instead: reread the "
    "passages cited below, write down the key idea in your own words, and try a first answer. "
    "Tell me your reasoning and I'll help you check each step."
)
FAQ_CITATION = _("Endorsed by your instructor")
STREAM_FAILED = _("The tutor could not finish this answer. Try again.")


def reply_to(question: str, text: Promise) -> str:
    """``text`` in the language ``question`` is written in."""
    with translation.override(written_language(question)):
        return str(text)
