from django.db.models import QuerySet

from .models import Enrollment


def enrollment_list(*, user_id: int) -> QuerySet[Enrollment]:
    """The courses a user belongs to, with their role in each."""
    return Enrollment.objects.filter(user_id=user_id).select_related("course").order_by("course__title")
