#pragma once
// Adam and AdamW (Kingma and Ba 2015; Loshchilov and Hutter 2019) as LibTorch defines them, with
// a step that updates each CPU parameter in one pass over its elements. torch::optim::Adam's step
// runs about seven tensor operations per parameter (weight decay, the two moment updates, the
// square root, two scalings, the update), each a dispatch, an allocation or a pass over memory:
// on a small network, such as the MLP target, that is most of a training step. These classes
// keep LibTorch's options, per-parameter state (AdamParamState, AdamWParamState) and
// serialisation, so they are drop-in replacements (a checkpoint of one loads into the other), and
// compute the same recurrences in the same order of operations; only the rounding of an operation
// that ATen's vectorised kernels contract into a fused multiply-add may differ (tests/test_adam.cpp
// bounds the difference).
//
// The fused pass applies when every parameter with a gradient is a dense, contiguous float32 or
// float64 CPU tensor with a gradient and moments of the same kind, and AMSGrad is off; otherwise
// the step is LibTorch's own (CUDA parameters among them). Elements are split among ATen's
// threads in fixed chunks; each element's update depends on nothing else, so the result does not
// depend on the thread count.

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>

namespace panoramia::optim {

class Adam : public torch::optim::Adam {
 public:
  using torch::optim::Adam::Adam;
  torch::Tensor step(LossClosure closure = nullptr) override;
};

class AdamW : public torch::optim::AdamW {
 public:
  using torch::optim::AdamW::AdamW;
  torch::Tensor step(LossClosure closure = nullptr) override;
};

/// `optimizer`'s state for `parameter` (nullptr before its first step), on either LibTorch line
/// (their state maps are keyed differently).
torch::optim::OptimizerParamState* state_of(torch::optim::Optimizer& optimizer,
                                            const torch::Tensor& parameter);

}  // namespace panoramia::optim
