from tests.examples.install import hello_installed

__all__ = ["hello_installed"]
