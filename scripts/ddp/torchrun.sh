#!/usr/bin/env bash
# Multi-GPU and multi-node training with torchrun: Lightning's DDP over torch.distributed.
#
# torchrun starts one process per device and sets RANK, LOCAL_RANK, WORLD_SIZE, ...; Lightning
# sees them (TorchElasticEnvironment) and launches nothing itself. trainer.devices and
# trainer.num_nodes are set here to match, the rest comes from the config, so a recipe's
# lr_reference_batch rescales the lr to the real global batch.
#
# One node, every GPU:
#   scripts/ddp/torchrun.sh fit --config lightning_vid/configs/recipes/tsm_r50_8x1_sthv1.yaml \
#       --data.root /data/sthv1
# Two nodes of 8 GPUs: the same command on each, NODE_RANK 0 and 1, MASTER_ADDR = node 0:
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=node0 NPROC=8 scripts/ddp/torchrun.sh fit --config ...
#   NNODES=2 NODE_RANK=1 MASTER_ADDR=node0 NPROC=8 scripts/ddp/torchrun.sh fit --config ...
# Resume after an interruption (the recipes save last.ckpt on SIGTERM): add --ckpt_path last.
# SyncBN: add --trainer.sync_batchnorm true. On the CPU (gloo), as a check:
#   NPROC=2 ACCELERATOR=cpu scripts/ddp/torchrun.sh fit --config ... --trainer.max_epochs 1
#
# Environment: NNODES (1), NPROC (the GPUs nvidia-smi lists, else 1), NODE_RANK (0),
# MASTER_ADDR (127.0.0.1), MASTER_PORT (29500), ACCELERATOR (gpu), PYTHON (python).
set -euo pipefail

NNODES=${NNODES:-1}
if [ -z "${NPROC:-}" ]; then
    NPROC=$(nvidia-smi -L 2>/dev/null | wc -l || true)
    [ "${NPROC:-0}" -gt 0 ] || NPROC=1
fi
NODE_RANK=${NODE_RANK:-0}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
MASTER_PORT=${MASTER_PORT:-29500}
ACCELERATOR=${ACCELERATOR:-gpu}
PYTHON=${PYTHON:-python}
export WANDB_MODE=${WANDB_MODE:-offline}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-4}

if [ $# -lt 1 ]; then
    echo "usage: $0 fit|validate|test|predict --config CONFIG [lightning-vid options]" >&2
    exit 2
fi
SUBCOMMAND=$1
shift

exec "$PYTHON" -m torch.distributed.run \
    --nnodes "$NNODES" --nproc_per_node "$NPROC" --node_rank "$NODE_RANK" \
    --master_addr "$MASTER_ADDR" --master_port "$MASTER_PORT" \
    -m lightning_vid.cli "$SUBCOMMAND" "$@" \
    --trainer.accelerator "$ACCELERATOR" --trainer.devices "$NPROC" \
    --trainer.num_nodes "$NNODES" --trainer.strategy ddp
