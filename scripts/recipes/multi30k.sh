#!/usr/bin/env bash
# Multi30k recipe (`hf_seq2seq_lstm.experiments.recipe.RECIPE_FLAGS`): separate 4k subword tokenizers trained on the
# training split, a bidirectional LSTM encoder with Luong attention (no input feeding), dropout 0.5, label smoothing
# 0.2, batches of 3,000 tokens, trained for 20 epochs or at most MINUTES minutes (default 60) on the CPU. Both the
# best epoch by val BLEU ($OUT/recipe) and the average of the last 3 checkpoints
# ($OUT/recipe_average_of_the_last_3_checkpoints) are scored with sacreBLEU (cased, 13a tokenizer, detokenized
# output) and chrF on val and test2016, beam 5; README says which to use.
#
#   bash scripts/recipes/multi30k.sh de en    # de->en (default)
#   bash scripts/recipes/multi30k.sh en de    # en->de
#
# Reads ../shared/data/multi30k (never copied into the repo; non-commercial research and education use only).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../setup_env.sh"
SRC=${1:-de}
TGT=${2:-en}
MINUTES=${MINUTES:-60}
DATA=${MULTI30K:-$REPO_ROOT/../shared/data/multi30k}
OUT=${OUT:-outputs/multi30k-$SRC-$TGT}

python scripts/multi30k.py --source_lang "$SRC" --target_lang "$TGT" --data_dir "$DATA" --output_dir "$OUT" \
    --minutes "$MINUTES" --variants recipe "recipe, average of the last 3 checkpoints" --splits val test2016
