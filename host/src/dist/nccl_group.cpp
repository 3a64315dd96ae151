#include "dist/nccl_group.hpp"

#include <stdexcept>

#ifdef PANORAMIA_HAVE_NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace panoramia::dist {

#ifdef PANORAMIA_HAVE_NCCL
namespace {

class NcclGroup final : public CudaCollectives {
 public:
  NcclGroup(c10::intrusive_ptr<c10d::Store> store, int rank, int world_size,
            std::chrono::milliseconds timeout, int device_index) {
    // NCCL finds each rank's GPU from the current device and from the bound one (so that its
    // communicator is made once, eagerly, on that device).
    c10::cuda::set_device(static_cast<c10::DeviceIndex>(device_index));
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = timeout;
    group_ = c10::make_intrusive<c10d::ProcessGroupNCCL>(
        c10::make_intrusive<c10d::PrefixStore>("nccl", std::move(store)), rank, world_size,
        options);
    group_->setBoundDeviceId(at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(device_index)));
  }
  c10::intrusive_ptr<c10d::Work> allreduce(std::vector<at::Tensor>& tensors,
                                           const c10d::AllreduceOptions& options) override {
    return group_->allreduce(tensors, options);
  }
  c10::intrusive_ptr<c10d::Work> broadcast(std::vector<at::Tensor>& tensors,
                                           const c10d::BroadcastOptions& options) override {
    return group_->broadcast(tensors, options);
  }

 private:
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> group_;
};

}  // namespace

bool nccl_available() {
  return true;
}

std::unique_ptr<CudaCollectives> make_nccl_group(c10::intrusive_ptr<c10d::Store> store, int rank,
                                                 int world_size, std::chrono::milliseconds timeout,
                                                 int device_index) {
  return std::make_unique<NcclGroup>(std::move(store), rank, world_size, timeout, device_index);
}
#else
bool nccl_available() {
  return false;
}

std::unique_ptr<CudaCollectives> make_nccl_group(c10::intrusive_ptr<c10d::Store>, int, int,
                                                 std::chrono::milliseconds, int) {
  throw std::runtime_error(
      "this panoramia was built against a LibTorch without NCCL (ProcessGroupNCCL)");
}
#endif

}  // namespace panoramia::dist
