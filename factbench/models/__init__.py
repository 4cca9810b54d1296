"""Model runtime shared by the model-based metrics: loading, batching, generation, scoring, QA decoding."""
