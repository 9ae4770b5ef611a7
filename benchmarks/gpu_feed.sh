#!/usr/bin/env bash
# What keeps an H200 fed while training ResNet-50 256x192 at batch 128 (one short GPU lease):
#   1. benchmarks/train_gpu.py variants: loader workers, their niceness, and reading each step's
#      loss back at once or one step later (WORKERS:NICE:LAG), eager and torch.compile'd;
#   2. `simplepose train` itself (on CUDA it reads the loss one step late and nices its workers),
#      3 epochs of ~31,000 synthetic people (each epoch starts its workers anew).
# Writes its logs to $OUT (default runs/gpu_feed). About 5-6 minutes on an H200 with 16 cores.
#
#   OUT=runs/gpu_feed bash benchmarks/gpu_feed.sh
set -eu
export PYTHONPATH=src PYTHONUNBUFFERED=1
OUT=${OUT:-runs/gpu_feed}
PY=${PY:-python3}
N=$(nproc)
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
start=$SECONDS
$PY -m simplepose synth --out data/synthetic_large --images 12000 --val-fraction 0.01 --seed 7 --workers "$N" >/dev/null
echo "data: $((SECONDS - start)) s"
V="--variant $((N - 1)):0:0 --variant $((N - 1)):10:0 --variant $((N - 1)):0:1 --variant $((N - 1)):10:1"
V="$V --variant $((N - 4)):0:0 --variant $((N - 4)):10:1"
$PY benchmarks/train_gpu.py --data data/synthetic_large --batches 128 --steps 40 $V 2>&1 | grep -v Warning \
    | tee "$OUT/variants.txt"
echo "variants: $((SECONDS - start)) s"
timeout 200 $PY -m simplepose train configs/coco/res50_256x192.yaml --out /tmp/r50 --device cuda \
    --set data.root=data/synthetic_large --set data.train_ann=annotations/train.json \
    --set data.train_images=images/train --set data.val_ann=annotations/val.json \
    --set data.val_images=images/val --set train.epochs=3 --set train.val_every=1000 \
    --set train.amp=bf16 --set train.channels_last=true --set data.workers=$((N - 1)) \
    --set train.batch_size=128 --set model.pretrained= 2>&1 | grep -v "it/s\]" | tail -3 || true
grep '"tag": "epoch"' /tmp/r50/metrics.jsonl | tee "$OUT/train_epochs.txt" || true
echo "train: $((SECONDS - start)) s"
timeout 240 $PY benchmarks/train_gpu.py --data data/synthetic_large --batches 128 --steps 40 --compile \
    --variant $((N - 1)):0:0 --variant $((N - 1)):10:1 2>&1 | grep -v Warning | tee "$OUT/variants_compiled.txt" || true
echo "all: $((SECONDS - start)) s"
