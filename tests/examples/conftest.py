from tests.examples.install import examples_installed

__all__ = ["examples_installed"]
