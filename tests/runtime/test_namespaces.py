"""Config namespaces: top-level keys of the profile, claimed by one extension each."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict

from bastion.extension import ConfigSpec, Extension, ExtensionContext, ExtensionMeta
from bastion.infra.config import PLATFORM_KEYS, Profile
from bastion.kernel.config import PlatformSettings
from bastion.kernel.errors import ExtensionConfigError
from bastion.kernel.registry import ExtensionRegistry
from bastion.runtime.namespaces import namespaces, resolve


class VendorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region: str = "eu"


def claiming(ext_id: str, namespace: str) -> Extension:
    class Claims(Extension):
        meta = ExtensionMeta(id=ext_id, version="1")

        def config(self) -> ConfigSpec:
            return namespace, VendorConfig

    return Claims()


def registry_of(*extensions: Extension) -> ExtensionRegistry:
    registry = ExtensionRegistry()
    for ext in extensions:
        registry.insert(ext, "test")
    return registry


def test_a_namespace_is_a_top_level_key_validated_by_its_model() -> None:
    profile = Profile.model_validate({"vendor": {"region": "us"}, "server": {"port": 9000}})
    configs = resolve(registry_of(claiming("vendor_ext", "vendor")), profile)
    assert configs == {"vendor_ext": VendorConfig(region="us")}
    absent = resolve(registry_of(claiming("vendor_ext", "vendor")), Profile())
    assert absent == {"vendor_ext": VendorConfig()}


def test_a_bad_block_names_its_key_path() -> None:
    profile = Profile.model_validate({"vendor": {"regoin": "us"}})
    with pytest.raises(ExtensionConfigError) as refused:
        resolve(registry_of(claiming("vendor_ext", "vendor")), profile)
    assert str(refused.value) == "extension 'vendor_ext': vendor.regoin: unknown key"


def test_an_unclaimed_top_level_key_is_refused_by_name() -> None:
    profile = Profile.model_validate({"vendr": {"region": "us"}})
    with pytest.raises(ExtensionConfigError) as refused:
        resolve(registry_of(claiming("vendor_ext", "vendor")), profile)
    assert str(refused.value) == (
        "vendr: unknown key; it is neither a platform key nor the config namespace of an "
        "installed and enabled extension"
    )


def test_a_disabled_extensions_block_may_stay() -> None:
    profile = Profile.model_validate(
        {"vendor_ext": {"region": "us"}, "extensions": {"disabled": ["vendor_ext"]}}
    )
    assert resolve(registry_of(), profile) == {}


@pytest.mark.parametrize("key", sorted(PLATFORM_KEYS))
def test_a_namespace_may_not_be_a_platform_key(key: str) -> None:
    with pytest.raises(ExtensionConfigError) as refused:
        namespaces([claiming("vendor_ext", key)])
    assert str(refused.value).startswith(
        f"extension 'vendor_ext' declares config namespace '{key}', which is a platform key"
    )


def test_two_extensions_may_not_share_a_namespace() -> None:
    with pytest.raises(ExtensionConfigError) as refused:
        namespaces([claiming("first", "vendor"), claiming("second", "vendor")])
    assert str(refused.value) == (
        "extension 'second' declares config namespace 'vendor', which extension 'first' "
        "already declares; one of them must change"
    )


def test_the_old_extensions_block_is_refused_with_the_move() -> None:
    from pydantic import ValidationError

    from bastion.infra.config import validation_message

    with pytest.raises(ValidationError) as refused:
        Profile.model_validate({"extensions": {"vendor": {"region": "us"}}})
    assert validation_message(refused.value, "profile.yaml") == (
        "profile.yaml: extensions.vendor: an extension's config namespace is a top-level key "
        "of the profile now; move this block to `vendor:`"
    )


def test_config_as_types_the_block_or_says_what_is_wrong() -> None:
    class Other(BaseModel):
        pass

    ctx = ExtensionContext(
        extension_id="vendor_ext",  # type: ignore[arg-type]
        config=VendorConfig(region="us"),
        engine=None,  # type: ignore[arg-type]
        events=None,  # type: ignore[arg-type]
        secrets=None,  # type: ignore[arg-type]
    )
    assert ctx.config_as(VendorConfig).region == "us"
    with pytest.raises(ExtensionConfigError) as refused:
        ctx.config_as(Other)
    assert str(refused.value) == (
        "extension 'vendor_ext' asked for its config as Other but has VendorConfig; "
        "return (namespace, Other) from config()"
    )
    assert isinstance(ctx.platform, PlatformSettings)
