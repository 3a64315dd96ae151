#pragma once
// The NCCL process group of CUDA ranks. It is compiled where LibTorch was built with NCCL (the CUDA
// builds of PyTorch's wheel); elsewhere nccl_available() is false and CUDA tensors' collectives
// stay with Gloo. The Gloo group stays beside it for CPU tensors and barriers.

#include <chrono>
#include <memory>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>

namespace panoramia::dist {

/// Collectives on the tensors of one CUDA device.
class CudaCollectives {
 public:
  virtual ~CudaCollectives() = default;
  virtual c10::intrusive_ptr<c10d::Work> allreduce(std::vector<at::Tensor>& tensors,
                                                   const c10d::AllreduceOptions& options) = 0;
  virtual c10::intrusive_ptr<c10d::Work> broadcast(std::vector<at::Tensor>& tensors,
                                                   const c10d::BroadcastOptions& options) = 0;
};

/// Whether this build has LibTorch's ProcessGroupNCCL.
bool nccl_available();

/// Joins the NCCL group of `world_size` ranks through `store` (its keys under "nccl/"), this rank
/// computing on CUDA device `device_index`. Throws std::runtime_error when the build has no NCCL.
std::unique_ptr<CudaCollectives> make_nccl_group(c10::intrusive_ptr<c10d::Store> store, int rank,
                                                 int world_size, std::chrono::milliseconds timeout,
                                                 int device_index);

}  // namespace panoramia::dist
