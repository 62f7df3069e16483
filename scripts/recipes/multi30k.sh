#!/usr/bin/env bash
# Multi30k recipe (`hf_seq2seq_lstm.experiments.recipe.RECIPE_FLAGS`): subword tokenizers trained on the training
# split, a bidirectional LSTM encoder with Luong attention and input feeding, trained for at most MINUTES minutes
# (default 55) on the CPU; the final model is the average of its last 3 checkpoints (what averaging gains: README's
# ablation), $OUT/average_of_the_last_3_checkpoints; both it and the best epoch by val BLEU ($OUT/recipe) are scored
# with sacreBLEU (cased, 13a tokenizer, detokenized output) and chrF on val and test2016, beam 5.
#
#   bash scripts/recipes/multi30k.sh de en    # de->en (default)
#   bash scripts/recipes/multi30k.sh en de    # en->de
#
# Reads ../shared/data/multi30k (never copied into the repo; non-commercial research and education use only).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../setup_env.sh"
SRC=${1:-de}
TGT=${2:-en}
MINUTES=${MINUTES:-55}
DATA=${MULTI30K:-$REPO_ROOT/../shared/data/multi30k}
OUT=${OUT:-outputs/multi30k-$SRC-$TGT}

python scripts/multi30k.py --source_lang "$SRC" --target_lang "$TGT" --data_dir "$DATA" --output_dir "$OUT" \
    --minutes "$MINUTES" --variants recipe "average of the last 3 checkpoints" --splits val test2016
