"""Regenerate data/manifest.json (locations, sha256, licenses) from a data directory that holds the benchmarks.

    python scripts/make_manifest.py ../shared/data data/manifest.json

Maintainers run it when a benchmark file or its provenance changes; tests/datasets/test_manifest.py checks
the committed manifest against the data directory.
"""
import hashlib
import json
import os
import sys
from pathlib import Path
D = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")

def sha(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()

def entry(folder, rel, repo=None, commit=None, src=None, recipe=None):
    p = D / folder / rel
    e = {"path": rel, "bytes": p.stat().st_size, "sha256": sha(p)}
    if recipe:
        e["derived"] = True
        e["recipe"] = recipe
    else:
        e.update({"repository": repo, "commit": commit, "source_path": src})
    return e

ds = []
# QAGS
Q = ("W4ngatang/qags", "47798e9b63344e2d3fb4df2def6edc18e9402d30")
ds.append({"folder": "qags", "loaders": ["qags-cnndm", "qags-xsum"],
  "title": "QAGS-C / QAGS-X human judgments (Wang, Cho, Lewis, ACL 2020)",
  "license": "none stated (the repository has no license file for the data; research use, cite)",
  "citation": "Alex Wang, Kyunghyun Cho, Mike Lewis. Asking and Answering Questions to Evaluate the Factual Consistency of Summaries. ACL 2020. doi:10.18653/v1/2020.acl-main.450",
  "files": [entry("qags", f, *Q, "data/" + f) for f in ("mturk_cnndm.jsonl", "mturk_xsum.jsonl")]})
# FRANK
HEAD, INIT = "80a88fb12cc0bfc17ff6ee2c5ebb0c4f4dd8a5f4", "5860706bda0641136d10d27ead52c5f6ae79630e"
files = [entry("frank", f, "artidoro/frank", HEAD, "data/" + f) for f in
         ("human_annotations.json", "baseline_factuality_metrics_outputs.json", "test_split.txt", "validation_split.txt", "selected_documents.txt")]
files.append(entry("frank", "LICENSE", "artidoro/frank", HEAD, "LICENSE"))
for f in sorted(os.listdir(D / "frank/articles-wmetrics-reference-json")):
    rel = "articles-wmetrics-reference-json/" + f
    files.append(entry("frank", rel, "artidoro/frank", INIT, "data/" + rel))
ds.append({"folder": "frank", "loaders": ["frank"],
  "title": "FRANK (Pagnoni, Balachandran, Tsvetkov, NAACL 2021)", "license": "MIT",
  "citation": "Artidoro Pagnoni, Vidhisha Balachandran, Yulia Tsvetkov. Understanding Factuality in Abstractive Summarization with FRANK: A Benchmark for Factuality Metrics. NAACL 2021. doi:10.18653/v1/2021.naacl-main.383",
  "note": "The per-article JSON files come from the repository's initial commit; the other files from HEAD.",
  "files": files})
# XSumFaith
X = ("google-research-datasets/xsum_hallucination_annotations", "4abdbb2c807cb93c1df1188a1992d20a55cdcc34")
files = [entry("xsumfaith", f, *X, f) for f in ("hallucination_annotations_xsum_summaries.csv", "factuality_annotations_xsum_summaries.csv", "eval_scores_xsum_summaries.csv")]
files.append(entry("xsumfaith", "xsum_documents.jsonl", recipe=(
  "The 500 XSum source documents, one JSON line {bbcid, document, document_source}; document = the Hugging Face "
  "xsum 'document' field (sentences joined by newlines). 499 documents: Liyan06/AggreFact @ "
  "f0654b245232cd724d5caa5db4950abfb12d795e, data/AggreFact-Unified-{test,val}.xlsx, rows with dataset == "
  "xsumfaith, column doc. 1 document (bbcid not in AggreFact-Unified): tingofurro/summac @ "
  "24b49de0cd9621d28aac01456691cc0d3765fa27, data/xsumfaith.json, field document. The two sources agree "
  "character for character on the 484 bbcids they share. Line order: first appearance in the hallucination CSV.")))
ds.append({"folder": "xsumfaith", "loaders": ["xsumfaith"],
  "title": "XSumFaith (Maynez, Narayan, Bohnet, McDonald, ACL 2020)",
  "license": "CC BY 4.0 (annotations); documents: BBC articles of the XSum corpus, research use",
  "citation": "Joshua Maynez, Shashi Narayan, Bernd Bohnet, Ryan McDonald. On Faithfulness and Factuality in Abstractive Summarization. ACL 2020.",
  "files": files})
# SummEval
ds.append({"folder": "summeval", "loaders": ["summeval"],
  "title": "SummEval expert annotations (Fabbri et al., TACL 2021), via BARTScore",
  "license": "MIT (SummEval); Apache-2.0 (BARTScore repository)",
  "citation": "A. R. Fabbri, W. Kryscinski, B. McCann, C. Xiong, R. Socher, D. Radev. SummEval: Re-evaluating Summarization Evaluation. TACL 9 (2021). Repackaged by W. Yuan, G. Neubig, P. Liu. BARTScore. NeurIPS 2021.",
  "files": [entry("summeval", "data.json", recipe=(
  "Lossless JSON of neulab/BARTScore @ 248f511cb34ae3753fc81f7d7a945de5bfe33458, SUM/SummEval/data.pkl "
  "(1176833 bytes): check with pickletools that the pickle holds only primitive opcodes (no GLOBAL/REDUCE), "
  "unpickle it and json.dump the resulting dict {doc_id: {src, ref_summ, ref_summs, sys_summs}}. "
  "The pickle itself is not fetched: unpickling untrusted data can run code."))]})
# CLIFF
ds.append({"folder": "cliff", "loaders": ["cliff"],
  "title": "CLIFF human annotations (Cao & Wang, EMNLP 2021), as repackaged in AggreFact (Tang et al., ACL 2023)",
  "license": "none stated (the AggreFact repository has no license file; research use, cite)",
  "citation": "Shuyang Cao, Lu Wang. CLIFF: Contrastive Learning for Improving Faithfulness and Factuality in Abstractive Summarization. EMNLP 2021. Liyan Tang et al. Understanding Factual Errors in Summarization: Errors, Summarizers, Datasets, Error Detectors. ACL 2023.",
  "files": [entry("cliff", "CLIFF_error_types.csv", "Liyan06/AggreFact", "f0654b245232cd724d5caa5db4950abfb12d795e", "data/error_type_mapping/CLIFF_error_types.csv")]})
# Polytope
PR = ("Cell values of hddbang/PolyTope @ 6bcbe2b27062b35cc002cb8d13e7c6ce5718984d, "
      "outputs_with_human_annotation/Human_Annotation_Summarization_{BART,Bert_Ext,Bert_Ext_Abs,BottomUp,PG,PG_Coverage,Summa,TextRank,seq2seq}.xlsm, "
      "read with pandas/openpyxl (which never runs the workbooks' VBA macros; the .xlsm files are not fetched). ")
ds.append({"folder": "polytope", "loaders": ["polytope"],
  "title": "Polytope (Huang et al., EMNLP 2020, What Have We Achieved on Text Summarization?)",
  "license": "none stated (the repository has no license file; research use, cite)",
  "citation": "Dandan Huang, Leyang Cui, Sen Yang, Guangsheng Bao, Kun Wang, Jun Xie, Yue Zhang. What Have We Achieved on Text Summarization? EMNLP 2020.",
  "files": [
    entry("polytope", "Human_Annotation_Summarization_ALL__Scores_per_segment.csv", recipe=PR +
      "Sheet 'Scores per segment' of the 9 workbooks, rows with an ID only, concatenated in the order above; added columns "
      "model_file (workbook name without prefix) and sheet_row_index (the pandas row index in the original sheet). Columns: "
      "model_file, sheet_row_index, ID, Source, Target, wordcount, Critical, Major, Minor, Invalid Source, Invalid Target, Score."),
    entry("polytope", "Human_Annotation_Summarization_ALL__Error_Log.csv", recipe=PR +
      "Sheet 'Error Log' of the 9 workbooks with the Source/Target columns dropped and a model_file column added "
      "(join to the segments on model_file + ID)."),
  ]})
# DialSummEval
DS = ("kite99520/DialSummEval", "667118e10ae69ef8cbc5cbddec0ce91b5c9c6187")
files = [entry("dialsummeval", "human_judgment.jsonl", *DS, "annotation_campus/human_judgment.jsonl"),
         entry("dialsummeval", "models_eval_new/dials.txt", *DS, "reproduce/analysis/models_eval_new/dials.txt")]
for m in "ABCDEFGHIJKLMN":
    for f in ("summs.txt", "metrics.csv"):
        rel = f"models_eval_new/{m}/{f}"
        files.append(entry("dialsummeval", rel, *DS, "reproduce/analysis/" + rel))
ds.append({"folder": "dialsummeval", "loaders": ["dialsummeval"],
  "title": "DialSummEval (Gao & Wan, NAACL 2022)",
  "license": "none stated for the annotations (research use, cite); the SAMSum dialogues are CC BY-NC-ND 4.0 (non-commercial)",
  "citation": "Mingqi Gao, Xiaojun Wan. DialSummEval: Revisiting Summarization Evaluation for Dialogues. NAACL 2022.",
  "files": files})

manifest = {
  "format": 1,
  "about": ("Public human-judgment benchmarks that factbench loads. Verbatim files are fetched from "
            "https://raw.githubusercontent.com/{repository}/{commit}/{source_path} and checked against sha256; "
            "derived files (derived: true) are not downloadable and come with the recipe that rebuilds them. "
            "The files go to <data dir>/<folder>/<path>. factbench ships none of these files."),
  "datasets": ds,
}
out = Path(sys.argv[2] if len(sys.argv) > 2 else "data/manifest.json")
out.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
print(out.stat().st_size, sum(len(d["files"]) for d in ds))
