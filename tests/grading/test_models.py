import pytest
from django.db import IntegrityError

from tests.factories import AssignmentFactory

pytestmark = pytest.mark.django_db


def test_assignment_max_score_must_be_positive():
    with pytest.raises(IntegrityError, match="assignment_max_score_positive"):
        AssignmentFactory.create(max_score=0)
