"""The pricing catalog and cost in integer microdollars.

Prices are USD per million tokens, so microdollars = tokens * price: exact arithmetic
with no float drift across millions of rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources

import yaml

from bastion.domains.gateway._settings import PriceSettings
from bastion.domains.gateway.translate import Usage


def shipped_catalog() -> dict[str, PriceSettings]:
    text = resources.files("bastion.domains.gateway").joinpath("pricing.yaml").read_text()
    raw = yaml.safe_load(text) or {}
    return {str(model): PriceSettings.model_validate(price) for model, price in raw.items()}


class PricingCatalog:
    def __init__(self, overrides: Mapping[str, PriceSettings] | None = None) -> None:
        self._prices = {**shipped_catalog(), **(overrides or {})}
        # Longest key first, so "gpt-4o-mini" wins over "gpt-4o" for "gpt-4o-mini-2024".
        self._prefixes = sorted(self._prices, key=len, reverse=True)
        self._cache: dict[str, PriceSettings | None] = {}

    def price_for(self, model: str) -> PriceSettings | None:
        if model in self._cache:
            return self._cache[model]
        found = self._prices.get(model)
        if found is None:
            key = next((k for k in self._prefixes if model.startswith(k)), None)
            found = self._prices[key] if key is not None else None
        if len(self._cache) < 4096:
            self._cache[model] = found
        return found

    def models(self) -> list[str]:
        return sorted(self._prices)


def cost_microdollars(usage: Usage, price: PriceSettings | None) -> int:
    """Cost of ``usage`` at ``price``; cache tokens fall back to the input price."""
    if price is None:
        return 0
    cache_read = price.cache_read if price.cache_read is not None else price.input
    cache_write = price.cache_write if price.cache_write is not None else price.input
    total = (
        usage.input_tokens * price.input
        + usage.output_tokens * price.output
        + usage.cache_read_input_tokens * cache_read
        + usage.cache_creation_input_tokens * cache_write
    )
    return round(total)
