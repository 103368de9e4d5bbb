"""A registration activated, changed or deleted in the admin frames our pages at once."""

from typing import Any

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from lti_tool.models import LtiRegistration

from .selectors import PLATFORM_ORIGINS_CACHE_KEY


@receiver(post_save, sender=LtiRegistration)
@receiver(post_delete, sender=LtiRegistration)
def platform_origins_forget(**kwargs: Any) -> None:
    cache.delete(PLATFORM_ORIGINS_CACHE_KEY)
