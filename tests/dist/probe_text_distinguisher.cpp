// Probe: the text-distinguisher attack (a tiny GPT-2 backbone with the side-feature branch) fitted
// through its own two-phase loop on a seeded toy game, then scored on held-out rows. Returns the
// trained parameters and the scores (computed in shares across the ranks and exchanged).
#include <algorithm>
#include <cmath>
#include <string>

#include <torch/torch.h>

#include "context_impl.hpp"
#include "distinguisher.hpp"
#include "probes.hpp"
#include "tolerance.hpp"

namespace panoramia::probes {
namespace {

// Blocks of 8 tokens over a vocabulary of 32 (members draw tokens 0-15, non-members 16-31) and 7
// side features that carry a weaker signal.
AttackData game(std::int64_t n, std::uint64_t seed, at::Tensor& members) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  members = torch::bernoulli(torch::full({n}, 0.5), gen);
  AttackData d;
  d.samples.x = torch::randint(0, 16, {n, 8}, gen, torch::kInt64) +
                (1 - members.to(torch::kInt64)).unsqueeze(1) * 16;
  d.samples.modality = "text";
  d.features = torch::randn({n, 7}, gen) + 3 - members.unsqueeze(1) * 0.5;
  return d;
}

std::vector<at::Tensor> text_distinguisher(Context& outer, std::int64_t epochs) {
  std::map<std::string, std::string> values;
  const auto specs = text_attacks::TextDistinguisherAttack::option_specs();
  for (const auto& s : specs) values[s.name] = s.default_value;
  const std::map<std::string, std::string> tiny = {{"preset", "tiny"},
                                                   {"width", "32"},
                                                   {"context", "16"},
                                                   {"vocab_size", "32"},
                                                   {"dropout", "0.1"},
                                                   {"phase1_steps", std::to_string(5 * epochs)},
                                                   {"steps", std::to_string(5 * epochs)},
                                                   {"phase1_lr", "1e-3"},
                                                   {"lr", "1e-3"},
                                                   {"warmup_steps", "2"},
                                                   {"batch_size", "30"},
                                                   {"eval_every", "5"},
                                                   {"max_fpr", "1"}};
  for (const auto& [k, v] : tiny) values[k] = v;
  HostContext ctx(OptionValues(specs, values), outer.logger(), 21, outer.work_dir(), torch::kCPU,
                  &outer.communicator());
  at::Tensor train_y, test_y;
  const auto train = game(160, 22, train_y);
  const auto test = game(41, 23, test_y);  // an odd count: uneven shares of the scoring
  text_attacks::TextDistinguisherAttack attack;
  // LibTorch's own generator (GPT-2's dropout) seeded as the host seeds it for each stage: alike
  // on every rank.
  torch::manual_seed(24);
  attack.fit(train, train_y, ctx);
  // Tolerances (tolerance.hpp). Adam then AdamW (betas 0.9, 0.999, lr ≤ 1e-3), ≤ 10·epochs steps
  // of either for any parameter:
  //  - The key bias (the middle third of each c_attn bias) shifts every score of a query alike,
  //    which the softmax removes: its gradient is rounding noise and may drift by the whole
  //    adam_drift_bound (4e-2 for 2 epochs); it is returned as a tensor of its own.
  //  - Every other parameter: Adam's rounding bound with ρ = 2·γ·u·κ, γ ≈ 1300 roundings along a
  //    path (the batch of 30, LayerNorms and projections of width 32, the 128-wide MLP, attention
  //    over 8 tokens, both ways, two layers) and κ ≲ 20: ~1.3e-4 (the tight bound); hard: the
  //    drift bound, one element per 1e4 allowed beyond tight.
  //  - The scores, probabilities from sigmoid(network): their own float32 rounding (ρ of the
  //    logit, over 4: ~2e-3), plus, to first order, Σ_k |∂p/∂w_k|·|Δw_k| of the weights' actual
  //    differences (each held to its bounds above), which the harness adds (probes.hpp).
  // The masks of the dropout (0.1) drawn per shard instead of for the global batch moved the
  // scores by 0.07, the weights by whole steps.
  using namespace panoramia::testing;
  const std::int64_t steps = 10 * epochs;
  const double lr = 1e-3, drift = adam_drift_bound(lr, 0.9, 0.999, steps);
  const double rho = sum_order_bound(1300, 20);
  text_attacks::Distinguisher net = attack.network();
  std::vector<at::Tensor> state, params;
  std::vector<std::string> param_names;
  auto& tol = probes::tolerances();
  for (const auto& kv : net->named_parameters()) {
    const auto& p = kv.value();
    const double tight =
        adam_rounding_bound(lr, 0.9, 0.999, steps, rho, p.abs().max().item<double>());
    params.push_back(p);
    param_names.push_back(kv.key());
    if (kv.key().find("c_attn.bias") != std::string::npos) {
      const auto w = p.size(0) / 3;
      state.push_back(p.detach().slice(0, 0, w).clone());
      state.push_back(p.detach().slice(0, w, 2 * w).clone());
      state.push_back(p.detach().slice(0, 2 * w).clone());
      tol.insert(tol.end(), {{tight, drift}, {drift, drift}, {tight, drift}});
    } else {
      state.push_back(p.detach().clone());
      tol.push_back({tight, drift});
    }
  }
  std::int64_t elements = 0;
  for (const auto& t : state) elements += t.numel();
  probes::outliers() = (elements + 9999) / 10000;
  // The scores' first-order sensitivity, one backward pass per test row (a tiny network): the
  // largest |∂p_i/∂w| over the rows, for the harness to weigh the weights' actual differences.
  net->eval();
  const auto logits = net->forward(test.samples.x, test.features.to(torch::kFloat32));
  std::vector<at::Tensor> sensitivity(params.size());
  for (std::int64_t i = 0; i < logits.size(0); ++i) {
    const auto grads =
        torch::autograd::grad({torch::sigmoid(logits[i])}, params, {}, true, false, true);
    for (std::size_t k = 0; k < params.size(); ++k)
      if (grads[k].defined())
        sensitivity[k] = sensitivity[k].defined() ? torch::maximum(sensitivity[k], grads[k].abs())
                                                  : grads[k].abs();
  }
  auto& sens = probes::sensitivities();
  for (std::size_t k = 0; k < params.size(); ++k) {
    const auto g = sensitivity[k].defined() ? sensitivity[k] : torch::zeros_like(params[k]);
    if (param_names[k].find("c_attn.bias") != std::string::npos) {
      const auto w = g.size(0) / 3;
      sens.insert(sens.end(), {g.slice(0, 0, w), g.slice(0, w, 2 * w), g.slice(0, 2 * w)});
    } else {
      sens.push_back(g);
    }
  }
  const double own = rho * (logits.abs().max().item<double>() + 1) / 4;
  probes::sensitive_output() = std::int64_t(state.size());
  state.push_back(attack.score(test, ctx));
  tol.push_back({own, own});
  return state;
}

const Register text_distinguisher_registered("text-distinguisher", text_distinguisher);

}  // namespace
}  // namespace panoramia::probes
