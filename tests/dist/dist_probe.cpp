// A one-rank-of-N training run for the data-parallel tests: joins the ranks, trains the toy MLP or
// a tiny Wide ResNet through the plugins' own training loops (mlp::train, image::train_classifier)
// on seeded toy data, and saves the final parameters and buffers.
//
//   dist_probe --model mlp|wrn|bn|sums|<a probe of probes.hpp> --world N --rank R --master
//   HOST:PORT --out FILE
//              [--epochs E] [--timeout S] [--ready FILE]
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "classifier.hpp"
#include "context_impl.hpp"
#include "dist/communicator.hpp"
#include "network.hpp"
#include "panoramia/data_parallel.hpp"
#include "pipeline.hpp"
#include "probes.hpp"
#include "threads.hpp"
#include "tolerance.hpp"
#include "toy_tasks.hpp"
#include "wide_resnet.hpp"

using namespace panoramia;

namespace {

std::vector<at::Tensor> train_mlp(Context& ctx, std::int64_t epochs) {
  auto [x, y, net] = probes::toy_mlp(11, 200, 10, 3, 5, {32, 16});
  mlp::TrainOptions t;
  t.epochs = epochs;
  t.batch_size = 50;  // 4 global batches per epoch
  t.lr = 0.01;
  mlp::train(net, x, y, {}, {}, t, ctx, "probe mlp");
  // Adam (betas 0.9, 0.999), 4 steps an epoch: every gradient here is real (no normalisation
  // removes a parameter), so the tight bound is Adam's rounding bound with ρ = 2·γ·u·κ, γ ≈ 170
  // roundings along a path (the batch of 50 and the 10-, 32-, 16-term dot products both ways), κ ≲
  // 20: 1e-4; hard: the drift bound (0.24 for 3 epochs), with one element per 1e4 allowed beyond
  // tight (a gradient at the rounding level in some step). A bug moves elements by whole steps
  // (~0.01 each).
  using namespace panoramia::testing;
  const std::int64_t steps = epochs * 200 / t.batch_size;
  const double drift = adam_drift_bound(t.lr, 0.9, 0.999, steps);
  const double rho = sum_order_bound(170, 20);
  std::vector<at::Tensor> state;
  for (const auto& p : net->parameters()) {
    state.push_back(p.detach().clone());
    probes::tolerances().push_back(
        {adam_rounding_bound(t.lr, 0.9, 0.999, steps, rho, p.abs().max().item<double>()), drift});
  }
  probes::outliers() = 1;
  return state;
}

// SGD with momentum: Adam's first steps are about lr * sign(gradient), so gradient elements that
// are zero up to rounding differ by a whole step between any two summation orders (in PyTorch's DDP
// too); the MLP shows that Adam runs match wherever gradients are not at the rounding level.
std::string g_optimizer = "sgd";

std::vector<at::Tensor> train_wrn(Context& ctx, std::int64_t epochs) {
  const Batch train = probes::noise_images(12, 48, 12);
  wrn::WideResNet net(probes::tiny_wrn_options());
  auto init = at::make_generator<at::CPUGeneratorImpl>(13);
  net->reset_parameters(init);
  image::ClassifierRecipe recipe;
  recipe.epochs = epochs;
  recipe.batch_size = 16;  // 3 global batches per epoch, flip + crop augmentation drawn globally
  recipe.optimizer.schedule = "constant";
  recipe.optimizer.name = g_optimizer;
  image::Normalization normalization;
  image::train_classifier(*net, normalization, train, Batch{}, recipe, ctx, "probe wrn");
  // SGD, momentum 0.9, lr 0.01, 3 steps an epoch (sgd_rounding_bound): each gradient element
  // carries a relative rounding error ρ = 2·γ·u·κ with γ ≈ 6000 roundings along a path (BatchNorm
  // sums and weight gradients over 16·144 = 2304 positions, 3x3 convolutions of ≤ 64 channels, K ≤
  // 576, both ways) and κ ≲ 10, of a gradient scale G taken as twice the largest element of the
  // last step's gradient: ≲ 1.3e-3·G for 2 epochs. The running statistics (float64 copies):
  // averages of float32 batch statistics over 2304 values, ≤ 2·γ·u·κ of their size with γ ≈ 2304;
  // the counts exactly. Unsynchronised BatchNorm or a gradient not summed over the ranks changes
  // gradients and statistics by ≥ 10%, 100 times these.
  using namespace panoramia::testing;
  const double rho = sum_order_bound(6000, 10);
  std::vector<at::Tensor> state;
  for (const auto& p : net->parameters()) {
    state.push_back(p.detach().clone());
    const double bound =
        sgd_parameter_bound(p, recipe.optimizer.lr, recipe.optimizer.momentum, epochs * 3, rho);
    // --optimizer adam|adamw (for debugging): only Adam's drift bound holds (see above).
    const double drift = adam_drift_bound(recipe.optimizer.lr, recipe.optimizer.beta1,
                                          recipe.optimizer.beta2, epochs * 3);
    if (g_optimizer == "sgd")
      probes::tolerances().push_back({bound, bound});
    else
      probes::tolerances().push_back({drift, drift});
  }
  for (const auto& b : net->buffers()) {
    state.push_back(b.detach().clone().to(torch::kFloat64));
    const double bound = b.is_floating_point()
                             ? sum_order_bound(2304, 10) * b.abs().max().item<double>()
                             : 0.0;  // num_batches_tracked
    probes::tolerances().push_back({bound, bound});
  }
  return state;
}

// One forward and backward pass of BatchNorm2d (affine) on a global batch of `rows` rows sharded
// over the ranks (uneven shards; an empty one when rows < ranks): the output, the input gradient
// (each rank's rows, summed over the ranks into the whole batch), the weight and bias gradients
// and the running statistics.
void batch_norm_pass(Communicator& comm, std::int64_t rows, std::vector<at::Tensor>& state) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(14 + rows);
  const auto x = (torch::randn({rows, 3, 4, 4}, g) * 2 + 1).requires_grad_();
  const auto r = torch::randn({rows, 3, 4, 4}, g);
  torch::nn::BatchNorm2d bn(3);
  {
    torch::NoGradGuard guard;
    bn->weight.copy_(torch::tensor({0.5, 1.5, -1.0}));
    bn->bias.copy_(torch::tensor({0.1, -0.2, 0.3}));
  }
  DataParallel dp(comm, *bn);
  bn->zero_grad();
  const auto y = batch_norm(bn, dp.shard(x));
  const auto loss = (y * dp.shard(r)).sum();
  dp.prepare();
  loss.backward();
  dp.synchronize();
  torch::NoGradGuard guard;
  const auto [begin, end] = dp.shard_range(rows);
  std::vector<at::Tensor> whole{torch::zeros_like(x), x.grad().clone()};
  whole[0].slice(0, begin, end).copy_(y);
  comm.all_reduce_sum(whole);
  for (const auto& t : whole) state.push_back(t);
  for (const auto& t : {bn->weight.grad(), bn->bias.grad(), bn->running_mean, bn->running_var})
    state.push_back(t.clone());
  // Bounds (tolerance.hpp), computed from the whole batch as every process holds it: the ranks
  // add per-shard float32 sums where one process reduces once, so each statistic of the n = rows·16
  // values of a channel is within 2·(n + 10)·u·κ of the other's, relative to its terms (ρ; κ =
  // E[x²]/Var x, the cancellation of the variance; + 10 for the operations that follow), and
  // each tensor within ρ of its terms' scale. Statistics of one shard instead of the batch are
  // off by ~10% (7 rows) or entirely (the empty shard).
  using namespace panoramia::testing;
  const double n = double(rows) * 16;
  const auto xd = x.detach().to(torch::kFloat64), rd = r.to(torch::kFloat64);
  const auto mean = xd.mean({0, 2, 3}, true), var = xd.var({0, 2, 3}, false, true);
  const auto square = xd.pow(2).mean({0, 2, 3}, true);
  const double rho = sum_order_bound(n + 10, (square / var).max().item<double>());
  const auto sd = (var + bn->options.eps()).sqrt();
  const auto xhat = (xd - mean) / sd;
  const auto gamma = bn->weight.detach().to(torch::kFloat64).abs().view({1, 3, 1, 1});
  const auto beta = bn->bias.detach().to(torch::kFloat64).abs().view({1, 3, 1, 1});
  const auto mean_r = rd.abs().mean({0, 2, 3}, true),
             mean_rx = (rd * xhat).abs().mean({0, 2, 3}, true);
  const double scales[] = {
      (gamma * xhat.abs() + beta).max().item<double>(),                                // y
      (gamma / sd * (rd.abs() + mean_r + xhat.abs() * mean_rx)).max().item<double>(),  // dx
      (rd * xhat).abs().sum({0, 2, 3}).max().item<double>(),                           // dγ
      rd.abs().sum({0, 2, 3}).max().item<double>(),                                    // dβ
      0.1 * xd.abs().mean({0, 2, 3}).max().item<double>(),                             // mean
      0.1 * square.max().item<double>() * n / std::max(n - 1, 1.0) + 0.9};             // var
  for (const double scale : scales) probes::tolerances().push_back({rho * scale, rho * scale});
}

// Sums over the ranks of tensors of several shapes and types in one call, one of them a
// non-contiguous view: rank r contributes r + 1 times each pattern.
std::vector<at::Tensor> sums(Communicator& comm) {
  const double k = comm.rank() + 1;
  auto base = torch::arange(6, torch::kFloat32).view({2, 3}) * k;
  std::vector<at::Tensor> t{torch::tensor({1.0, 2.0}) * k, torch::full({3}, 10, torch::kInt64) * k,
                            base.t(), torch::ones({1}, torch::kFloat64) * k};
  comm.all_reduce_sum(t);
  return {t[0], t[1].to(torch::kFloat64), base, t[3]};
}

std::vector<at::Tensor> batch_norm_passes(Communicator& comm) {
  std::vector<at::Tensor> state;
  batch_norm_pass(comm, 7, state);
  batch_norm_pass(comm, 1, state);
  return state;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model = "mlp", out, ready;
  std::int64_t epochs = 2;
  double timeout = 20;
  dist::Options options;
  if (argc == 4 && std::string(argv[1]) == "--compare") {  // per-tensor max |a - b|, for debugging
    std::vector<at::Tensor> a, b;
    torch::load(a, argv[2]);
    torch::load(b, argv[3]);
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
      std::cout << i << " " << a[i].sizes() << " "
                << (a[i].to(torch::kFloat64) - b[i].to(torch::kFloat64)).abs().max().item<double>()
                << "\n";
    return 0;
  }
  try {
    for (int i = 1; i + 1 < argc; i += 2) {
      const std::string key = argv[i], value = argv[i + 1];
      if (dist::parse_rank_option(key, value, options)) continue;
      if (key == "--model")
        model = value;
      else if (key == "--out")
        out = value;
      else if (key == "--epochs")
        epochs = std::stoll(value);
      else if (key == "--timeout")
        timeout = std::stod(value);
      else if (key == "--ready")
        ready = value;
      else if (key == "--optimizer")
        g_optimizer = value;
      else
        throw std::invalid_argument("unknown argument " + key);
    }
    options.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(timeout * 1000));
    set_threads(1);
    auto comm = dist::connect(options);
    if (!ready.empty()) std::ofstream(ready) << "joined\n";
    auto logger = spdlog::stderr_color_mt("probe");
    logger->set_level(spdlog::level::warn);
    HostContext ctx(OptionValues{}, logger, 99, std::filesystem::temp_directory_path(), torch::kCPU,
                    comm.get());
    std::vector<at::Tensor> state;
    if (model == "mlp")
      state = train_mlp(ctx, epochs);
    else if (model == "wrn")
      state = train_wrn(ctx, epochs);
    else if (model == "bn")
      state = batch_norm_passes(*comm);
    else if (model == "sums")
      state = sums(*comm);
    else if (const auto it = probes::registry().find(model); it != probes::registry().end())
      state = it->second(ctx, epochs);
    else
      throw std::invalid_argument("unknown --model " + model);
    if (!out.empty()) torch::save(state, out);
    if (!out.empty() && !probes::tolerances().empty()) {
      std::vector<double> flat;
      for (const auto& b : probes::tolerances()) flat.insert(flat.end(), {b.tight, b.hard});
      std::vector<at::Tensor> saved{
          torch::tensor(flat, torch::kFloat64).view({-1, 2}),
          torch::tensor({double(probes::outliers())}, torch::kFloat64),
          torch::tensor({double(probes::sensitive_output())}, torch::kFloat64)};
      for (const auto& t : probes::sensitivities())
        saved.push_back(t.defined() ? t.to(torch::kFloat64) : torch::zeros({0}, torch::kFloat64));
      torch::save(saved, out + ".tolerance");
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
