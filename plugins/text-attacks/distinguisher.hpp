#pragma once
// The `text-distinguisher` attack, the reference's GPT2Distinguisher (docs/method.md §3.8, §4): a
// trainable GPT-2 backbone reads the tokens and its last token's final hidden state goes through a
// linear text branch (width -> h); the side features (the featurizer's per-token losses, d = T-1)
// go through ReLU(Linear(d -> h)), h = floor(d / 2); one linear output on the concatenation, score
// = w_text . text + w_side . side + b, with w_text = 0, w_side ~ N(0, 1) and b ~ U(+-1/sqrt(2h)) at
// the start. Two phases: (1) Adam on the side branch, w_side and b only (the backbone contributes
// nothing while w_text = 0, so it is not even run); then w_text is redrawn from N(0, 1) and (2)
// AdamW on everything with linear warmup and decay. The validation metric is computed every
// `eval_every` steps of both phases and the best state is kept.

#include <vector>

#include <panoramia/interfaces.hpp>

#include "model.hpp"

namespace panoramia::text_attacks {

class DistinguisherImpl : public torch::nn::Module {
 public:
  DistinguisherImpl(gpt2::Gpt2 backbone, std::int64_t side_features, std::int64_t hidden);
  /// Logits [n] of token blocks `ids` [n, T] and side features [n, d]; `with_text` false skips the
  /// backbone (its contribution is then taken as zero, which is exact while w_text = 0).
  at::Tensor forward(const at::Tensor& ids, const at::Tensor& side, bool with_text = true);
  /// The initialisation above, from `generator`.
  void init_head(at::Generator generator);

  gpt2::Gpt2 backbone{nullptr};
  torch::nn::Linear text{nullptr}, side_hidden{nullptr};
  at::Tensor w_text, w_side, bias;
};
TORCH_MODULE(Distinguisher);

class TextDistinguisherAttack final : public Attack {
 public:
  static std::vector<OptionSpec> option_specs();
  void fit(const AttackData& train, const at::Tensor& is_member, Context& ctx) override;
  at::Tensor score(const AttackData& data, Context& ctx) override;
  /// The fitted network (null before fit()).
  const Distinguisher& network() const { return net_; }

 private:
  /// Probabilities for every row; with several ranks each scores its contiguous share of the
  /// rows and the ranks exchange them, so every rank returns all of them.
  at::Tensor predict(const at::Tensor& ids, const at::Tensor& side, bool with_text,
                     std::int64_t batch_size, Communicator& comm);

  Distinguisher net_{nullptr};
};

}  // namespace panoramia::text_attacks
