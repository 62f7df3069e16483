#!/usr/bin/env bash
# Sets up .venv (see setup_env.sh), trains on the built-in date-normalisation task (no download), prints the test
# metrics and translates a few examples. The model is saved under outputs/dates-demo.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup_env.sh"
OUT=outputs/dates-demo
rm -rf "$OUT"
start=$(date +%s)
python scripts/train.py --output_dir "$OUT" --do_train --do_eval --do_predict \
    --vocab_size 600 --split_digits --embedding_size 64 --hidden_size 256 --dropout 0.1 \
    --attention luong_general --bidirectional_encoder true \
    --num_train_epochs 8 --per_device_train_batch_size 64 --per_device_eval_batch_size 256 \
    --learning_rate 3e-3 --lr_scheduler_type linear --warmup_steps 100 \
    --eval_strategy epoch --save_strategy epoch --save_total_limit 1 --logging_steps 100 \
    --max_source_length 40 --max_target_length 16 --seed 42 --disable_tqdm true
echo "Training and evaluation took $(( $(date +%s) - start )) s."
echo
echo "Test metrics (test split of the built-in task, greedy decoding):"
python - "$OUT" <<'PY'
import json, sys
results = json.load(open(f"{sys.argv[1]}/all_results.json"))
for key in ("predict_exact_match", "predict_bleu", "predict_chrf", "train_runtime"):
    print(f"  {key:22s} {results[key]}")
PY
echo
echo "Translating a few dates (beam search, 5 beams):"
examples=("3. März 2021" "the 4th of July, 1976" "le 14 juillet 1989" "sábado, 1 de enero de 2000" "12/25/2024"
          "MON, 29 FEB 2016")
printf '%s\n' "${examples[@]}" | python scripts/translate.py --model_name_or_path "$OUT" --num_beams 5 --disable_tqdm \
    | paste -d'\t' <(printf '  %-28s ->\n' "${examples[@]}") -
