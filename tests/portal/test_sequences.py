"""Gapless numbering under concurrency needs real row locks: PostgreSQL."""

import threading

import pytest
from django.db import connection, transaction

from portal.core.services import sequence_next
from tests.conftest import requires_postgres


@pytest.mark.django_db
def test_sequence_numbers_are_consecutive_and_roll_back():
    with transaction.atomic():
        assert sequence_next(series="T", year=2026) == 1
        assert sequence_next(series="T", year=2026) == 2
    with pytest.raises(RuntimeError), transaction.atomic():
        assert sequence_next(series="T", year=2026) == 3
        raise RuntimeError("rolled back")
    with transaction.atomic():
        assert sequence_next(series="T", year=2026) == 3
        assert sequence_next(series="T", year=2027) == 1


@pytest.mark.django_db(transaction=True)
def test_sequence_refuses_to_run_outside_a_transaction():
    with pytest.raises(RuntimeError):
        sequence_next(series="T", year=2026)


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_allocation_has_no_gaps_or_duplicates():
    results: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        try:
            for _ in range(25):
                with transaction.atomic():
                    value = sequence_next(series="C", year=2026)
                with lock:
                    results.append(value)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == list(range(1, 201))
