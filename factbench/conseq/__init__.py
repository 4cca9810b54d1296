"""ConSeq (Nan et al., ACL-IJCNLP 2021): mine contrastive summaries with a metric and retrain a summarizer.

A user of the harness, never a part of it (DESIGN.md): each step reads what the previous one wrote.

- :mod:`.sample`: K top-k samples per document from a summarizer, written as a factbench dataset file
  (``factbench conseq sample``), which ``factbench run`` scores;
- :mod:`.select`: the original's selection of positive and negative summaries from a run directory
  (``factbench conseq select``);
- :mod:`.loss`: label-smoothed NLL on positives plus label-smoothed token-level unlikelihood on negatives;
- :mod:`.train`: fairseq-style training with that loss on any transformers seq2seq model
  (``factbench conseq train``);
- :mod:`.compare`: systems compared on stored scores, paired over documents, and against human preferences
  (``factbench compare``).

The procedure, every default with its source and every deviation: ``docs/conseq.md``.
"""
