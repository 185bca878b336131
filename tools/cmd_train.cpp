// SPDX-License-Identifier: MIT
// `i2sbseg train`: the three training stages (or the direct baseline).
#include <i2sbseg/trainer.h>

#include "commands.h"

namespace i2sbseg::tools {

Command add_train_command(CLI::App& app) {
  auto o = std::make_shared<TrainOptions>();
  CLI::App* sub = app.add_subcommand("train", "Train a model: classifier, bridge, optional decoder fine-tune");
  sub->add_option("--data", o->data, "Dataset folder (images/, masks/, classes.json) or packed file")->required();
  sub->add_option("--out", o->out, "Model bundle to write")->required();
  sub->add_option("--checkpoint", o->checkpoint, "Checkpoint file (default: OUT.ckpt)");
  sub->add_option("--log", o->log, "JSON-lines log (default: OUT.log.jsonl)");
  sub->add_flag("--resume", o->resume, "Continue from the checkpoint (weights, optimizer, iteration)");
  sub->add_option("--init", o->init, "Start from this bundle's weights (skips the classifier stage)");
  sub->add_flag("--direct", o->direct,
                "Make the direct baseline: fine-tune the classifier on LR-up input, write a bundle without a bridge");
  sub->add_option("--scale", o->scale, "LR -> HR scale factor")->capture_default_str()->check(CLI::Range(1, 16));
  sub->add_option("--crop", o->crop, "HR crop side in pixels")->capture_default_str()->check(CLI::Range(8, 4096));
  sub->add_option("--batch", o->batch, "Batch size")->capture_default_str()->check(CLI::Range(1, 4096));
  sub->add_option("--widths", o->widths, "Encoder/decoder widths per level")->capture_default_str();
  sub->add_option("--blocks", o->blocks_per_level, "Residual blocks per level")->capture_default_str();
  sub->add_option("--latent-channels", o->latent_channels, "Latent channels")->capture_default_str();
  sub->add_option("--bridge-channels", o->bridge_channels, "Bridge network width")->capture_default_str();
  sub->add_option("--bridge-blocks", o->bridge_blocks, "Bridge network residual blocks")->capture_default_str();
  sub->add_option("--classifier-iters", o->classifier_iters, "Stage 1 iterations")->capture_default_str();
  sub->add_option("--bridge-iters", o->bridge_iters, "Stage 2 iterations")->capture_default_str();
  sub->add_option("--finetune-iters", o->finetune_iters, "Stage 3 iterations (0: skip)")->capture_default_str();
  sub->add_option("--direct-iters", o->direct_iters, "--direct fine-tune iterations")->capture_default_str();
  sub->add_option("--lr", o->lr, "Classifier learning rate")->capture_default_str();
  sub->add_option("--bridge-lr", o->bridge_lr, "Bridge learning rate")->capture_default_str();
  sub->add_option("--nfe", o->default_nfe, "Default NFE stored in the bundle")->capture_default_str();
  sub->add_option("--device", o->device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  sub->add_option("--threads", o->threads, "CPU threads (0: LibTorch default)")->capture_default_str();
  sub->add_option("--seed", o->seed, "Random seed")->capture_default_str();
  sub->add_option("--checkpoint-every", o->checkpoint_every, "Iterations between checkpoints")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--log-every", o->log_every, "Iterations between log lines")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_flag("--quiet", o->quiet, "No progress output");
  // Data parallelism, launched like PyTorch jobs (torchrun, srun, a shell
  // loop): the environment gives the values, these flags override it.
  const char* dist = "Distributed (defaults from the environment)";
  sub->add_option("--world-size", o->dist.world_size, "Processes in the job ($WORLD_SIZE, $SLURM_NTASKS; 1)")
      ->group(dist);
  sub->add_option("--rank", o->dist.rank, "This process's rank ($RANK, $SLURM_PROCID; 0)")->group(dist);
  sub->add_option("--local-rank", o->dist.local_rank,
                  "Rank on this machine: the GPU used with --device cuda ($LOCAL_RANK, $SLURM_LOCALID)")
      ->group(dist);
  sub->add_option("--master-addr", o->dist.master_addr, "Where rank 0 serves the rendezvous ($MASTER_ADDR; 127.0.0.1)")
      ->group(dist);
  sub->add_option("--master-port", o->dist.master_port, "Its TCP port ($MASTER_PORT; 29500)")->group(dist);
  sub->add_option("--dist-backend", o->dist.backend, "auto (nccl on CUDA, else gloo), gloo or nccl")
      ->capture_default_str()
      ->group(dist);
  sub->add_option("--dist-timeout", o->dist.timeout_s,
                  "Seconds the rendezvous or one collective may wait for the other ranks (300)")
      ->group(dist);
  return {sub, [o] {
            train(*o);
            return 0;
          }};
}

}  // namespace i2sbseg::tools
