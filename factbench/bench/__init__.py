"""``factbench bench``: timed, repeated runs of metrics with realistic random-weight models.

- :mod:`.peak` measures the device's matmul throughput (the ceiling for the achieved FLOP/s);
- :mod:`.flops` estimates FLOPs from parameter counts and tokens (the 2N-per-token rule);
- :mod:`.archs` builds random-weight BART/BERT models of the real sizes with real-size vocabularies;
- :mod:`.runner` runs the protocol (warm-up, repeats, FLOP-counting pass) and :mod:`.report` writes
  the Markdown report, the bar chart and the raw JSON.
"""
