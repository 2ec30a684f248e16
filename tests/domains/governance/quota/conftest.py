"""The quota policy runs over the counter stores of ``bastion.infra.quota``: the same
fixtures (a fake clock, a store per backend) as the stores' own tests."""

from tests.infra.quota.conftest import FakeClock, clock, make_store, redis_factory

__all__ = ["FakeClock", "clock", "make_store", "redis_factory"]
