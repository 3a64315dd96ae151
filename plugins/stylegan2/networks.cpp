#include "networks.hpp"

#include <cmath>
#include <numeric>
#include <stdexcept>

#include <torch/torch.h>

namespace panoramia::stylegan2 {
namespace {

constexpr double kWAvgBeta = 0.995;

torch::Tensor one_hot(const torch::Tensor& labels, std::int64_t classes,
                      const torch::Device& device) {
  return torch::one_hot(labels.to(device, torch::kInt64), classes).to(torch::kFloat32);
}

}  // namespace

std::int64_t NetworkOptions::base_resolution() const {
  std::int64_t base = resolution;
  while (base % 2 == 0 && base / 2 >= 4) base /= 2;
  return base;
}

std::int64_t NetworkOptions::channels_at(std::int64_t r) const {
  return std::max<std::int64_t>(1, std::min(channel_base / r, channel_max));
}

void NetworkOptions::validate() const {
  if (resolution < 4 || base_resolution() == resolution)
    throw std::invalid_argument("StyleGAN2 resolution " + std::to_string(resolution) +
                                " must be a base of at least 4 doubled at least once (8, 16, 28, "
                                "32, 64, ...)");
  if (z_dim < 1 || w_dim < 1 || mapping_layers < 1 || d_mapping_layers < 1)
    throw std::invalid_argument("StyleGAN2 z_dim, w_dim and mapping layers must be positive");
  if (channels < 1 || channel_base < 1 || channel_max < 1 || mbstd_group < 1)
    throw std::invalid_argument("StyleGAN2 channel counts and mbstd group must be positive");
}

MappingNetworkImpl::MappingNetworkImpl(std::int64_t z_dim, std::int64_t classes, std::int64_t w_dim,
                                       std::int64_t layers, double lr_mul)
    : z_dim_(z_dim), classes_(classes) {
  if (classes > 0) embed_ = register_module("embed", EqualLinear(classes, w_dim, false));
  layers_ = register_module("layers", torch::nn::ModuleList());
  std::int64_t in = z_dim + (classes > 0 ? w_dim : 0);
  for (std::int64_t i = 0; i < layers; ++i) {
    layers_->push_back(EqualLinear(in, w_dim, true, 0.0, lr_mul));
    in = w_dim;
  }
  w_avg = register_buffer("w_avg", torch::zeros({w_dim}));
}

torch::Tensor MappingNetworkImpl::forward(const torch::Tensor& z, const torch::Tensor& one_hot,
                                          Communicator* comm) {
  std::vector<torch::Tensor> parts;
  if (z_dim_ > 0) parts.push_back(normalize_2nd_moment(z));
  if (classes_ > 0) parts.push_back(normalize_2nd_moment(embed_->forward(one_hot)));
  auto x = parts.size() == 1 ? parts[0] : torch::cat(parts, 1);
  for (const auto& layer : *layers_) x = layer->as<EqualLinear>()->forward(x);
  if (is_training() && z_dim_ > 0) {
    torch::NoGradGuard guard;
    if (comm != nullptr && comm->world_size() > 1) {
      // The global batch's mean: the ranks' row sums and counts, summed.
      std::vector<torch::Tensor> sums{
          torch::cat({x.detach().sum(0).to(torch::kFloat64),
                      torch::full({1}, double(x.size(0)), torch::kFloat64)})};
      comm->all_reduce_sum(sums);
      const auto rows = sums[0].narrow(0, x.size(1), 1);
      const auto mean = (sums[0].narrow(0, 0, x.size(1)) / rows).to(w_avg.scalar_type());
      w_avg.copy_(mean.lerp(w_avg, kWAvgBeta));
    } else {
      w_avg.copy_(x.detach().mean(0).lerp(w_avg, kWAvgBeta));
    }
  }
  return x;
}

SynthesisBlockImpl::SynthesisBlockImpl(std::int64_t in, std::int64_t out, std::int64_t w_dim,
                                       std::int64_t resolution, std::int64_t channels, bool first)
    : first_(first) {
  if (first) {
    const_ = register_parameter("const", torch::zeros({out, resolution, resolution}));
  } else {
    conv0_ = register_module("conv0", SynthesisLayer(in, out, w_dim, resolution, true));
  }
  conv1_ = register_module("conv1", SynthesisLayer(out, out, w_dim, resolution, false));
  torgb_ = register_module("torgb", ToRgb(out, channels, w_dim));
}

void SynthesisBlockImpl::forward(torch::Tensor& x, torch::Tensor& img, const torch::Tensor& w,
                                 NoiseMode noise, at::Generator* generator, const Shard& shard) {
  if (first_) {
    x = const_.unsqueeze(0).expand({w.size(0), -1, -1, -1});
  } else {
    x = conv0_->forward(x, w, noise, generator, shard);
  }
  x = conv1_->forward(x, w, noise, generator, shard);
  const auto y = torgb_->forward(x, w);
  img = img.defined() ? upsample2x(img) + y : y;
}

GeneratorNetImpl::GeneratorNetImpl(const NetworkOptions& o) : options_(o) {
  o.validate();
  mapping_ =
      register_module("mapping", MappingNetwork(o.z_dim, o.classes, o.w_dim, o.mapping_layers));
  blocks_ = register_module("blocks", torch::nn::ModuleList());
  std::int64_t in = 0;
  for (std::int64_t r = o.base_resolution(); r <= o.resolution; r *= 2) {
    const std::int64_t out = o.channels_at(r);
    blocks_->push_back(SynthesisBlock(in, out, o.w_dim, r, o.channels, in == 0));
    in = out;
  }
}

void GeneratorNetImpl::reset_parameters(at::Generator& g) {
  torch::NoGradGuard guard;
  for (auto& m : modules(false))
    if (auto* r = dynamic_cast<Reinitializable*>(m.get())) r->reset_parameters(g);
  for (const auto& b : *blocks_) {
    auto* block = b->as<SynthesisBlock>();
    if (block->first_) block->const_.copy_(torch::randn(block->const_.sizes(), g, torch::kFloat32));
  }
  mapping_->w_avg.zero_();
}

torch::Tensor GeneratorNetImpl::forward(const torch::Tensor& z, const torch::Tensor& labels,
                                        NoiseMode noise, at::Generator* generator,
                                        double truncation_psi, const Shard& shard) {
  const auto device = z.device();
  auto w = mapping_->forward(
      z, options_.classes > 0 ? one_hot(labels, options_.classes, device) : torch::Tensor(),
      shard.comm);
  if (truncation_psi != 1.0) w = mapping_->w_avg.lerp(w, truncation_psi);
  torch::Tensor x, img;
  for (const auto& b : *blocks_)
    b->as<SynthesisBlock>()->forward(x, img, w, noise, generator, shard);
  return img;
}

DiscriminatorBlockImpl::DiscriminatorBlockImpl(std::int64_t in, std::int64_t out,
                                               std::int64_t channels, bool first, bool resnet) {
  if (first) fromrgb_ = register_module("fromrgb", EqualConv(channels, in, 1, true));
  conv0_ = register_module("conv0", EqualConv(in, in, 3, true));
  conv1_ = register_module("conv1", EqualConv(in, out, 3, true, true));
  if (resnet)
    skip_ = register_module("skip", EqualConv(in, out, 1, false, true, false, std::sqrt(0.5)));
}

torch::Tensor DiscriminatorBlockImpl::forward(const torch::Tensor& input) {
  const auto x = fromrgb_ ? fromrgb_->forward(input) : input;
  auto out = conv1_->forward(conv0_->forward(x));
  if (skip_) out = skip_->forward(x) + out * std::sqrt(0.5);
  return out;
}

torch::Tensor minibatch_stddev(const torch::Tensor& x, std::int64_t group) {
  const auto n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  std::int64_t g = std::min(group, n);
  while (n % g != 0) --g;  // groups must tile the batch
  auto y = x.reshape({g, n / g, 1, c, h, w});
  y = y - y.mean(0);
  y = (y.square().mean(0) + 1e-8).sqrt();  // [n/g, 1, c, h, w]
  y = y.mean({2, 3, 4});                   // [n/g, 1]
  y = y.reshape({-1, 1, 1, 1}).repeat({g, 1, h, w});
  return torch::cat({x, y}, 1);
}

DiscriminatorImpl::DiscriminatorImpl(const NetworkOptions& o) : options_(o) {
  o.validate();
  blocks_ = register_module("blocks", torch::nn::ModuleList());
  const std::int64_t base = o.base_resolution();
  for (std::int64_t r = o.resolution; r > base; r /= 2)
    blocks_->push_back(DiscriminatorBlock(o.channels_at(r), o.channels_at(r / 2), o.channels,
                                          r == o.resolution, o.resnet_discriminator));
  const std::int64_t c = o.channels_at(base);
  cmap_dim_ = o.classes > 0 ? c : 0;
  if (o.classes > 0)
    mapping_ =
        register_module("mapping", MappingNetwork(0, o.classes, cmap_dim_, o.d_mapping_layers));
  epilogue_conv_ = register_module("epilogue_conv", EqualConv(c + 1, c, 3, true));
  epilogue_fc_ = register_module("epilogue_fc", EqualLinear(c * base * base, c, true));
  out_ = register_module("out", EqualLinear(c, o.classes > 0 ? cmap_dim_ : 1, false));
}

torch::Tensor DiscriminatorImpl::forward(const torch::Tensor& img, const torch::Tensor& labels) {
  auto x = img;
  for (const auto& b : *blocks_) x = b->as<DiscriminatorBlock>()->forward(x);
  x = minibatch_stddev(x, options_.mbstd_group);
  x = epilogue_conv_->forward(x);
  x = epilogue_fc_->forward(x.flatten(1));
  x = out_->forward(x);
  if (cmap_dim_ == 0) return x.squeeze(1);
  // Projection conditioning: the dot product with the label's embedding.
  const auto cmap = mapping_->forward({}, one_hot(labels, options_.classes, img.device()));
  return (x * cmap).sum(1) / std::sqrt(double(cmap_dim_));
}

}  // namespace panoramia::stylegan2
