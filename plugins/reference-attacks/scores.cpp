#include "scores.hpp"

#include <zlib.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include <torch/torch.h>

namespace panoramia::attacks {
namespace {

at::Tensor as_vector(const at::Tensor& t, const char* what) {
  if (!t.defined()) throw std::invalid_argument(std::string(what) + " is missing");
  auto v = t.reshape({-1}).to(torch::kFloat64);
  if (!torch::isfinite(v).all().item<bool>())
    throw std::invalid_argument(std::string(what) + " has a non-finite value");
  return v;
}

void check_references(const at::Tensor& side, const at::Tensor& refs) {
  if (refs.dim() != 2 || refs.size(0) < 1 || refs.size(1) != side.size(0))
    throw std::invalid_argument("the reference models' losses are not aligned with the samples");
}

// p(x) = exp(-loss), averaged over the references: [n].
at::Tensor mean_reference_probability(const at::Tensor& refs) {
  return torch::exp(-refs).mean(0);
}

}  // namespace

at::Tensor stack_reference_losses(const std::vector<at::Tensor>& losses, std::int64_t n,
                                  const char* attack) {
  if (losses.empty())
    throw std::invalid_argument(std::string(attack) +
                                " needs reference models: set [helper] count to 2 or more "
                                "(helpers 2..count are the references)");
  std::vector<at::Tensor> rows;
  for (std::size_t j = 0; j < losses.size(); ++j) {
    const auto v = as_vector(losses[j], "a reference model's loss");
    if (v.size(0) != n)
      throw std::invalid_argument("reference model " + std::to_string(j + 2) + " gave " +
                                  std::to_string(v.size(0)) + " losses for " + std::to_string(n) +
                                  " samples");
    rows.push_back(v);
  }
  return torch::stack(rows);
}

at::Tensor calibrated_loss(const at::Tensor& side_loss, const at::Tensor& reference_losses) {
  const auto side = as_vector(side_loss, "the side model's loss");
  check_references(side, reference_losses);
  return -(side - reference_losses.mean(0));
}

at::Tensor reference_ratio(const at::Tensor& side_loss, const at::Tensor& reference_losses) {
  const auto side = as_vector(side_loss, "the side model's loss");
  check_references(side, reference_losses);
  const auto ref = reference_losses.mean(0);
  if ((ref <= 0).any().item<bool>())
    throw std::invalid_argument(
        "reference-ratio needs positive reference losses (a reference model gave a loss of 0)");
  return -(side / ref);
}

at::Tensor rmia_offline(const at::Tensor& side_loss, const at::Tensor& reference_losses,
                        const at::Tensor& population_side, const at::Tensor& population_references,
                        double a, double gamma) {
  if (!(a >= 0 && a < 1)) throw std::invalid_argument("rmia: offline_a must be in [0, 1)");
  if (!(gamma > 0)) throw std::invalid_argument("rmia: gamma must be positive");
  const auto side = as_vector(side_loss, "the side model's loss");
  check_references(side, reference_losses);
  const auto z_side = as_vector(population_side, "the population's loss");
  check_references(z_side, population_references);
  if (z_side.size(0) == 0) throw std::invalid_argument("rmia: the population is empty");
  // Pr(x) >= (1 - a) / 2 > 0: the ratios are finite.
  const auto ratio = [a](const at::Tensor& loss, const at::Tensor& refs) {
    const auto marginal = ((1 + a) * mean_reference_probability(refs) + (1 - a)) / 2;
    return torch::exp(-loss) / marginal;
  };
  const auto r_x = ratio(side, reference_losses);
  const auto r_z = std::get<0>(torch::sort(ratio(z_side, population_references)));
  // r(x) / r(z) > gamma  <=>  r(z) < r(x) / gamma (r(z) >= 0): the count of smaller population
  // ratios, found by binary search in the sorted population.
  const auto below = torch::searchsorted(r_z, r_x / gamma, /*out_int32=*/false, /*right=*/false);
  return below.to(torch::kFloat64) / static_cast<double>(z_side.size(0));
}

at::Tensor logit_confidence(const at::Tensor& loss) {
  // log p - log(1 - p) with log p = -loss and log(1 - p) = log(-expm1(-loss)); a loss of 0 (p = 1)
  // is clamped to the smallest positive double's loss so that the value stays finite.
  const auto l = loss.to(torch::kFloat64).clamp_min(1e-300);
  return -l - torch::log(-torch::expm1(-l));
}

at::Tensor lira_offline(const at::Tensor& side_loss, const at::Tensor& reference_losses,
                        LiraVariance variance) {
  const auto side = as_vector(side_loss, "the side model's loss");
  check_references(side, reference_losses);
  const auto phi = logit_confidence(side);
  const auto phi_refs = logit_confidence(reference_losses);  // [K-1, n]
  const auto mean = phi_refs.mean(0);
  at::Tensor sd;
  if (variance == LiraVariance::kPerExample) {
    if (reference_losses.size(0) < 2)
      throw std::invalid_argument(
          "lira-offline: a per-example variance needs at least two reference models ([helper] "
          "count >= 3); use variance = global");
    sd = phi_refs.std(0, /*unbiased=*/false);
  } else {
    // Carlini et al.'s fixed variance: the spread of every reference value of every example.
    sd = torch::full_like(mean, phi_refs.std(/*unbiased=*/false).item<double>());
  }
  return (phi - mean) / (sd + 1e-30);
}

at::Tensor min_k_prob(const at::Tensor& token_losses, double k) {
  if (!(k > 0 && k <= 1)) throw std::invalid_argument("min-k-prob: k must be in (0, 1]");
  if (!token_losses.defined() || token_losses.dim() != 2 || token_losses.size(1) == 0)
    throw std::invalid_argument(
        "min-k-prob needs the side model's per-token losses (loss_vector [n, T]), which this "
        "target does not give (a text target such as gpt2 does)");
  const auto losses = token_losses.to(torch::kFloat64);
  if (!torch::isfinite(losses).all().item<bool>())
    throw std::invalid_argument("the side model's per-token losses have a non-finite value");
  const auto count =
      static_cast<std::int64_t>(std::ceil(k * static_cast<double>(losses.size(1)) - 1e-9));
  const auto highest = std::get<0>(torch::topk(losses, std::max<std::int64_t>(1, count), 1));
  return -highest.mean(1);
}

at::Tensor zlib_lengths(const at::Tensor& tokens) {
  if (!tokens.defined() || tokens.dim() != 2 || tokens.scalar_type() != torch::kInt64)
    throw std::invalid_argument(
        "zlib-ratio needs text samples (int64 token ids [n, T]); these samples are not tokens");
  const auto t = tokens.contiguous();
  const std::int64_t n = t.size(0), width = t.size(1);
  const std::int64_t* ids = t.data_ptr<std::int64_t>();
  auto out = torch::empty({n}, torch::kFloat64);
  auto* lengths = out.data_ptr<double>();
  std::vector<unsigned char> bytes, packed;
  for (std::int64_t i = 0; i < n; ++i) {
    bytes.clear();
    for (std::int64_t j = 0; j < width; ++j) {
      const std::int64_t id = ids[i * width + j];
      if (id < 0) throw std::invalid_argument("zlib-ratio: a token id is negative");
      auto v = static_cast<std::uint64_t>(id);
      do {
        bytes.push_back(static_cast<unsigned char>((v & 0x7f) | (v > 0x7f ? 0x80 : 0)));
        v >>= 7;
      } while (v != 0);
    }
    uLongf size = compressBound(static_cast<uLong>(bytes.size()));
    packed.resize(size);
    if (compress2(packed.data(), &size, bytes.data(), static_cast<uLong>(bytes.size()), 9) != Z_OK)
      throw std::runtime_error("zlib-ratio: zlib could not compress a sample");
    lengths[i] = static_cast<double>(size);
  }
  return out;
}

at::Tensor zlib_ratio(const at::Tensor& side_loss, const at::Tensor& lengths) {
  const auto side = as_vector(side_loss, "the side model's loss");
  if (lengths.size(0) != side.size(0))
    throw std::invalid_argument("zlib-ratio: the losses and the samples are not aligned");
  return -(side / lengths.to(torch::kFloat64));
}

}  // namespace panoramia::attacks
