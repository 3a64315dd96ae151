#pragma once
// The toy tasks of the probes: for the mlp, seeded standard-normal inputs labelled by the sign of
// the sum of their first columns and an mlp initialised from a seeded global generator; for the
// WRN, noise images in three classes and a WRN-10-1 (the probes compare training trajectories,
// not accuracy).
#include <cstdint>
#include <utility>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <panoramia/data.hpp>

#include "../../plugins/mlp/network.hpp"
#include "../../plugins/wrn/wide_resnet.hpp"

namespace panoramia::probes {

struct ToyMlp {
  at::Tensor x, y;
  mlp::Mlp net{nullptr};
};

/// `rows` x `inputs` inputs from a generator seeded with `data_seed`, labels 1 where the first
/// `informative` columns sum above zero; the network (`hidden` layers) is initialised after
/// seeding LibTorch's global generator with `init_seed`.
inline ToyMlp toy_mlp(std::uint64_t data_seed, std::int64_t rows, std::int64_t inputs,
                      std::int64_t informative, std::uint64_t init_seed,
                      std::vector<std::int64_t> hidden) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(data_seed);
  ToyMlp toy;
  toy.x = torch::randn({rows, inputs}, g);
  toy.y = (toy.x.narrow(1, 0, informative).sum(1) > 0).to(torch::kFloat32);
  torch::manual_seed(init_seed);
  mlp::MlpOptions o;
  o.inputs = inputs;
  o.hidden = std::move(hidden);
  toy.net = mlp::Mlp(o);
  return toy;
}

/// `n` grey `side` x `side` uniform-noise images with labels in {0, 1, 2}, from a generator seeded
/// with `seed`.
inline Batch noise_images(std::uint64_t seed, std::int64_t n, std::int64_t side) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(seed);
  Batch b;
  b.x = torch::rand({n, 1, side, side}, g);
  b.y = torch::randint(0, 3, {n}, g);
  b.modality = "image";
  return b;
}

/// WRN-10-1 for those images, with dropout 0.3 (its masks drawn for the global batch, so the ranks
/// keep the one-process masks).
inline wrn::WideResNetOptions tiny_wrn_options() {
  wrn::WideResNetOptions o;
  o.depth = 10;
  o.width = 1;
  o.dropout = 0.3;
  o.in_channels = 1;
  o.classes = 3;
  return o;
}

}  // namespace panoramia::probes
