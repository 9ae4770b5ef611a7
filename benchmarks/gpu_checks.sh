#!/usr/bin/env bash
# The GPU checks of one short lease of a GPU machine (16 cores + one GPU), in one command:
#   1. the training loader per core (CPU only);
#   2. ResNet-50 256x192 training throughput with the real loader against the model-only step
#      (benchmarks/train_gpu.py: bf16 autocast, channels-last, batch 32/64/128);
#   3. the shipped 128x96 synthetic model: the 96x64 one fine-tuned for a few minutes
#      (configs/synthetic/shipped_res18_128x96.yaml), released in fp16.
# Writes its logs and the released model to $OUT (default runs/gpu_checks). About 7 minutes on an
# H200, most of it the fine-tuning's clock budget (train.max_minutes).
#
#   OUT=runs/gpu_checks bash benchmarks/gpu_checks.sh
set -eu
export PYTHONPATH=src PYTHONUNBUFFERED=1
OUT=${OUT:-runs/gpu_checks}
PY=${PY:-python3}
WORKERS=${WORKERS:-$(( $(nproc) - 2 ))}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
start=$SECONDS
# The shipped model's training set, and the demo's data (its val scores both shipped models).
$PY -m simplepose synth --out data/synthetic_large --images 12000 --val-fraction 0.01 --seed 7 --workers "$WORKERS" >/dev/null
$PY -c "from simplepose.demo import ensure_data, DemoSettings; ensure_data(DemoSettings())"
echo "data: $((SECONDS - start)) s"
$PY benchmarks/data_pipeline.py --samples 400 2>&1 | tee "$OUT/data_pipeline.txt"
$PY benchmarks/train_gpu.py --data data/synthetic_large --workers "$((WORKERS + 1))" --steps 30 2>&1 \
    | grep -v Warning | tee "$OUT/train_gpu.txt"
echo "benchmarks: $((SECONDS - start)) s"
$PY -m simplepose train configs/synthetic/shipped_res18_128x96.yaml --out /tmp/shipped128 --device cuda \
    --set data.workers="$WORKERS" 2>&1 | grep -v "it/s\]" | tail -20 | tee "$OUT/train_shipped128.txt"
cp /tmp/shipped128/metrics.jsonl "$OUT/shipped128.metrics.jsonl"
$PY -m simplepose release --checkpoint /tmp/shipped128/last.pth --out "$OUT/synthetic_res18_128x96.pth" \
    --command "simplepose train configs/synthetic/shipped_res18_128x96.yaml --out runs/shipped128 --device cuda"
echo "all: $((SECONDS - start)) s"
