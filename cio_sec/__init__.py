"""cio-sec: keep a Customer.io integration secure."""

__version__ = "0.1.0"
