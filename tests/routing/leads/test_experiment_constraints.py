from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from tests.factories.leads import RoutingExperimentFactory, RoutingExperimentVariantFactory


@pytest.mark.django_db
def test_at_most_one_control_per_experiment_on_every_database():
    experiment = RoutingExperimentFactory()
    RoutingExperimentVariantFactory(experiment=experiment, is_control=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        RoutingExperimentVariantFactory(experiment=experiment, is_control=True)


@pytest.mark.postgres
@pytest.mark.django_db
def test_an_experiment_with_variants_but_no_control_is_refused_at_commit_on_postgresql():
    experiment = RoutingExperimentFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        with connection.cursor() as cursor:  # the trigger is deferred to commit; make it check now
            cursor.execute("SET CONSTRAINTS experiment_exactly_one_control IMMEDIATE")
        RoutingExperimentVariantFactory(experiment=experiment, is_control=False)
