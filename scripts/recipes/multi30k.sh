#!/usr/bin/env bash
# Multi30k recipe: subword tokenizers trained on the training split, a bidirectional LSTM encoder with Luong
# attention and input feeding, trained for at most MINUTES minutes (default 55) on the CPU, then evaluated with
# sacreBLEU (cased, 13a tokenizer, detokenized output) and chrF on val and test2016, greedy and beam 5.
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
[ -f "$DATA/train.$SRC" ] || { echo "Multi30k not found at $DATA (set MULTI30K=...)" >&2; exit 1; }

python scripts/train.py --output_dir "$OUT" --do_train --do_eval \
    --train_file "$DATA/train" --validation_file "$DATA/val" --source_lang "$SRC" --target_lang "$TGT" \
    --vocab_size 8000 --separate_vocabularies true \
    --embedding_size 256 --hidden_size 512 --bidirectional_encoder true --attention luong_general \
    --input_feeding true --dropout 0.3 --label_smoothing 0.1 \
    --num_train_epochs 20 --max_train_minutes "$MINUTES" --per_device_train_batch_size 64 \
    --per_device_eval_batch_size 128 --learning_rate 2e-3 --optim adamw_torch_fused --weight_decay 0.0 \
    --lr_scheduler_type linear --warmup_steps 500 --max_grad_norm 5.0 \
    --eval_strategy epoch --save_strategy epoch --save_total_limit 2 --load_best_model_at_end true \
    --train_sampling_strategy group_by_length \
    --max_source_length 64 --max_target_length 64 --logging_steps 100 --seed 1 --disable_tqdm true

for split in val test2016; do
    for beams in 1 5; do
        python scripts/translate.py --model "$OUT" --input "$DATA/$split.$SRC" --references "$DATA/$split.$TGT" \
            --num_beams "$beams" --batch_size 64 --max_new_tokens 80 --no_progress \
            --output "$OUT/$split.beam$beams.$TGT" --metrics_file "$OUT/$split.beam$beams.json"
    done
done
python - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
print("| split | decoding | sacreBLEU | chrF |\n|---|---|---|---|")
for split in ("val", "test2016"):
    for beams in (1, 5):
        scores = json.load(open(f"{out}/{split}.beam{beams}.json"))
        print(f"| {split} | {'greedy' if beams == 1 else 'beam 5'} | {scores['bleu']:.1f} | {scores['chrf']:.1f} |")
print("training minutes:", round(json.load(open(f"{out}/all_results.json"))["train_runtime"] / 60, 1))
PY
