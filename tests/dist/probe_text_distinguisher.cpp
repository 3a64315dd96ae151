// Probe: the text-distinguisher attack (a tiny GPT-2 backbone with the side-feature branch) fitted
// through its own two-phase loop on a seeded toy game, then scored on held-out rows. Returns the
// trained parameters and the scores (computed in shares across the ranks and exchanged).
#include <torch/torch.h>

#include "context_impl.hpp"
#include "distinguisher.hpp"
#include "probes.hpp"

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
  std::vector<at::Tensor> state;
  for (const auto& p : attack.network()->parameters()) state.push_back(p.detach().clone());
  state.push_back(attack.score(test, ctx));
  return state;
}

const Register registered("text-distinguisher", text_distinguisher);

}  // namespace
}  // namespace panoramia::probes
