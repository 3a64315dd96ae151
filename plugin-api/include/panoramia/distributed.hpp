#pragma once
/// The ranks of a data-parallel audit, as a plugin sees them. The host owns the process group
/// (LibTorch's c10d: a TCPStore rendezvous, Gloo collectives, and NCCL for CUDA tensors where
/// LibTorch has it) and hands every plugin the same
/// Communicator through its Context; plugins never open sockets themselves. In a one-process audit
/// the communicator has one rank and every collective returns at once.
///
/// Every rank runs the same pipeline with the same seeds, so every random draw (shuffles,
/// augmentation, sampling) is identical on all ranks; a plugin that trains data-parallel takes its
/// rank's shard of each global batch and sums gradients across ranks (see data_parallel.hpp).
/// Collectives must be called in the same order on every rank. A collective that cannot complete
/// (a rank died, the timeout passed) throws std::runtime_error naming the rank and the operation.

#include <memory>
#include <vector>

#include <ATen/core/Tensor.h>
#include <boost/config.hpp>

namespace panoramia {

class BOOST_SYMBOL_VISIBLE Communicator {
 public:
  /// A collective in flight; wait() blocks until it is done (and throws if it failed).
  class Pending {
   public:
    virtual ~Pending() = default;
    virtual void wait() = 0;
  };

  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  /// Replaces each tensor by its own element-wise sum over the ranks (the tensors are not summed
  /// with one another); every rank receives the same values. Blocks.
  virtual void all_reduce_sum(std::vector<at::Tensor>& tensors) = 0;
  /// The same sum, started in the background; the tensors must not be touched until wait().
  virtual std::unique_ptr<Pending> all_reduce_sum_async(std::vector<at::Tensor> tensors) = 0;
  /// Replaces each tensor by `root`'s value of it. Blocks.
  virtual void broadcast(std::vector<at::Tensor>& tensors, int root) = 0;
  /// Returns once every rank has called it.
  virtual void barrier() = 0;
};

/// The communicator of a one-process run: one rank, collectives are identities.
class SingleProcessCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  void all_reduce_sum(std::vector<at::Tensor>&) override {}
  std::unique_ptr<Pending> all_reduce_sum_async(std::vector<at::Tensor>) override {
    struct Done final : Pending {
      void wait() override {}
    };
    return std::make_unique<Done>();
  }
  void broadcast(std::vector<at::Tensor>&, int) override {}
  void barrier() override {}

  static SingleProcessCommunicator& instance() {
    static SingleProcessCommunicator communicator;
    return communicator;
  }
};

}  // namespace panoramia
