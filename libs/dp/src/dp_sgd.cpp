#include "dp/dp_sgd.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <torch/torch.h>

#include "optim/adam.hpp"

namespace panoramia::dp {

torch::Tensor poisson_sample(int64_t n, double q, at::Generator& generator) {
  if (n < 0) throw std::invalid_argument("poisson_sample: negative population size");
  if (!(q >= 0.0 && q <= 1.0))
    throw std::invalid_argument("the sampling rate must be in [0, 1], got " + std::to_string(q));
  if (n == 0 || q == 0.0) return torch::empty({0}, torch::kInt64);
  if (q == 1.0) return torch::arange(n, torch::kInt64);
  // The gaps between consecutive chosen indices are independent Geometric(q) draws,
  // 1 + floor(ln U / ln(1 - q)) for U uniform on (0, 1]: the same law as n Bernoulli(q) draws,
  // from about q·n uniforms instead of n. Indices are exact in double up to 2^53.
  const double log_skip = std::log1p(-q);
  std::vector<torch::Tensor> parts;
  double last = -1.0;  // the last index chosen so far
  while (true) {
    const double expected = q * (double(n) - 1.0 - last);
    const auto want =
        static_cast<int64_t>(std::ceil(expected + 4.0 * std::sqrt(expected * (1.0 - q)) + 16.0));
    const auto u = 1.0 - torch::rand({want}, generator, torch::kFloat64);
    const auto at = ((u.log() / log_skip).floor() + 1.0).cumsum(0) + last;
    const auto inside = at < double(n);
    const auto count = inside.sum().item<int64_t>();
    parts.push_back(at.narrow(0, 0, count).to(torch::kInt64));
    if (count < want) break;  // a draw went past n - 1: the rest of the range is decided
    last = at[want - 1].item<double>();
  }
  return torch::cat(parts);
}

void reject_batch_norm(const torch::nn::Module& module, const std::string& where) {
  std::vector<std::pair<std::string, const torch::nn::Module*>> modules = {{"", &module}};
  for (const auto& item : module.named_modules("", /*include_self=*/false))
    modules.emplace_back(item.key(), item.value().get());
  for (const auto& [key, pointer] : modules) {
    const auto& m = *pointer;
    const bool batch_norm =
        m.as<torch::nn::BatchNorm1dImpl>() || m.as<torch::nn::BatchNorm2dImpl>() ||
        m.as<torch::nn::BatchNorm3dImpl>() || m.name().find("BatchNorm") != std::string::npos;
    if (batch_norm)
      throw std::invalid_argument(where +
                                  ": DP-SGD cannot train a model with BatchNorm (submodule '" +
                                  (key.empty() ? std::string("<root>") : key) + "', " + m.name() +
                                  "), since batch statistics mix examples; use GroupNorm instead");
  }
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::string& name,
                                                        const std::vector<torch::Tensor>& params,
                                                        double lr) {
  if (!(lr > 0.0)) throw std::invalid_argument("the learning rate must be > 0");
  if (name == "sgd")
    return std::make_unique<torch::optim::SGD>(params, torch::optim::SGDOptions(lr));
  if (name == "adam")
    return std::make_unique<panoramia::optim::Adam>(params, torch::optim::AdamOptions(lr));
  throw std::invalid_argument("unknown DP optimizer '" + name + "' (sgd, adam)");
}

DpSgd::DpSgd(std::vector<torch::Tensor> parameters, const DpSgdOptions& options,
             std::vector<double> orders)
    : parameters_(std::move(parameters)), options_(options), accountant_(std::move(orders)) {
  if (!(options.noise_multiplier >= 0.0))
    throw std::invalid_argument("the noise multiplier must be >= 0");
  if (!(options.clip_norm > 0.0)) throw std::invalid_argument("the clipping norm must be > 0");
  if (options.dataset_size < 1) throw std::invalid_argument("DP-SGD needs a non-empty data set");
  if (options.expected_batch < 1 || options.expected_batch > options.dataset_size)
    throw std::invalid_argument("the expected batch size must be in [1, " +
                                std::to_string(options.dataset_size) + "], got " +
                                std::to_string(options.expected_batch));
  q_ = double(options.expected_batch) / double(options.dataset_size);
}

DpSgdOptions plan(int64_t n, int64_t batch, int64_t epochs, double noise_multiplier,
                  double clip_norm, double target_epsilon, double delta) {
  DpSgdOptions o;
  o.clip_norm = clip_norm;
  o.dataset_size = n;
  o.expected_batch = std::min(batch, n);
  o.noise_multiplier = noise_multiplier;
  if (target_epsilon > 0 && n > 0 && o.expected_batch > 0) {
    const double q = double(o.expected_batch) / double(n);
    const int64_t steps = epochs * ((n + o.expected_batch - 1) / o.expected_batch);
    if (steps > 0) o.noise_multiplier = noise_for_epsilon(target_epsilon, delta, q, steps);
  }
  return o;
}

int64_t DpSgd::steps_per_epoch() const {
  return (options_.dataset_size + options_.expected_batch - 1) / options_.expected_batch;
}

torch::Tensor DpSgd::sample(at::Generator& generator) const {
  return poisson_sample(options_.dataset_size, q_, generator);
}

void DpSgd::privatize(const ClippedGradients& clipped, at::Generator& generator,
                      Communicator& comm) {
  if (clipped.sum.size() != parameters_.size())
    throw std::invalid_argument("privatize: " + std::to_string(clipped.sum.size()) +
                                " gradients for " + std::to_string(parameters_.size()) +
                                " parameters");
  torch::NoGradGuard guard;
  std::vector<torch::Tensor> sums = clipped.sum;
  if (comm.world_size() > 1) {
    for (auto& t : sums) t = t.clone();
    comm.all_reduce_sum(sums);
  }
  const double std = options_.noise_multiplier * options_.clip_norm;
  const double denominator = double(options_.expected_batch);
  // One draw for all parameters, on the CPU generator and then moved, so that a run gets the same
  // noise on every device; in float32 (as Opacus draws it) unless every parameter is float64,
  // which lets ATen's vectorised Gaussian kernel run: the float64 draw is scalar Box-Muller and
  // took a third of an Adult-MLP step.
  bool all_double = !parameters_.empty();
  int64_t total = 0;
  for (const auto& p : parameters_) {
    all_double = all_double && p.scalar_type() == torch::kFloat64;
    total += p.numel();
  }
  const auto dtype = all_double ? torch::kFloat64 : torch::kFloat32;
  const auto noise = std > 0.0 ? torch::randn({total}, generator, dtype) : torch::Tensor();
  int64_t offset = 0;
  for (size_t k = 0; k < parameters_.size(); ++k) {
    auto& p = parameters_[k];
    // Float64 parameters keep float64 arithmetic; the others work in float32.
    const auto work = p.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
    auto grad = sums[k].to(work).div(denominator);
    if (noise.defined())
      grad.add_(noise.narrow(0, offset, p.numel()).view(p.sizes()).to(grad.device()),
                std / denominator);
    offset += p.numel();
    p.mutable_grad() = grad.to(p.options());
  }
  accountant_.step(options_.noise_multiplier, q_);
}

}  // namespace panoramia::dp
