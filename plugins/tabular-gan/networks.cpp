#include "networks.hpp"

#include <stdexcept>

#include <torch/torch.h>

#include <panoramia/data_parallel.hpp>

namespace panoramia::tabular_gan {

ResidualImpl::ResidualImpl(int64_t in, int64_t out) {
  fc_ = register_module("fc", torch::nn::Linear(in, out));
  bn_ = register_module("bn", torch::nn::BatchNorm1d(out));
}

torch::Tensor ResidualImpl::forward(const torch::Tensor& x) {
  // Synchronised over the ranks while a DataParallel trains (the global batch's statistics).
  return torch::cat({torch::relu(panoramia::batch_norm(bn_, fc_->forward(x))), x}, 1);
}

TabularGeneratorImpl::TabularGeneratorImpl(const GeneratorOptions& o) : options_(o) {
  if (o.data_dim <= 0 || o.noise_dim <= 0)
    throw std::invalid_argument("the generator needs positive noise and data sizes");
  blocks_ = register_module("blocks", torch::nn::ModuleList());
  int64_t dim = o.noise_dim + o.cond_dim;
  for (const int64_t h : o.hidden) {
    if (h <= 0) throw std::invalid_argument("generator layer sizes must be positive");
    blocks_->push_back(Residual(dim, h));
    dim += h;
  }
  out_ = register_module("out", torch::nn::Linear(dim, o.data_dim));
}

torch::Tensor TabularGeneratorImpl::forward(const torch::Tensor& input) {
  auto x = input;
  for (const auto& block : *blocks_) x = block->as<Residual>()->forward(x);
  return out_->forward(x);
}

DiscriminatorImpl::DiscriminatorImpl(const DiscriminatorOptions& o, at::Generator generator)
    : options_(o), generator_(std::move(generator)) {
  if (o.input_dim <= 0 || o.pac <= 0)
    throw std::invalid_argument("the discriminator needs positive input and pac sizes");
  layers_ = register_module("layers", torch::nn::ModuleList());
  int64_t dim = o.input_dim * o.pac;
  for (const int64_t h : o.hidden) {
    if (h <= 0) throw std::invalid_argument("discriminator layer sizes must be positive");
    layers_->push_back(torch::nn::Linear(dim, h));
    dim = h;
  }
  out_ = register_module("out", torch::nn::Linear(dim, 1));
}

torch::Tensor DiscriminatorImpl::forward(const torch::Tensor& rows, Part groups) {
  if (rows.size(0) % options_.pac != 0)
    throw std::invalid_argument(
        "the discriminator needs a multiple of pac = " + std::to_string(options_.pac) +
        " rows, got " + std::to_string(rows.size(0)));
  const int64_t n = rows.size(0) / options_.pac;
  const int64_t total = groups.total < 0 ? n : groups.total;
  if (groups.begin < 0 || groups.begin + n > total)
    throw std::invalid_argument("discriminator groups outside the global batch");
  auto x = rows.reshape({n, options_.input_dim * options_.pac});
  for (const auto& layer : *layers_) {
    x = torch::leaky_relu(layer->as<torch::nn::Linear>()->forward(x), 0.2);
    // Dropout from our own generator, so that training is reproducible; the masks are drawn for
    // the global batch and this part's groups kept.
    if (is_training())
      x = global_batch_dropout(x, options_.dropout, &generator_,
                               BatchRows{total, groups.begin, groups.begin + n});
  }
  return out_->forward(x);
}

torch::Tensor gumbel_softmax(const torch::Tensor& logits, double tau, at::Generator& generator,
                             Part rows) {
  const int64_t n = logits.size(0);
  const int64_t total = rows.total < 0 ? n : rows.total;
  if (rows.begin < 0 || rows.begin + n > total)
    throw std::invalid_argument("Gumbel-softmax rows outside the global batch");
  auto global = logits.sizes().vec();
  global[0] = total;
  const auto u =
      torch::rand(global, generator, logits.scalar_type()).slice(0, rows.begin, rows.begin + n);
  const auto g = -torch::log(-torch::log(u + 1e-10) + 1e-10);
  return torch::softmax((logits + g) / tau, -1);
}

torch::Tensor apply_activations(const torch::Tensor& raw, const std::vector<Span>& spans,
                                at::Generator& generator, Part rows) {
  std::vector<torch::Tensor> parts;
  for (const auto& s : spans) {
    const auto block = raw.slice(1, s.start, s.start + s.width);
    parts.push_back(s.softmax ? gumbel_softmax(block, 0.2, generator, rows) : torch::tanh(block));
  }
  return torch::cat(parts, 1);
}

torch::Tensor global_mean(const torch::Tensor& x, int64_t total) {
  if (x.size(0) == total) return x.mean();
  if (x.size(0) == 0) return x.sum();
  return x.mean() * (double(x.size(0)) / double(total));
}

torch::Tensor condition_loss(const torch::Tensor& raw, const torch::Tensor& cond,
                             const torch::Tensor& mask, const std::vector<DiscreteColumn>& discrete,
                             int64_t total_rows) {
  if (discrete.empty()) return torch::zeros({}, raw.options());
  std::vector<torch::Tensor> losses;
  for (const auto& d : discrete) {
    const auto logits = raw.slice(1, d.start, d.start + d.categories);
    const auto target = cond.slice(1, d.cond_start, d.cond_start + d.categories).argmax(1);
    losses.push_back(torch::nn::functional::cross_entropy(
        logits, target, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone)));
  }
  return (torch::stack(losses, 1) * mask).sum() / double(total_rows < 0 ? raw.size(0) : total_rows);
}

torch::Tensor gradient_penalty(Discriminator& d, const torch::Tensor& real,
                               const torch::Tensor& fake, int64_t pac, double lambda,
                               at::Generator& generator, Part groups) {
  const int64_t n = real.size(0) / pac;
  const int64_t total = groups.total < 0 ? n : groups.total;
  const int64_t dim = real.size(1);
  const auto alpha = torch::rand({total, 1, 1}, generator, real.scalar_type())
                         .slice(0, groups.begin, groups.begin + n)
                         .expand({n, pac, dim})
                         .reshape({n * pac, dim});
  auto interpolates = (alpha * real + (1 - alpha) * fake).detach().requires_grad_(true);
  const auto scores = d->forward(interpolates, Part{total, groups.begin});
  const auto grads = torch::autograd::grad({scores}, {interpolates}, {torch::ones_like(scores)},
                                           /*retain_graph=*/true, /*create_graph=*/true)[0];
  const auto norms = grads.reshape({n, pac * dim}).norm(2, 1) - 1;
  return global_mean(norms.pow(2), total) * lambda;
}

}  // namespace panoramia::tabular_gan
