"""supportctl: a declarative, config-as-code customer-support stack."""

__version__ = "0.1.0"
