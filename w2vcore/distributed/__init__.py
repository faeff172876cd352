"""Data-parallel training over torch.distributed: one run, N processes, one run folder (docs/DISTRIBUTED.md).

- `shard`: the work split (contiguous documents, balanced by tokens) and the sync count per epoch.
- `synced`: `Synced`, a driver wrapper that sums the processes' table updates every `sync_every` words
  (whole tables, or the rows some process touched).
- `ranks`: joining the process group (gloo on CPU, NCCL on GPUs) and one rank's run; rank 0 writes.
- `cli`: `python -m w2vcore train` under torchrun, and `--nproc N`, which starts torchrun.
- `torchrun`: the torchrun command line, and `supervise`, which turns how torchrun ends into the run's status.
- `__main__`: one rank of a run the app starts on N processes (`RunStore.start(..., processes=N)`).
"""
from .shard import shard_data, syncs_per_epoch, token_shards

__all__ = ["shard_data", "syncs_per_epoch", "token_shards"]
