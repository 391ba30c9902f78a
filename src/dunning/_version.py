"""The package's version, in a module of its own that the policy's pickle can name."""

__version__ = "0.1.0.dev0"
