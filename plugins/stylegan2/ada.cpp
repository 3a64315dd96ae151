#include "ada.hpp"

#include <cmath>

#include <torch/torch.h>

namespace panoramia::stylegan2 {
namespace {

/// Reflects coordinates (pixel units, centres at 0..size-1) into the image, as reflection padding
/// with align_corners = false: the mirror lines are at -0.5 and size - 0.5.
torch::Tensor reflect(const torch::Tensor& coord, double size) {
  auto t = torch::remainder(coord + 0.5, 2 * size);
  t = torch::where(t > size, 2 * size - t, t) - 0.5;
  return t.clamp(0.0, size - 1);
}

/// Bilinear resampling of `x` [n,c,h,w] at the normalised `grid` [n,h,w,2] (x then y, -1..1,
/// align_corners = false) with reflection, built from gather so that it has second derivatives
/// (LibTorch's grid_sampler backward has none, and the R1 penalty differentiates twice).
torch::Tensor resample(const torch::Tensor& x, const torch::Tensor& grid) {
  const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const auto px = reflect((grid.select(3, 0) + 1) * (double(w) / 2) - 0.5, double(w));
  const auto py = reflect((grid.select(3, 1) + 1) * (double(h) / 2) - 0.5, double(h));
  const auto x0 = px.floor(), y0 = py.floor();
  const auto wx = (px - x0).view({n, 1, h * w}), wy = (py - y0).view({n, 1, h * w});
  const auto ix0 = x0.to(torch::kInt64), iy0 = y0.to(torch::kInt64);
  const auto ix1 = (ix0 + 1).clamp_max(w - 1), iy1 = (iy0 + 1).clamp_max(h - 1);
  const auto flat = x.reshape({n, c, h * w});
  auto at = [&](const torch::Tensor& iy, const torch::Tensor& ix) {
    const auto index = (iy * w + ix).view({n, 1, h * w}).expand({n, c, h * w});
    return flat.gather(2, index);
  };
  const auto top = at(iy0, ix0) * (1 - wx) + at(iy0, ix1) * wx;
  const auto bottom = at(iy1, ix0) * (1 - wx) + at(iy1, ix1) * wx;
  return (top * (1 - wy) + bottom * wy).view({n, c, h, w});
}

/// A per-image Bernoulli(p) mask as float [n].
torch::Tensor chance(std::int64_t n, double p, at::Generator& g) {
  return (torch::rand({n}, g) < p).to(torch::kFloat32);
}

}  // namespace

at::Tensor AdaptiveAugment::apply(const at::Tensor& images, at::Generator& g,
                                  const Shard& shard) const {
  if (p_ <= 0) return images;
  // Parameters for the n images of the global batch; the images are `rows` of them.
  const std::int64_t rows = images.size(0), n = shard.global(rows);
  const double p = p_;
  // Geometric transforms as one 2x3 affine matrix per image (in normalised coordinates), applied
  // by a single bilinear resampling with reflection at the borders.
  auto eye = torch::eye(3).unsqueeze(0).repeat({n, 1, 1});
  auto compose = [&](const torch::Tensor& m) { eye = torch::bmm(eye, m); };
  auto matrix = [&](const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& c,
                    const torch::Tensor& d, const torch::Tensor& tx, const torch::Tensor& ty) {
    const auto zeros = torch::zeros({n}), ones = torch::ones({n});
    return torch::stack({torch::stack({a, b, tx}, 1), torch::stack({c, d, ty}, 1),
                         torch::stack({zeros, zeros, ones}, 1)},
                        1);
  };
  const auto zeros = torch::zeros({n}), ones = torch::ones({n});
  // x-flip
  const auto flip = 1 - 2 * chance(n, p, g) * torch::randint(0, 2, {n}, g).to(torch::kFloat32);
  compose(matrix(flip, zeros, zeros, ones, zeros, zeros));
  // 90-degree rotations
  const auto quarter = chance(n, p, g) * torch::randint(0, 4, {n}, g).to(torch::kFloat32);
  const auto angle90 = quarter * (M_PI / 2);
  compose(matrix(angle90.cos(), -angle90.sin(), angle90.sin(), angle90.cos(), zeros, zeros));
  // integer translation, up to 1/8 of the side (normalised coordinates span 2)
  const double w = double(images.size(3)), h = double(images.size(2));
  const auto t = chance(n, p, g).unsqueeze(1) * ((torch::rand({n, 2}, g) * 2 - 1) * 0.125);
  const auto tx = (t.select(1, 0) * w).round() * 2 / w, ty = (t.select(1, 1) * h).round() * 2 / h;
  compose(matrix(ones, zeros, zeros, ones, tx, ty));
  // isotropic scaling, lognormal(0, (0.2 ln 2)^2)
  const auto scale = torch::exp2(chance(n, p, g) * torch::randn({n}, g) * 0.2);
  compose(matrix(scale, zeros, zeros, scale, zeros, zeros));
  // rotation, uniform in (-pi, pi)
  const auto angle = chance(n, p, g) * (torch::rand({n}, g) * 2 - 1) * M_PI;
  compose(matrix(angle.cos(), -angle.sin(), angle.sin(), angle.cos(), zeros, zeros));

  const auto theta =
      shard.rows_of(eye.slice(1, 0, 2), rows).to(images.device(), images.scalar_type());
  const auto grid = torch::affine_grid_generator(theta, images.sizes(), false);
  auto x = resample(images, grid);

  // Colour: brightness (add N(0, 0.2^2)), contrast (x lognormal(0, (0.5 ln 2)^2) around the
  // mean), saturation for RGB (x lognormal(0, (ln 2)^2) of the deviation from grey).
  const auto device_opts =
      torch::TensorOptions().device(images.device()).dtype(images.scalar_type());
  const auto brightness =
      shard.rows_of(chance(n, p, g) * torch::randn({n}, g) * 0.2, rows).to(device_opts);
  x = x + brightness.view({rows, 1, 1, 1});
  const auto contrast =
      shard.rows_of(torch::exp2(chance(n, p, g) * torch::randn({n}, g) * 0.5), rows)
          .to(device_opts);
  const auto mean = x.mean({1, 2, 3}, true);
  x = (x - mean) * contrast.view({rows, 1, 1, 1}) + mean;
  if (x.size(1) == 3) {
    const auto saturation =
        shard.rows_of(torch::exp2(chance(n, p, g) * torch::randn({n}, g)), rows).to(device_opts);
    const auto grey = x.mean(1, true);
    x = (x - grey) * saturation.view({rows, 1, 1, 1}) + grey;
  }
  return x;
}

void AdaptiveAugment::observe(const at::Tensor& real_logits) {
  sign_sum_ += real_logits.detach().sign().sum().item<double>();
  sign_count_ += real_logits.numel();
}

void AdaptiveAugment::adjust(std::int64_t images, Communicator* comm) {
  if (comm != nullptr && comm->world_size() > 1) {
    // Sums of signs and counts are integers: summed in double they are exact in any order.
    std::vector<at::Tensor> sums{torch::tensor({sign_sum_, double(sign_count_)}, torch::kFloat64)};
    comm->all_reduce_sum(sums);
    sign_sum_ = sums[0][0].item<double>();
    sign_count_ = static_cast<std::int64_t>(sums[0][1].item<double>());
  }
  if (sign_count_ == 0) return;
  const double rt = sign_sum_ / double(sign_count_);
  const double step = double(images) / (speed_kimg_ * 1000.0);
  p_ = std::clamp(p_ + (rt > target_ ? step : -step), 0.0, 1.0);
  sign_sum_ = 0;
  sign_count_ = 0;
}

at::Tensor resample_for_tests(const at::Tensor& x, const at::Tensor& grid) {
  return resample(x, grid);
}

}  // namespace panoramia::stylegan2
