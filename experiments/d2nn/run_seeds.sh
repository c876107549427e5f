#!/bin/sh
# The 3-seed D2NN runs of README.md, "Protocol (fixed before the runs)": one run per
# seed, one pass over 25,000 training images with a per-step cosine schedule, 5,000
# more held out for validation (drawn with the run's seed from the first 30,000), the
# final model tested once (--ideal-only).
# The recipe (lr, learnt temperature) is the validation sweep's choice.
#
#   sh experiments/d2nn/run_seeds.sh DATASET DATA_DIR SEED...
#
# A run already recorded in results/seeds/ is skipped; a run with a checkpoint in
# runs/seeds/ is resumed (checkpoints every 300 steps), so the command can be repeated.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${PYTHON:-python}
ds=$1
data=$2
shift 2
for seed in "$@"; do
    name="$ds-s$seed"
    out="$HERE/runs/seeds/$name"
    dest="$HERE/results/seeds/$name"
    if [ -f "$dest/results.json" ]; then
        echo "$name: recorded in $dest"
        continue
    fi
    resume=""
    if [ -f "$out/checkpoint.h5" ]; then
        resume="--resume"
    fi
    "$PY" "$HERE/run.py" --dataset "$ds" --data-dir "$data" --out "$out" $resume \
        --epochs 1 --lr-decay 1.0 --time-budget-min 0 --threads 1 --ideal-only \
        --set seed="$seed" --set data.train_limit=30000 --set data.validation=5000 \
        --set optimizer.lr=0.01 --set model.learn_temperature=true \
        --set scheduler.name=cosine --set scheduler.interval=step \
        --set checkpoint_every=300
    mkdir -p "$dest"
    for f in config.toml metrics.csv metrics.json results.json; do
        cp "$out/$f" "$dest/$f"
    done
done
