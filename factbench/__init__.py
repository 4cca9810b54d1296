"""factbench: a benchmark harness for factual-consistency metrics of summaries."""

__version__ = "0.1.0"
